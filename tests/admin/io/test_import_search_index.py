"""SQLite: an import fills the customer search index once, with FTS5's merges off,
and writes its link rows with a statement per table and batch.

Each batch's search documents used to go in with a statement of their own and
FTS5, automerge on, merged the segments they made inside the import's
transaction (~1 s CPU of a 100,000-row apply). Now the documents of every
customer the import adds go in with one statement at its end, automerge is off
while the import writes (`search_merges.quiet`), and the settings are back
afterwards.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from builders import write_csv

from porchlight.admin.io.imports import merge
from porchlight.admin.io.imports.job import import_file
from porchlight.admin.privacy import search_merges

HEADER = ["Họ tên", "Số điện thoại", "Email"]
ROWS = 2_500  # three batches


def settings(engine: sa.Engine) -> dict[str, int]:
    with engine.connect() as conn:
        rows = conn.exec_driver_sql(
            "SELECT k, v FROM customers_search_fts_config WHERE k IN ('automerge', 'crisismerge')"
        )
        return {k: int(v) for k, v in rows}


def searchable(engine: sa.Engine, text: str) -> int:
    with engine.connect() as conn:
        return int(
            conn.exec_driver_sql(
                "SELECT count(*) FROM customers_search_fts WHERE customers_search_fts MATCH ?",
                (f'"{text}"',),
            ).scalar_one()
        )


def test_import_indexes_its_customers_in_one_statement_merges_off(
    engine, world, tmp_path, monkeypatch
):
    rows = [HEADER] + [
        [f"Nguyễn Văn Khách {i}", f"09{i:08d}", f"khach{i}@example.vn"] for i in range(ROWS)
    ]
    path = write_csv(tmp_path / "many.csv", rows)
    fills: list[str] = []

    links: list[tuple[str, int]] = []

    def count(conn: Any, cursor: Any, statement: str, params: Any, context: Any, many: bool):
        if statement.startswith("INSERT INTO customers_search_fts(rowid"):
            fills.append(statement)
        for table in ("customer_tags", "customer_locations", "customer_channels"):
            if statement.startswith(f"INSERT INTO {table} "):
                links.append((table, len(params) if many else 1))

    during: list[dict[str, int]] = []
    apply = merge.apply

    def watched(*args: Any, **kw: Any) -> Any:
        during.append(settings(engine))  # another connection: what FTS5 reads meanwhile
        return apply(*args, **kw)

    monkeypatch.setattr(merge, "apply", watched)
    before = settings(engine)
    sa.event.listen(engine, "before_cursor_execute", count)
    try:
        result = import_file(
            engine, path, tenant_id=world.tenant_id, location_id=world.q1, dry_run=False
        )
    finally:
        sa.event.remove(engine, "before_cursor_execute", count)
    assert result["add"] == ROWS
    assert len(fills) == 1
    # the link rows: one statement per table and batch, not one per row (~0.25 s
    # CPU of Python binding at 100,000 rows)
    assert sorted(links) == sorted([("customer_channels", 1), ("customer_locations", 1)] * 3)
    assert during == [{"automerge": 0, "crisismerge": 256}]
    assert settings(engine) == search_merges.DEFAULTS | before  # as they were (stored or not)
    # every customer found by a folded name, the e-mail and the phone's last digits
    assert searchable(engine, "nguyen van khach") == ROWS
    assert searchable(engine, "khach2499@") == 1
    assert searchable(engine, "0002499") == 1
    # the insert trigger is back: a customer added afterwards is found
    with engine.begin() as conn:
        conn.exec_driver_sql(
            "INSERT INTO customers (tenant_id, name, phone, notes, created_at, updated_at) "
            "VALUES (?, 'Trần Thị Lan', '+84987654321', '', '2026-01-01', '2026-01-01')",
            (world.tenant_id,),
        )
    assert searchable(engine, "tran thi lan") == 1
