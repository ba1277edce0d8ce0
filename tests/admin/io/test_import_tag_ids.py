"""Imports on PostgreSQL keep ``customers.tag_ids`` (migration 0021) equal to the links."""

from __future__ import annotations

import pytest
from builders import KIOTVIET_HEADERS, kiotviet_row, write_xlsx

from porchlight.admin.io.imports.job import import_file

PG = pytest.mark.parametrize("db_kind", [pytest.param("pg", marks=pytest.mark.pg)], indirect=True)


@PG
def test_an_import_gives_new_and_merged_customers_their_tag_ids(engine, world, tmp_path):
    """New customers get their ids in the import's COPY (the trigger then leaves
    them be); a merged one gets the file's tags added by the trigger."""
    old = [KIOTVIET_HEADERS, kiotviet_row("KH1", "Lan", "0912345678", groups="VIP|Quen")]
    import_file(engine, write_xlsx(tmp_path / "a.xlsx", old), tenant_id=world.tenant_id,
                location_id=world.q1, dry_run=False)  # fmt: skip
    rows = [
        KIOTVIET_HEADERS,
        kiotviet_row("KH1", "Lan", "0912345678", groups="VIP|Mới|Quen"),  # merged: one more
        kiotviet_row("KH2", "Bình", "0912345679", groups="VIP|Quen|Xa"),  # new: two tags
    ]
    import_file(engine, write_xlsx(tmp_path / "b.xlsx", rows), tenant_id=world.tenant_id,
                location_id=world.q1, dry_run=False)  # fmt: skip
    with engine.connect() as conn:
        counts = dict(conn.exec_driver_sql(
            "SELECT phone, cardinality(tag_ids) FROM customers").all())  # fmt: skip
    assert counts == {"+84912345678": 2, "+84912345679": 2}
    with engine.connect() as conn:  # the same ids as the links
        rows = conn.exec_driver_sql(
            "SELECT c.tag_ids, array_agg(ct.tag_id ORDER BY ct.tag_id) FROM customers c"
            " JOIN customer_tags ct ON ct.customer_id = c.id GROUP BY c.id"
        ).all()
    assert [list(a) for a, _ in rows] == [list(b) for _, b in rows]
