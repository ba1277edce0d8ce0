"""Import: layouts by header, phones, merge, tags/groups, spend, dry run, all-or-nothing."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa
from builders import KIOTVIET_HEADERS, kiotviet_row, write_csv, write_xlsx

from porchlight.admin import schema
from porchlight.admin.io.imports import merge
from porchlight.admin.io.imports.job import import_file


def customers(engine) -> dict[str, dict]:
    c = schema.customers.c
    with engine.connect() as conn:
        rows = conn.execute(sa.select(schema.customers).order_by(c.id)).all()
    return {(r.phone or r.email): dict(r._mapping) for r in rows}


def tags_of(engine, customer_id: int) -> set[str]:
    ct, t = schema.customer_tags, schema.tags
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(t.c.name)
            .join(ct, ct.c.tag_id == t.c.id)
            .where(ct.c.customer_id == customer_id)
        )
        return {r.name for r in rows}


def run(engine, world, path: Path, **kw):
    return import_file(engine, path, tenant_id=world.tenant_id, location_id=world.q1, **kw)


@pytest.mark.both_dbs
def test_kiotviet_file_dry_run_then_apply(engine, world, tmp_path):
    rows = [
        KIOTVIET_HEADERS,
        kiotviet_row(
            "KH001", "Nguyễn Thị Lan", "0912345678", groups="VIP|Thân thiết", spend=1250000
        ),
        kiotviet_row("KH002", "Trần Văn Bình", 912345679, email="binh@example.vn"),  # lost zero
        kiotviet_row("KH003", "Lê Hoa", "0168 123 4567"),  # old 11-digit Viettel
        kiotviet_row("KH004", "Phạm Minh", "+84 90.111.2233", spend="2.500.000"),
        kiotviet_row("KH005", "Không số", "12345", birthday="31/02/1990"),
    ]
    path = write_xlsx(tmp_path / "kiotviet.xlsx", rows)
    dry = run(engine, world, path)
    assert (dry["layout"], dry["rows"], dry["add"], dry["merge"], dry["skip"]) == (
        "kiotviet",
        5,
        4,
        0,
        1,
    )
    assert dry["errors"] == [
        {"row": 6, "code": "phone_invalid", "field": "phone", "value": "12345", "other": None}
    ]
    assert customers(engine) == {}  # a dry run writes nothing

    done = run(engine, world, path, dry_run=False)
    assert (done["add"], done["merge"], done["skip"]) == (4, 0, 1)
    found = customers(engine)
    assert set(found) == {"+84912345678", "+84912345679", "+84381234567", "+84901112233"}
    lan = found["+84912345678"]
    assert lan["name"] == "Nguyễn Thị Lan"
    assert lan["external_code"] == "KH001"
    assert lan["spend_total"] == Decimal("1250000.00")
    assert lan["province"] == "Hồ Chí Minh"
    assert lan["address"] == "12 Lê Lợi, Phường Bến Nghé, Quận 1"
    assert str(lan["birthday"]) == "1990-08-15"
    assert lan["gender"] == "female"
    assert tags_of(engine, lan["id"]) == {"VIP", "Thân thiết"}
    with engine.connect() as conn:
        group = conn.execute(
            sa.select(schema.groups.c.name).where(schema.groups.c.id == lan["group_id"])
        ).scalar()
        located = conn.execute(
            sa.select(sa.func.count()).where(schema.customer_locations.c.location_id == world.q1)
        ).scalar()
        audited = conn.execute(
            sa.select(schema.audit_log.c.details).where(
                schema.audit_log.c.action == "customers.import"
            )
        ).scalar()
    assert group == "VIP"  # the file's first group, created as needed
    assert located == 4  # a manager of Q1 sees them
    assert audited["added"] == 4
    assert found["+84901112233"]["spend_total"] == Decimal("2500000.00")


@pytest.mark.both_dbs
def test_merge_by_phone_then_email_keeps_existing_data(engine, world, factory, tmp_path):
    by_phone = factory.customer(world.tenant_id, "Lan (Wi-Fi)", phone="+84912345678")
    by_email = factory.customer(world.tenant_id, "", email="hoa@example.vn")
    rows = [
        ["Họ tên", "Số điện thoại", "Email", "Thẻ", "Tổng chi tiêu"],
        ["Lan POS", "0912.345.678", "lan@example.vn", "pos", "500000"],
        ["Hoa", "", "HOA@example.vn", "pos, vip", ""],
        ["Mới", "0987654321", "", "", ""],
    ]
    path = write_csv(tmp_path / "ours.csv", rows)
    result = run(engine, world, path, dry_run=False)
    assert (result["layout"], result["add"], result["merge"]) == ("porchlight", 1, 2)
    found = customers(engine)
    lan = found["+84912345678"]
    assert lan["id"] == by_phone
    assert lan["name"] == "Lan (Wi-Fi)"  # what the guest typed is kept
    assert lan["email"] == "lan@example.vn"  # a blank is filled
    assert lan["spend_total"] == Decimal("500000.00")
    hoa = found["hoa@example.vn"]
    assert hoa["id"] == by_email and hoa["name"] == "Hoa"
    assert tags_of(engine, by_email) == {"pos", "vip"}
    assert len(found) == 3


def test_chosen_group_wins_and_is_fixed(engine, world, tmp_path):
    with engine.connect() as conn:
        vip = conn.execute(
            sa.select(schema.groups.c.id).where(
                schema.groups.c.tenant_id == world.tenant_id, schema.groups.c.name == "VIP"
            )
        ).scalar()
    rows = [KIOTVIET_HEADERS, kiotviet_row("KH1", "An", "0912345678", groups="Member")]
    run(engine, world, write_xlsx(tmp_path / "k.xlsx", rows), dry_run=False, group_id=vip)
    an = customers(engine)["+84912345678"]
    assert (an["group_id"], an["group_fixed"]) == (vip, True)


def test_duplicate_phones_in_one_file_are_skipped_with_the_first_row(engine, world, tmp_path):
    rows = [
        ["Tên", "Điện thoại"],
        ["An", "0912345678"],
        ["An again", "+84912345678"],
        ["Bình", "0987654321"],
        ["An third", "912345678"],
    ]
    result = run(engine, world, write_csv(tmp_path / "dup.csv", rows), dry_run=False)
    assert (result["add"], result["skip"]) == (2, 2)
    assert [(e["row"], e["code"], e["other"]) for e in result["errors"]] == [
        (3, "duplicate_in_file", 2),
        (5, "duplicate_in_file", 2),
    ]
    assert customers(engine)["+84912345678"]["name"] == "An"


def test_dates_in_three_formats_and_a_bad_one(engine, world, tmp_path):
    from datetime import datetime

    rows = [
        ["Tên", "Điện thoại", "Ngày sinh"],
        ["A", "0912000001", "15/08/1990"],
        ["B", "0912000002", "1990-08-15"],
        ["C", "0912000003", datetime(1990, 8, 15)],  # a real date cell
        ["D", "0912000004", 33100],  # an Excel serial number
        ["E", "0912000005", "15/08/2533"],  # Thai Buddhist year
        ["F", "0912000006", "hôm qua"],
    ]
    result = run(engine, world, write_xlsx(tmp_path / "dates.xlsx", rows), dry_run=False)
    assert [(e["row"], e["code"]) for e in result["errors"]] == [(7, "date_invalid")]
    births = {v["name"]: str(v["birthday"]) for v in customers(engine).values()}
    assert births == {
        "A": "1990-08-15",
        "B": "1990-08-15",
        "C": "1990-08-15",
        "D": "1990-08-15",
        "E": "1990-08-15",
    }


def test_formulas_and_a_5mb_cell(engine, world, tmp_path):
    rows = [
        ["Tên", "Điện thoại", "Ghi chú"],
        ['=HYPERLINK("http://evil","x")', '="0912345678"', "@SUM(1)"],
        ["Big", "0912345679", "x" * (5 * 1024 * 1024)],
        ["Ok", "0912345670", "ghi chú"],
    ]
    result = run(engine, world, write_csv(tmp_path / "f.csv", rows), dry_run=False)
    assert [(e["row"], e["code"], e["field"]) for e in result["errors"]] == [
        (3, "too_long", "notes")
    ]
    assert result["errors"][0]["value"].endswith("…") and len(result["errors"][0]["value"]) < 80
    found = customers(engine)
    # stored as typed (text), neutralised only when exported
    assert found["+84912345678"]["name"] == '=HYPERLINK("http://evil","x")'
    assert "+84912345679" not in found


def test_failed_apply_writes_nothing(engine, world, factory, tmp_path, monkeypatch):
    factory.customer(world.tenant_id, "Old", phone="+84912345678")
    before = customers(engine)
    rows = (
        [KIOTVIET_HEADERS]
        + [kiotviet_row(f"K{i}", f"N{i}", f"09120000{i:02d}", groups="New") for i in range(30)]
        + [kiotviet_row("K", "Old renamed", "0912345678", spend=99)]
    )

    def boom(self, pairs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(merge._Writer, "link", boom)
    with pytest.raises(RuntimeError):
        run(engine, world, write_xlsx(tmp_path / "k.xlsx", rows), dry_run=False)
    assert customers(engine) == before
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(schema.tags)).scalar() == 0


def test_cukcuk_and_ipos_layouts(engine, world, tmp_path):
    cukcuk = [
        ["Mã khách hàng", "Tên khách hàng", "Loại khách hàng", "Số điện thoại", "Địa chỉ",
         "Email", "Mô tả", "Ngày sinh", "Tổng tiền"],
        ["CK1", "Cúc", "Khách quen", "0912000111", "1 Hai Bà Trưng", "cuc@x.vn", "thích trà",
         "01/01/1995", 300000],
    ]  # fmt: skip
    ipos = [
        ["Mã thành viên", "Tên thành viên", "Số điện thoại", "Hạng thành viên", "Tổng chi tiêu"],
        ["IP1", "Ý", "0912000222", "Gold", "1,500,000"],
    ]
    a = run(engine, world, write_xlsx(tmp_path / "c.xlsx", cukcuk), dry_run=False)
    b = run(engine, world, write_xlsx(tmp_path / "i.xlsx", ipos), dry_run=False)
    assert (a["layout"], a["add"], b["layout"], b["add"]) == ("cukcuk", 1, "ipos", 1)
    found = customers(engine)
    assert found["+84912000111"]["notes"] == "thích trà"
    assert found["+84912000111"]["spend_total"] == Decimal("300000.00")
    assert found["+84912000222"]["spend_total"] == Decimal("1500000.00")
    assert tags_of(engine, found["+84912000222"]["id"]) == {"Gold"}


def test_header_below_a_title_row_and_accent_free_headers(engine, world, tmp_path):
    rows = [["TEN KHACH HANG", "dien thoai", "EMAIL"], ["An", "0912345678", "an@x.vn"]]
    result = run(engine, world, write_xlsx(tmp_path / "t.xlsx", rows, title_rows=2), dry_run=False)
    assert result["add"] == 1
    assert customers(engine)["+84912345678"]["name"] == "An"


def test_unknown_layout_asks_for_a_mapping_then_imports(engine, world, tmp_path):
    rows = [["Khách", "Liên lạc", "Hạng"], ["An", "0912345678", "VIP"], ["Bình", "0987654321", ""]]
    path = write_csv(tmp_path / "odd.csv", rows)
    asked = run(engine, world, path)
    assert asked["needs_mapping"] is True
    assert asked["headers"] == ["Khách", "Liên lạc", "Hạng"]
    assert asked["sample"][0] == ["An", "0912345678", "VIP"]
    mapping = {"0": "name", "1": "phone", "2": "tags"}
    result = run(engine, world, path, mapping=mapping, dry_run=False)
    assert (result["layout"], result["add"]) == ("mapped", 2)
    assert tags_of(engine, customers(engine)["+84912345678"]["id"]) == {"VIP"}


def test_rows_past_the_preparse_bound_are_still_imported(engine, world, tmp_path, monkeypatch):
    from porchlight.admin.io.imports import job

    monkeypatch.setattr(job, "PREPARSE_ROWS", 3)
    rows = [["Tên", "Điện thoại"]] + [[f"K{i}", f"09120000{i:02d}"] for i in range(10)]
    result = run(engine, world, write_csv(tmp_path / "many.csv", rows), dry_run=False)
    assert (result["rows"], result["add"]) == (10, 10)
    assert len(customers(engine)) == 10
