"""Customer-list export: the list's rows to XLSX or CSV, split and zipped past 20,000.

- `rows` — which customers (the list's own query) in id-keyset batches.
- `columns` — headers in vi/th/en, cell values, formula neutralising.
- `xlsx_stream` — a fast streaming XLSX writer.
- `writers` — parts of at most 20,000 rows, zipped when more than one.
- `job` — the background job and the CLI entry point.
- `immediate` — a small export (at most 5,000 rows) written in the request.
- `limits` — the bounded count and time limit of an immediate export.
- `local_time` — the time zone, file name and zone words of an export.
- `names` — the location and group names an export's audit row keeps.
"""
