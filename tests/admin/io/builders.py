"""Small spreadsheet files for tests, written the way POS systems and Excel write them."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import xlsxwriter

KIOTVIET_HEADERS = [
    "Loại khách", "Mã khách hàng", "Tên khách hàng", "Điện thoại", "Địa chỉ",
    "Khu vực giao hàng", "Phường/Xã", "Công ty", "Mã số thuế", "Số CMND/CCCD", "Ngày sinh",
    "Giới tính", "Email", "Facebook", "Nhóm khách hàng", "Ghi chú", "Ngày giao dịch cuối",
    "Nợ cần thu hiện tại", "Tổng bán", "Trạng thái",
]  # fmt: skip


def kiotviet_row(code: str, name: str, phone: object, **kw: object) -> list[object]:
    values = {
        "Loại khách": "Cá nhân",
        "Mã khách hàng": code,
        "Tên khách hàng": name,
        "Điện thoại": phone,
        "Địa chỉ": kw.get("address", "12 Lê Lợi"),
        "Khu vực giao hàng": kw.get("area", "Hồ Chí Minh - Quận 1"),
        "Phường/Xã": kw.get("ward", "Phường Bến Nghé"),
        "Ngày sinh": kw.get("birthday", "15/08/1990"),
        "Giới tính": kw.get("gender", "Nữ"),
        "Email": kw.get("email", ""),
        "Nhóm khách hàng": kw.get("groups", ""),
        "Ghi chú": kw.get("notes", ""),
        "Ngày giao dịch cuối": "20/11/2026",
        "Nợ cần thu hiện tại": 0,
        "Tổng bán": kw.get("spend", 0),
        "Trạng thái": "Đang hoạt động",
    }
    return [values.get(h, "") for h in KIOTVIET_HEADERS]


def write_xlsx(path: Path, rows: list[list[object]], title_rows: int = 0) -> Path:
    workbook = xlsxwriter.Workbook(str(path))
    sheet = workbook.add_worksheet("DanhSachKhachHang")
    for r in range(title_rows):
        sheet.write(r, 0, "Danh sách khách hàng")
    for r, row in enumerate(rows, start=title_rows):
        for c, value in enumerate(row):
            if isinstance(value, str):
                sheet.write_string(r, c, value)  # as Excel keeps typed text
            elif value is None:
                continue
            else:
                sheet.write(r, c, value)
    workbook.close()
    return path


def write_csv(
    path: Path, rows: list[list[object]], encoding: str = "utf-8", sep: str = ","
) -> Path:
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=sep, lineterminator="\r\n").writerows(rows)
    path.write_bytes(buffer.getvalue().encode(encoding))
    return path


_TONES = "\u0300\u0301\u0303\u0309\u0323"


def to_cp1258(text: str) -> bytes:
    """Vietnamese text as Windows-1258 writes it: base letter, then a combining tone mark."""
    import unicodedata

    out = bytearray()
    for ch in text:
        try:
            out += ch.encode("cp1258")
            continue
        except UnicodeEncodeError:
            pass
        parts = unicodedata.normalize("NFD", ch)
        base = unicodedata.normalize("NFC", "".join(p for p in parts if p not in _TONES))
        tones = "".join(p for p in parts if p in _TONES)
        out += base.encode("cp1258") + tones.encode("cp1258")
    return bytes(out)
