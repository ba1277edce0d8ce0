"""Export: columns, phones as text, formula neutralising, 20,000-row parts, scope, round trip."""

from __future__ import annotations

import csv
import io
import zipfile
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest
import sqlalchemy as sa

from porchlight.admin import schema
from porchlight.admin.io.exports import writers
from porchlight.admin.io.exports.job import export_customers
from porchlight.admin.io.imports.job import import_file

VISIT = datetime(2026, 11, 20, 3, 30, tzinfo=UTC)  # 10:30 in Hồ Chí Minh City


def export(engine, world, tmp_path: Path, fmt: str, **kw):
    kw.setdefault("scope", "all")
    return export_customers(
        engine,
        tenant_id=world.tenant_id,
        fmt=fmt,
        out_dir=tmp_path / "out",
        base_name="customers",
        **kw,
    )


def read_csv(path: Path) -> list[list[str]]:
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # the BOM Excel needs for Vietnamese and Thai
    return list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))


def read_xlsx(path: Path) -> list[tuple]:
    workbook = openpyxl.load_workbook(path, read_only=True)
    rows = list(workbook.active.iter_rows(values_only=True))
    workbook.close()
    return rows


@pytest.fixture
def people(factory, world):
    lan = factory.customer(
        world.tenant_id,
        "Nguyễn Thị Lan",
        phone="+84912345678",
        email="lan@example.vn",
        visits=[(world.q1, VISIT, "form")],
        tags=["wifi", "VIP"],
        spend_total=Decimal("1250000"),
        notes='=HYPERLINK("http://evil.example","click")',
        province="Hồ Chí Minh",
    )
    evil = factory.customer(
        world.tenant_id,
        "@SUM(A1:A9)",
        phone="+66812345678",
        visits=[(world.q3, VISIT, "click")],
        notes="-2+3",
        address="\tTab",
    )
    with factory.engine.begin() as conn:
        conn.execute(
            schema.consents.insert(),
            [
                {"tenant_id": world.tenant_id, "customer_id": lan, "purpose": "wifi",
                 "granted": True, "text_version": "wifi-v1", "given_at": VISIT,
                 "received_at": VISIT},
                {"tenant_id": world.tenant_id, "customer_id": lan, "purpose": "marketing",
                 "granted": False, "text_version": "mkt-v1", "given_at": VISIT,
                 "received_at": VISIT},
            ],
        )  # fmt: skip
    return {"lan": lan, "evil": evil}


@pytest.mark.both_dbs
def test_csv_has_bom_text_phones_and_neutralised_formulas(engine, world, people, tmp_path):
    result = export(engine, world, tmp_path, "csv", lang="vi")
    assert (result["rows"], result["files"]) == (2, 1)
    rows = read_csv(Path(result["path"]))
    header = rows[0]
    assert header[:6] == ["Mã khách hàng", "Tên khách hàng", "Điện thoại", "Email", "Thẻ", "Nhóm"]
    lan = dict(zip(header, rows[1], strict=True))
    assert lan["Điện thoại"] == "0912 345 678"  # text with its leading zero, never 9.12E+08
    assert lan["Thẻ"] == "VIP, wifi"
    assert lan["Nhóm"] == "Member"
    assert lan["Số lượt ghé"] == "1"
    assert lan["Lần cuối ghé"] == "2026-11-20 10:30"
    assert lan["Kênh đăng nhập"] == "Biểu mẫu"
    assert lan["Tổng chi tiêu"] == "1250000"
    assert (lan["Đồng ý Wi-Fi"], lan["Đồng ý tiếp thị"]) == ("Có", "Không")
    assert lan["Ghi chú"] == '\'=HYPERLINK("http://evil.example","click")'
    evil = dict(zip(header, rows[2], strict=True))
    assert evil["Tên khách hàng"] == "'@SUM(A1:A9)"
    assert evil["Ghi chú"] == "'-2+3"
    assert evil["Địa chỉ"] == "'\tTab"
    assert evil["Điện thoại"] == "+66 81 234 5678"


