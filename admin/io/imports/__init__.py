"""Customer-list import: file checks, layouts (ours, KiotViet, CukCuk, iPOS), rows, merge.

- `files` — what a file is (XLSX, CSV, or something refused) and its encoding.
- `reader` — rows from an XLSX (python-calamine) or a CSV (streamed).
- `layouts` — which column is which, by header, accent- and case-insensitively.
- `records` — one row to one customer record or one row error.
- `merge` — dry run (counts, errors) and apply (one transaction).
- `job` — the background job and the CLI entry point.
"""
