"""Import: layouts by header, phones, merge, tags/groups, spend, dry run, all-or-nothing."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa
from builders import KIOTVIET_HEADERS, kiotviet_row, write_csv, write_xlsx

from porchlight.admin import schema
from porchlight.admin.db import utcnow
from porchlight.admin.io.imports import writer
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
    # every problem of the skipped row, not just the first
    assert dry["errors"] == [
        {"row": 6, "code": "phone_invalid", "field": "phone", "value": "12345", "other": None},
        {"row": 6, "code": "date_invalid", "field": "birthday", "value": "31/02/1990"}
        | {"other": None},
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
    # the first group is the customer's group, never also a tag; a second one is kept as a tag
    assert tags_of(engine, lan["id"]) == {"Thân thiết"}
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


def test_rows_for_one_customer_in_a_file_merge(engine, world, tmp_path):
    rows = [
        KIOTVIET_HEADERS,
        kiotviet_row("KH1", "An", "0912345678", spend=100000, groups="VIP", notes="thích trà"),
        kiotviet_row("KH9", "An Nguyễn", "+84912345678", spend="50.000", groups="Member"),
        kiotviet_row("KH2", "Bình", "0987654321", email=""),
        kiotviet_row("KH7", "An cũ", "0168 123 4567", spend=1, notes="số cũ"),  # old 11 digits
        kiotviet_row("KH8", "An mới", "0381234567", spend=2, email="an@x.vn", notes="số mới"),
        kiotviet_row("KH3", "", "", email="AN@x.vn", spend=3, groups="Gold"),
    ]
    path = write_xlsx(tmp_path / "dup.xlsx", rows)
    dry = run(engine, world, path)
    assert (dry["rows"], dry["add"], dry["merge"], dry["skip"]) == (6, 3, 3, 0)
    assert dry["merged_rows"] == [
        {"row": 3, "into": 2},
        {"row": 6, "into": 5},
        {"row": 7, "into": 5},
    ]
    assert dry["preview_add"][0]["rows"] == [2, 3]
    assert dry["preview_add"][0]["spend_total"] == "150000.00"
    result = run(engine, world, path, dry_run=False)
    assert (result["add"], result["merge"], result["in_file_merges"]) == (3, 3, 3)
    found = customers(engine)
    assert len(found) == 3
    an = found["+84912345678"]
    assert an["name"] == "An"
    assert an["external_code"] == "KH1, KH9"  # both POS codes kept
    assert an["spend_total"] == Decimal("150000.00")  # summed
    assert an["notes"] == "thích trà"
    assert tags_of(engine, an["id"]) == {"Member"}  # groups united (one is the group)
    old_new = found["+84381234567"]
    assert old_new["external_code"] == "KH7, KH8, KH3"
    assert old_new["notes"] == "số cũ\nsố mới"
    assert old_new["email"] == "an@x.vn"
    assert old_new["spend_total"] == Decimal("6.00")


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
    assert result["errors"] == [] and result["add"] == 6  # a bad birthday drops no one
    assert [(e["row"], e["code"], e["field"]) for e in result["warnings"]] == [
        (7, "date_invalid", "birthday")
    ]
    births = {v["name"]: str(v["birthday"]) for v in customers(engine).values()}
    assert births == {
        "A": "1990-08-15",
        "B": "1990-08-15",
        "C": "1990-08-15",
        "D": "1990-08-15",
        "E": "1990-08-15",
        "F": "None",
    }


def test_formulas_and_a_5mb_cell(engine, world, tmp_path):
    rows = [
        ["Tên", "Điện thoại", "Ghi chú"],
        ['=HYPERLINK("http://evil","x")', '="0912345678"', "@SUM(1)"],
        ["Big", "0912345679", "x" * (5 * 1024 * 1024)],
        ["Ok", "0912345670", "ghi chú"],
    ]
    result = run(engine, world, write_csv(tmp_path / "f.csv", rows), dry_run=False)
    assert [(e["row"], e["code"], e["field"]) for e in result["warnings"]] == [
        (3, "too_long", "notes")
    ]
    warning = result["warnings"][0]["value"]
    assert warning.endswith("…") and len(warning) < 80
    found = customers(engine)
    # stored as typed (text), neutralised only when exported
    assert found["+84912345678"]["name"] == '=HYPERLINK("http://evil","x")'
    assert found["+84912345679"]["notes"] == ""  # imported, the long note left out


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

    monkeypatch.setattr(writer.Writer, "link", boom)
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
    assert tags_of(engine, found["+84912000222"]["id"]) == set()  # Gold is a group, not a tag


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
    assert asked["guesses"] == ["", "phone", "groups"]  # the mapping starts from its best guess
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


@pytest.mark.both_dbs
def test_bad_optional_fields_leave_the_field_empty_with_a_warning_each(engine, world, tmp_path):
    rows = [
        ["Họ tên", "SĐT", "Email", "Sinh nhật", "Tổng chi tiêu"],
        ["Lan", "0912345678", "lan@@x", "32/13/1990", "nhiều"],
        ["Không liên lạc", "123", "bad", "", ""],
        ["Chỉ email", "", "hoa@x.vn", "", ""],
    ]
    result = run(engine, world, write_csv(tmp_path / "w.csv", rows), dry_run=False)
    assert (result["add"], result["skip"]) == (2, 1)
    assert [(w["row"], w["code"], w["field"]) for w in result["warnings"]] == [
        (2, "email_invalid", "email"),
        (2, "date_invalid", "birthday"),
        (2, "number_invalid", "spend_total"),
    ]
    assert [(e["row"], e["code"]) for e in result["errors"]] == [
        (3, "phone_invalid"),
        (3, "email_invalid"),
    ]
    lan = customers(engine)["+84912345678"]
    assert (lan["email"], lan["birthday"], lan["spend_total"]) == (None, None, Decimal("0.00"))


@pytest.mark.both_dbs
def test_groups_match_case_insensitively_and_imports_carry_the_import_channel(
    engine, world, factory, tmp_path
):
    from porchlight.admin.customers.filters import parse_filters

    with engine.begin() as conn:
        vip = conn.execute(
            sa.select(schema.groups.c.id).where(
                schema.groups.c.tenant_id == world.tenant_id, schema.groups.c.name == "VIP"
            )
        ).scalar()
    guest = factory.customer(world.tenant_id, "Guest", phone="+84911111111")
    rows = [["Tên", "Điện thoại", "Nhóm"], ["An", "0912345678", "vip"], ["Bé", "0911111111", ""]]
    run(engine, world, write_csv(tmp_path / "g.csv", rows), dry_run=False)
    found = customers(engine)
    an = found["+84912345678"]
    assert an["group_id"] == vip
    assert tags_of(engine, an["id"]) == set()
    with engine.connect() as conn:
        names = {r.name for r in conn.execute(sa.select(schema.groups.c.name))}
        channels = set(
            conn.execute(
                sa.select(schema.customer_channels.c.customer_id).where(
                    schema.customer_channels.c.channel == "import"
                )
            ).scalars()
        )
    assert "vip" not in names
    assert channels == {an["id"], guest}
    filters, notices = parse_filters({"channel": "import"})
    assert notices == [] and filters.channel == "import"


@pytest.mark.parametrize(
    "headers",
    [
        ["Họ tên", "SĐT", "Sinh nhật"],
        ["Tên KH", "Số ĐT", "Ngày sinh"],
        ["Tên khách", "Di động", "Ngày sinh"],
        ["ชื่อลูกค้า", "เบอร์โทร", "วันเกิด"],
        ["ชื่อ", "โทรศัพท์", "วันเกิด"],
        ["Full name", "Mobile", "Date of birth"],
    ],
)
def test_headers_as_people_write_them_need_no_mapping(engine, world, tmp_path, headers):
    rows = [headers, ["Lan", "0912345678", "15/08/1990"]]
    result = run(engine, world, write_csv(tmp_path / "h.csv", rows))
    assert result.get("needs_mapping") is None
    assert result["columns"] == {"0": "name", "1": "phone", "2": "birthday"}
    assert result["preview_add"][0]["name"] == "Lan"
    assert result["preview_add"][0]["birthday"] == "1990-08-15"


def test_a_bangkok_location_reads_phones_as_thai(engine, world, tmp_path):
    from porchlight.admin.users import create_location

    with engine.begin() as conn:
        bangkok = create_location(conn, world.tenant_id, "Sukhumvit", timezone="Asia/Bangkok")
        country = conn.execute(
            sa.select(schema.locations.c.country).where(schema.locations.c.id == bangkok)
        ).scalar()
    assert country == "TH"  # the country follows the time zone when none is given
    rows = [["ชื่อ", "เบอร์โทร"], ["สมชาย", "081 234 5678"]]
    path = write_csv(tmp_path / "th.csv", rows)
    result = import_file(
        engine, path, tenant_id=world.tenant_id, location_id=bangkok, dry_run=False
    )
    assert result["add"] == 1
    assert "+66812345678" in customers(engine)


def test_imported_names_are_searchable_and_the_index_trigger_is_back(engine, world, tmp_path):
    def trigger() -> int:
        with engine.connect() as conn:
            return conn.exec_driver_sql(
                "SELECT count(*) FROM sqlite_master WHERE name = 'customers_search_fts_ai'"
            ).scalar()

    rows = [["Tên", "Điện thoại"]] + [[f"Khách số {i}", f"09120000{i:02d}"] for i in range(30)]
    run(engine, world, write_csv(tmp_path / "n.csv", rows), dry_run=False)
    with engine.connect() as conn:
        found = conn.exec_driver_sql(
            "SELECT count(*) FROM customers_search_fts WHERE customers_search_fts MATCH ?",
            ('"khach so 1"',),
        ).scalar()
    assert found == 11  # 1 and 10-19, indexed by the import's bulk insert
    assert trigger() == 1
    run(
        engine, world, write_csv(tmp_path / "m.csv", [["Tên", "Điện thoại"], ["Mới", "0987654321"]])
    )
    with engine.begin() as conn:  # a guest added later is indexed by the trigger again
        conn.execute(
            schema.customers.insert().values(
                tenant_id=world.tenant_id,
                name="Guest Later",
                created_at=utcnow(),
                updated_at=utcnow(),
            )
        )
        assert (
            conn.exec_driver_sql(
                "SELECT count(*) FROM customers_search_fts WHERE customers_search_fts MATCH 'Later'"
            ).scalar()
            == 1
        )