@pytest.mark.both_dbs
def test_xlsx_cells_and_types(engine, world, people, tmp_path):
    result = export(engine, world, tmp_path, "xlsx", lang="en")
    rows = read_xlsx(Path(result["path"]))
    header = rows[0]
    assert header[:3] == ("Customer code", "Name", "Phone")
    lan = dict(zip(header, rows[1], strict=True))
    assert lan["Phone"] == "0912345678"  # a string cell
    assert lan["Visits"] == 1
    assert lan["Spend"] == 1250000
    assert lan["Last visit"] == datetime(2026, 11, 20, 10, 30)
    assert lan["Notes"].startswith("'=HYPERLINK")
    assert (lan["Wi-Fi consent"], lan["Marketing consent"]) == ("yes", "no")
    evil = dict(zip(header, rows[2], strict=True))
    assert evil["Name"] == "'@SUM(A1:A9)"


def test_thai_headers(engine, world, people, tmp_path):
    rows = read_csv(Path(export(engine, world, tmp_path, "csv", lang="th")["path"]))
    assert rows[0][1:3] == ["ชื่อลูกค้า", "เบอร์โทรศัพท์"]


def test_big_exports_are_numbered_parts_in_one_zip(engine, world, factory, tmp_path, monkeypatch):
    monkeypatch.setattr(writers, "ROWS_PER_FILE", 10)
    for i in range(25):
        factory.customer(world.tenant_id, f"Khách {i:02d}", phone=f"+8491200{i:04d}")
    for fmt in ("csv", "xlsx"):
        result = export(engine, world, tmp_path / fmt, fmt)
        assert (result["rows"], result["files"]) == (25, 3)
        path = Path(result["path"])
        assert path.suffix == ".zip"
        with zipfile.ZipFile(path) as zf:
            names = zf.namelist()
            assert names == [f"customers-0{i}.{fmt}" for i in (1, 2, 3)]
            zf.extractall(tmp_path / fmt / "parts")
        counts = []
        for name in names:
            part = tmp_path / fmt / "parts" / name
            data = read_csv(part) if fmt == "csv" else read_xlsx(part)
            counts.append(len(data) - 1)
        assert counts == [10, 10, 5]
        assert not list((tmp_path / fmt / "out").glob(".customers-*"))  # no work folder left


def test_selected_filtered_and_manager_scope(engine, world, factory, people, tmp_path):
    other = factory.customer(world.tenant_id, "Only Q3", phone="+84987654321",
                             visits=[(world.q3, VISIT, "form")])  # fmt: skip

    def names(**kw):
        path = Path(export(engine, world, tmp_path / str(len(kw)), "csv", **kw)["path"])
        return sorted(row[1] for row in read_csv(path)[1:])

    assert names(scope="selected", ids=[people["lan"], other]) == ["Nguyễn Thị Lan", "Only Q3"]
    assert names(scope="filtered", filters_qs="tag=VIP") == ["Nguyễn Thị Lan"]
    assert names(scope="all", location_scope=[world.q1]) == ["Nguyễn Thị Lan"]
    assert names(scope="selected", ids=[other], location_scope=[world.q1]) == []


def test_an_empty_export_still_has_the_header(engine, world, tmp_path):
    result = export(engine, world, tmp_path, "xlsx")
    assert result["rows"] == 0
    assert len(read_xlsx(Path(result["path"]))) == 1


def test_every_export_is_audited(engine, world, people, tmp_path):
    export(engine, world, tmp_path, "csv", user_id=world.users["owner"]["id"])
    with engine.connect() as conn:
        row = conn.execute(
            sa.select(schema.audit_log).where(schema.audit_log.c.action == "customers.export")
        ).one()
    assert (row.user_id, row.details["rows"], row.details["format"]) == (
        world.users["owner"]["id"],
        2,
        "csv",
    )


@pytest.mark.parametrize("fmt", ["xlsx", "csv"])
def test_export_imports_back_as_the_same_customers(engine, world, people, tmp_path, fmt):
    path = Path(export(engine, world, tmp_path, fmt, lang="vi")["path"])
    result = import_file(
        engine, path, tenant_id=world.tenant_id, location_id=world.q1, dry_run=True
    )
    assert (result["layout"], result["add"], result["merge"], result["skip"]) == (
        "porchlight",
        0,
        2,
        0,
    )
