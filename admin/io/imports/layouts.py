"""Which column is which: headers of our template, KiotViet, CukCuk and iPOS.

Headers are compared after folding: accents dropped (đ → d), case folded,
punctuation turned into spaces. A file none of the layouts fits goes to the
column-mapping step, whose answer is a `{column index: field}` mapping.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from porchlight.admin.io.imports.texts import P_, in_all

# Fields a column may fill, in the order the mapping step offers them.
FIELDS: tuple[str, ...] = (
    "name",
    "phone",
    "email",
    "tags",
    "groups",
    "external_code",
    "address",
    "ward",
    "area",
    "province",
    "postal_code",
    "birthday",
    "gender",
    "notes",
    "spend_total",
)

# Each field's column header in vi, th and en (the io catalog, context "import field").
FIELD_LABELS: dict[str, tuple[str, str, str]] = {
    "name": in_all(P_("import field", "Name")),
    "phone": in_all(P_("import field", "Phone")),
    "email": in_all(P_("import field", "Email")),
    "tags": in_all(P_("import field", "Tags")),
    "groups": in_all(P_("import field", "Group")),
    "external_code": in_all(P_("import field", "Customer code")),
    "address": in_all(P_("import field", "Address")),
    "ward": in_all(P_("import field", "Ward")),
    "area": in_all(P_("import field", "Area")),
    "province": in_all(P_("import field", "Province")),
    "postal_code": in_all(P_("import field", "Postal code")),
    "birthday": in_all(P_("import field", "Birthday")),
    "gender": in_all(P_("import field", "Gender")),
    "notes": in_all(P_("import field", "Notes")),
    "spend_total": in_all(P_("import field", "Spend")),
}

# Our template's columns (its header row is the Vietnamese, Thai or English label).
TEMPLATE_FIELDS: tuple[str, ...] = (
    "name",
    "phone",
    "email",
    "birthday",
    "gender",
    "address",
    "province",
    "postal_code",
    "tags",
    "groups",
    "notes",
    "spend_total",
    "external_code",
)


def fold(header: object) -> str:
    """'Điện thoại ' -> 'dien thoai'; 'Phường/Xã' -> 'phuong xa'."""
    text = unicodedata.normalize("NFD", str(header or "")).replace("đ", "d").replace("Đ", "D")
    text = "".join(ch for ch in text if unicodedata.category(ch) != "Mn").casefold()
    return re.sub(r"[^\w]+", " ", text).strip()


def _aliases(pairs: Mapping[str, Iterable[str]]) -> dict[str, str]:
    return {fold(h): field for field, headers in pairs.items() for h in headers}


OURS = _aliases({f: FIELD_LABELS[f] for f in FIELDS})
# Headers as people type them in vi, th and en (compared folded: "SĐT" is "sdt").
PEOPLE = _aliases(
    {
        "phone": [
            "Số điện thoại", "SĐT", "SDT", "Số ĐT", "ĐT", "Điện thoại", "Di động", "Số di động",
            "ĐTDĐ", "Phone number", "Mobile", "Mobile phone", "Tel", "Telephone", "Cell",
            "เบอร์โทร", "เบอร์", "เบอร์โทรศัพท์", "โทรศัพท์", "มือถือ", "เบอร์มือถือ",
        ],
        "name": [
            "Họ tên", "Họ và tên", "Tên", "Tên KH", "Tên khách", "Tên khách hàng", "Khách hàng",
            "Full name", "Customer name", "Customer", "ชื่อ", "ชื่อลูกค้า", "ชื่อ-นามสกุล",
            "ชื่อ นามสกุล", "ลูกค้า",
        ],
        "email": ["E-mail", "Email address", "Thư điện tử", "อีเมล", "อีเมล์"],
        "birthday": [
            "Sinh nhật", "Ngày sinh", "Ngày tháng năm sinh", "Date of birth", "DOB", "Birth date",
            "วันเกิด", "วันเดือนปีเกิด",
        ],
        "gender": ["Giới tính", "Sex", "เพศ"],
        "address": ["Địa chỉ", "ที่อยู่"],
        "province": ["Tỉnh", "Tỉnh/Thành phố", "Tỉnh/TP", "Thành phố", "City", "State", "จังหวัด"],
        "postal_code": ["Mã bưu điện", "Mã bưu chính", "Zip", "Zip code", "Postcode", "รหัสไปรษณีย์"],
        "tags": ["Tag", "Thẻ", "Nhãn", "แท็ก", "ป้ายกำกับ"],
        "groups": ["Nhóm", "Nhóm KH", "Nhóm khách hàng", "Customer group", "กลุ่ม", "กลุ่มลูกค้า"],
        "external_code": ["Mã KH", "Mã khách hàng", "Mã khách", "Code", "รหัสลูกค้า"],
        "notes": ["Ghi chú", "Note", "Comment", "หมายเหตุ"],
        "spend_total": [
            "Chi tiêu", "Tổng chi tiêu", "Total spend", "Spend total", "Doanh số", "ยอดซื้อ",
            "ยอดใช้จ่าย", "ยอดชำระ", "ยอดซื้อสะสม",
        ],
    }
)  # fmt: skip
OURS.update(PEOPLE)

KIOTVIET = _aliases(
    {
        "external_code": ["Mã khách hàng"],
        "name": ["Tên khách hàng"],
        "phone": ["Điện thoại"],
        "address": ["Địa chỉ"],
        "area": ["Khu vực giao hàng"],
        "ward": ["Phường/Xã"],
        "birthday": ["Ngày sinh"],
        "gender": ["Giới tính"],
        "email": ["Email"],
        "groups": ["Nhóm khách hàng"],
        "notes": ["Ghi chú"],
        "spend_total": ["Tổng bán"],
    }
)
KIOTVIET_MARKERS = {fold(h) for h in ("Loại khách", "Nợ cần thu hiện tại", "Tổng bán")}

CUKCUK = _aliases(
    {
        "external_code": ["Mã khách hàng", "Code", "Customer code"],
        "name": ["Tên khách hàng", "Name", "Customer name"],
        "groups": ["Loại khách hàng", "Nhóm khách hàng", "Category"],
        "phone": ["Số điện thoại", "Điện thoại", "Phone", "Mobile"],
        "address": ["Địa chỉ", "Address"],
        "email": ["Email"],
        "notes": ["Mô tả", "Diễn giải", "Description"],
        "birthday": ["Ngày sinh", "Birthday", "Date of birth"],
        "spend_total": ["Tổng tiền", "Tổng số tiền", "Total amount", "Doanh số"],
    }
)
CUKCUK_MARKERS = {
    fold(h) for h in ("Mô tả", "Diễn giải", "Description", "Total amount", "Tổng tiền")
}

IPOS = _aliases(
    {
        "external_code": ["Mã thành viên", "Mã KH", "Membership ID"],
        "name": ["Tên thành viên", "Họ tên", "Tên khách hàng", "Member name"],
        "phone": ["Số điện thoại", "SĐT", "Điện thoại"],
        "email": ["Email"],
        "birthday": ["Ngày sinh"],
        "gender": ["Giới tính"],
        "address": ["Địa chỉ"],
        "groups": ["Hạng thành viên", "Hạng", "Membership tier"],
        "spend_total": ["Tổng chi tiêu", "Doanh thu", "Tổng tiền đã chi"],
        "notes": ["Ghi chú"],
    }
)
IPOS_MARKERS = {fold(h) for h in ("Mã thành viên", "Tên thành viên", "Hạng thành viên", "Hạng")}

LAYOUTS: tuple[tuple[str, dict[str, str], set[str]], ...] = (
    ("kiotviet", KIOTVIET, KIOTVIET_MARKERS),
    ("cukcuk", CUKCUK, CUKCUK_MARKERS),
    ("ipos", IPOS, IPOS_MARKERS),
    ("porchlight", OURS, set()),
)
HEADER_SCAN_ROWS = 15


@dataclass(frozen=True)
class Layout:
    name: str  # kiotviet, cukcuk, ipos, porchlight, mapped
    header_row: int  # the row number of the header (1-based, as in Excel)
    columns: dict[int, str]  # column index -> field


def match_headers(header_row: int, cells: list[object]) -> Layout | None:
    """The layout these header cells belong to, or None."""
    folded = [fold(c) for c in cells]
    present = set(folded)
    best: Layout | None = None
    for name, aliases, markers in LAYOUTS:
        if markers and not markers & present:
            continue
        columns: dict[int, str] = {}
        for index, key in enumerate(folded):
            field = aliases.get(key)
            if field and field not in columns.values():
                columns[index] = field
        fields = set(columns.values())
        if not fields & {"phone", "email"} or len(fields) < 2:
            continue
        if best is None or len(columns) > len(best.columns):
            best = Layout(name, header_row, columns)
    return best


def detect(rows: Iterable[tuple[int, list[object]]]) -> tuple[Layout | None, list[object], int]:
    """Look for a known header in the first rows.

    Returns (layout or None, the header cells to show the mapping step,
    the header's row number).
    """
    fallback: tuple[list[object], int] | None = None
    for scanned, (number, cells) in enumerate(rows):
        if scanned >= HEADER_SCAN_ROWS:
            break
        layout = match_headers(number, cells)
        if layout is not None:
            return layout, cells, number
        texts = [c for c in cells if isinstance(c, str) and re.search(r"[^\W\d_]", c)]
        if fallback is None and len(texts) >= 2:
            fallback = (cells, number)
    if fallback is None:
        return None, [], 0
    return None, fallback[0], fallback[1]


def guess(header: object, samples: Iterable[object] = ()) -> str:
    """The best guess of a column's field, for the mapping step ("" when none fits)."""
    key = fold(header)
    for _, aliases, _ in LAYOUTS:
        if key in aliases:
            return aliases[key]
    words = set(key.split())
    for alias, field in OURS.items():
        if alias and (set(alias.split()) <= words or (len(alias) > 3 and alias in key)):
            return field
    return _guess_from_values([v for v in samples if v not in (None, "")])


def _guess_from_values(values: list[object]) -> str:
    texts = [str(v).strip() for v in values]
    if not texts:
        return ""
    if all("@" in t for t in texts):
        return "email"
    if all(re.fullmatch(r"[+\d][\d .\-()]{7,18}", t) for t in texts):
        return "phone"
    if all(re.fullmatch(r"\d{1,2}[/.\-]\d{1,2}[/.\-]\d{2,4}", t) for t in texts):
        return "birthday"
    return ""


def from_mapping(header_row: int, mapping: Mapping[str, str]) -> Layout:
    """The layout a user chose in the mapping step (`{"0": "name", "3": "phone"}`)."""
    columns: dict[int, str] = {}
    for key, field in mapping.items():
        if field in FIELDS and field not in columns.values():
            columns[int(key)] = field
    return Layout("mapped", header_row, columns)
