"""Bad input refused file by file (or row by row), with nothing stored harmed."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest
import sqlalchemy as sa
from builders import to_cp1258, write_csv, write_xlsx

from porchlight.admin import schema
from porchlight.admin.io.imports import files
from porchlight.admin.io.imports.files import ImportFileError
from porchlight.admin.io.imports.job import import_file


def run(engine, world, path: Path, **kw):
    return import_file(engine, path, tenant_id=world.tenant_id, location_id=world.q1, **kw)


def count(engine) -> int:
    with engine.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(schema.customers)).scalar()


def refused(engine, world, path: Path) -> str:
    with pytest.raises(ImportFileError) as info:
        run(engine, world, path, dry_run=False)
    return info.value.code


def test_renamed_pdf_and_image(engine, world, tmp_path):
    pdf = tmp_path / "customers.xlsx"
    pdf.write_bytes(b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\n" + bytes(range(256)))
    png = tmp_path / "customers.csv"
    png.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 100)
    assert refused(engine, world, pdf) == "not_spreadsheet"
    assert refused(engine, world, png) == "not_spreadsheet"


def test_corrupt_and_truncated_xlsx(engine, world, tmp_path):
    good = write_xlsx(tmp_path / "good.xlsx", [["Tên", "Điện thoại"], ["An", "0912345678"]])
    truncated = tmp_path / "truncated.xlsx"
    truncated.write_bytes(good.read_bytes()[: len(good.read_bytes()) // 2])
    docx = tmp_path / "word.xlsx"
    with zipfile.ZipFile(docx, "w") as zf:
        zf.writestr("[Content_Types].xml", "<Types/>")
        zf.writestr("word/document.xml", "<w:document/>")
    broken_xml = tmp_path / "broken.xlsx"
    with zipfile.ZipFile(good) as src, zipfile.ZipFile(broken_xml, "w") as dst:
        for item in src.infolist():
            data = src.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                data = data[: len(data) // 2]
            dst.writestr(item, data)
    assert refused(engine, world, truncated) == "corrupt"
    assert refused(engine, world, docx) == "not_spreadsheet"
    assert refused(engine, world, broken_xml) == "corrupt"
    assert count(engine) == 0


def test_password_protected_xlsx_and_old_xls(engine, world, tmp_path):
    # An encrypted OOXML file is an OLE compound file holding an EncryptedPackage stream.
    header = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 504
    encrypted = tmp_path / "locked.xlsx"
    encrypted.write_bytes(header + "EncryptedPackage".encode("utf-16-le") + b"\x00" * 2048)
    old = tmp_path / "old.xls"
    old.write_bytes(header + "Workbook".encode("utf-16-le") + b"\x00" * 2048)
    assert refused(engine, world, encrypted) == "password_protected"
    assert refused(engine, world, old) == "xls_old"


def test_zip_bomb_is_refused_before_unpacking(engine, world, tmp_path):
    bomb = tmp_path / "bomb.xlsx"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("[Content_Types].xml", "<Types/>")
        zf.writestr("xl/workbook.xml", "<workbook/>")
        with zf.open("xl/worksheets/sheet1.xml", "w") as fh:
            chunk = b"\x00" * (1 << 20)
            for _ in range(24):  # 24 MiB of zeros, ~24 KiB packed
                fh.write(chunk)
    assert bomb.stat().st_size < 200_000
    assert refused(engine, world, bomb) == "too_big"


def test_sheet_over_the_size_cap_is_refused(engine, world, tmp_path, monkeypatch):
    rows = [["Tên", "Điện thoại"]] + [[f"N{i}", f"09120{i:05d}"] for i in range(2000)]
    path = write_xlsx(tmp_path / "big.xlsx", rows)
    monkeypatch.setattr(files, "MAX_MEMBER_BYTES", 10_000)
    assert refused(engine, world, path) == "too_big"


def test_a_million_empty_formatted_rows(engine, world, tmp_path):
    """Styled empty cells down to row 1,000,000 (as Excel leaves them) cost nothing."""
    path = tmp_path / "formatted.xlsx"
    good = write_xlsx(tmp_path / "seed.xlsx", [["Tên", "Điện thoại"], ["An", "0912345678"]])
    with zipfile.ZipFile(good) as src, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            data = src.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                text = data.decode()
                head, tail = text.split("</sheetData>")
                empty = io.StringIO()
                for r in range(3, 1_000_001):
                    empty.write(f'<row r="{r}" s="1" customFormat="1"><c r="A{r}" s="1"/></row>')
                data = (head + empty.getvalue() + "</sheetData>" + tail).encode()
            dst.writestr(item, data)
    result = run(engine, world, path, dry_run=False)
    assert (result["rows"], result["add"], result["skip"]) == (1, 1, 0)


@pytest.mark.parametrize(
    ("encoding", "encode"),
    [
        ("cp1258", to_cp1258),
        ("utf-16", lambda text: text.encode("utf-16")),
        ("utf-8-sig", lambda text: text.encode("utf-8-sig")),
    ],
)
def test_vietnamese_csv_encodings_are_detected(engine, world, tmp_path, encoding, encode):
    text = (
        "Tên khách hàng,Điện thoại,Địa chỉ\r\nNguyễn Thị Hồng Nhung,0912345678,Phường Bến Nghé\r\n"
    )
    path = tmp_path / "vn.csv"
    path.write_bytes(encode(text))
    result = run(engine, world, path, dry_run=False)
    assert result["add"] == 1
    with engine.connect() as conn:
        row = conn.execute(sa.select(schema.customers.c.name, schema.customers.c.address)).one()
    assert tuple(row) == ("Nguyễn Thị Hồng Nhung", "Phường Bến Nghé")


def test_thai_csv_in_tis620(engine, world, tmp_path):
    rows = [["ชื่อลูกค้า", "เบอร์โทรศัพท์", "จังหวัด"], ["สมชาย ใจดี", "081 234 5678", "กรุงเทพมหานคร"]]
    path = write_csv(tmp_path / "th.csv", rows, encoding="tis-620")
    with engine.begin() as conn:
        conn.execute(
            schema.locations.update().where(schema.locations.c.id == world.q1).values(country="TH")
        )
    result = run(engine, world, path, dry_run=False)
    assert (result["encoding"], result["add"]) == ("tis-620", 1)
    with engine.connect() as conn:
        row = conn.execute(
            sa.select(
                schema.customers.c.name, schema.customers.c.phone, schema.customers.c.province
            )
        ).one()
    assert tuple(row) == ("สมชาย ใจดี", "+66812345678", "กรุงเทพมหานคร")


def test_undecodable_csv_asks_for_the_encoding(engine, world, tmp_path):
    path = tmp_path / "mixed.csv"
    path.write_bytes(b"Ten,Dien thoai\r\nAn,0912345678\r\n" + bytes(range(0x80, 0x100)) * 4)
    assert refused(engine, world, path) == "encoding_unknown"


def test_wrong_encoding_picked_by_hand_is_a_file_error(engine, world, tmp_path):
    path = tmp_path / "vn.csv"
    path.write_bytes("Tên,Điện thoại\r\nẤn,0912345678\r\n".encode("utf-16"))
    with pytest.raises(ImportFileError) as info:
        run(engine, world, path, encoding="utf-8")
    assert info.value.code == "encoding_unknown"


def test_empty_file_and_no_header(engine, world, tmp_path):
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    numbers = write_csv(tmp_path / "numbers.csv", [["1", "2"], ["3", "4"]])
    assert refused(engine, world, empty) == "empty_file"
    assert refused(engine, world, numbers) == "no_header"
