"""Import merges into customers already in the tenant: what each merged customer becomes.

The merge writes only the columns a merge changes (admin/io/imports/customer_updates.py);
these tests hold what the former one-statement-for-all-columns update stored.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
import sqlalchemy as sa
from builders import write_csv

from porchlight.admin import schema
from porchlight.admin.io.imports.job import import_file

HEADER = ["Họ tên", "Số điện thoại", "Email", "Mã KH", "Ngày sinh", "Tổng chi tiêu", "Nhóm"]


def run(engine, world, path, **kw):
    return import_file(
        engine, path, tenant_id=world.tenant_id, location_id=world.q1, dry_run=False, **kw
    )


def customer(engine, cid: int) -> dict:
    with engine.connect() as conn:
        row = conn.execute(sa.select(schema.customers).where(schema.customers.c.id == cid)).one()
    return dict(row._mapping)


def searchable(engine, text: str) -> list[int]:
    with engine.connect() as conn:
        if conn.dialect.name == "sqlite":
            rows = conn.exec_driver_sql(
                "SELECT rowid FROM customers_search_fts WHERE customers_search_fts MATCH ?",
                (f'"{text}"',),
            )
        else:
            rows = conn.exec_driver_sql(
                "SELECT id FROM customers WHERE search_doc LIKE %s", (f"%{text}%",)
            )
        return sorted(r[0] for r in rows)


@pytest.mark.both_dbs
def test_two_rows_merging_into_one_customer_both_land(engine, world, factory, tmp_path):
    """One row finds the customer by phone, a phone-less row by its e-mail: both merge
    into it, the later row's POS code and spend winning as before."""
    cid = factory.customer(world.tenant_id, "", phone="+84912345678", email="lan@example.vn")
    rows = [
        HEADER,
        ["Lan", "0912345678", "", "KH1", "01/02/1990", "100000", "VIP"],
        ["Lan B", "", "lan@example.vn", "KH2", "", "250000", ""],
    ]
    result = run(engine, world, write_csv(tmp_path / "two.csv", rows))
    assert (result["add"], result["merge"]) == (0, 2)
    lan = customer(engine, cid)
    assert lan["name"] == "Lan"  # a blank name is filled by the first row
    assert lan["external_code"] == "KH2"  # the file's code replaces, the later row last
    assert lan["spend_total"] == Decimal("250000.00")
    assert lan["birthday"] == date(1990, 2, 1)
    assert lan["group_fixed"] is True and lan["group_id"] is not None
    assert searchable(engine, "kh2") == [cid] and searchable(engine, "lan") == [cid]


@pytest.mark.both_dbs
def test_a_merge_keeps_what_the_customer_has_and_touches_updated_at(
    engine, world, factory, tmp_path
):
    cid = factory.customer(
        world.tenant_id,
        "Hoa (Wi-Fi)",
        phone="+84987654321",
        address="1 Lê Lợi",
        birthday=date(1991, 3, 4),
        spend_total=Decimal("5"),
        external_code="OLD",
    )
    before = customer(engine, cid)
    rows = [HEADER, ["Hoa POS", "0987654321", "hoa@example.vn", "", "05/06/1992", "", ""]]
    run(engine, world, write_csv(tmp_path / "keep.csv", rows))
    hoa = customer(engine, cid)
    assert hoa["name"] == "Hoa (Wi-Fi)" and hoa["address"] == "1 Lê Lợi"
    assert hoa["birthday"] == date(1991, 3, 4)  # kept: a merge fills blanks only
    assert hoa["email"] == "hoa@example.vn"  # a blank filled
    assert hoa["external_code"] == "OLD" and hoa["spend_total"] == Decimal("5.00")
    assert (hoa["group_id"], hoa["group_fixed"]) == (before["group_id"], before["group_fixed"])
    assert hoa["updated_at"] >= before["updated_at"]
    assert searchable(engine, "hoa@example") == [cid]
    # the same file again changes nothing but the time of the merge
    again = run(engine, world, write_csv(tmp_path / "keep2.csv", rows))
    assert (again["add"], again["merge"]) == (0, 1)
    after = customer(engine, cid)
    assert {k: v for k, v in after.items() if k != "updated_at"} == {
        k: v for k, v in hoa.items() if k != "updated_at"
    }
