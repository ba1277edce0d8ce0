"""What a spreadsheet row becomes: a customer record (its bad optional cells
left empty, one warning each), or the list of problems of a row that has no
usable phone or email; and the readers of its cells (`row_reader` puts them
together).

Dates: real date cells, Excel serial numbers, dd/MM/yyyy
(KiotViet), yyyy-MM-dd, dd-MM-yyyy and dd.MM.yyyy; Thai Buddhist years are
turned into Gregorian ones. Amounts: 1.250.000 / 1,250,000 / 1250000đ.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from dataclasses import field as dc_field
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from functools import lru_cache

# Longest text kept per field; a longer cell is left empty with a warning (never cut).
MAX_LENGTH = {
    "name": 200,
    "email": 254,
    "external_code": 100,
    "address": 400,
    "ward": 100,
    "area": 100,
    "province": 100,
    "postal_code": 20,
    "notes": 5000,
    "tags": 1000,
    "groups": 1000,
    "gender": 20,
    "phone": 40,
    "birthday": 40,
    "spend_total": 40,
}
MAX_TAG = 50
MAX_GROUP = 100
EXCEL_EPOCH = date(1899, 12, 30)
_MAX_AMOUNT = Decimal("1e14")
_CENT = Decimal("0.01")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_DATE_DMY = re.compile(r"^(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{2}|\d{4})$")
_DATE_YMD = re.compile(r"^(\d{4})[/.\-](\d{1,2})[/.\-](\d{1,2})$")
_GENDERS = {
    "nam": "male",
    "male": "male",
    "m": "male",
    "ชาย": "male",
    "nu": "female",
    "nữ": "female",
    "female": "female",
    "f": "female",
    "หญิง": "female",
    "khac": "other",
    "khác": "other",
    "other": "other",
    "อื่นๆ": "other",
}


@dataclass(slots=True)
class Record:
    row: int
    name: str
    phone: str | None
    email: str | None
    external_code: str | None
    address: str | None
    province: str | None
    postal_code: str | None
    birthday: date | None
    gender: str | None
    notes: str | None
    spend_total: Decimal | None
    tags: tuple[str, ...]
    groups: tuple[str, ...]
    # Fields left empty because their cell was unusable (the row is still imported).
    warnings: tuple[RowError, ...] = ()
    # Later rows of the file joined into this one.
    merged: list[int] = dc_field(default_factory=list)


@dataclass(slots=True)
class RowError:
    row: int
    code: str  # a key of texts.TEXTS
    field: str | None = None
    value: str = ""
    other: int | None = None  # the earlier row of a duplicate

    def as_dict(self) -> dict[str, object]:
        return {
            "row": self.row,
            "code": self.code,
            "field": self.field,
            "value": self.value,
            "other": self.other,
        }


@dataclass(slots=True)
class RowProblems:
    """A row that cannot be imported (no usable phone or email), with every problem it has."""

    row: int
    problems: tuple[RowError, ...]


def _problem(row: int, code: str, field: str, value: object) -> RowError:
    shown = clean_text(value)
    return RowError(row, code, field, shown[:60] + ("…" if len(shown) > 60 else ""))


def clean_text(value: object) -> str:
    """A cell as tidy NFC text: None -> '', 12.0 -> '12', controls dropped."""
    if value is None:
        return ""
    if type(value) is str:
        text = value.strip()
        if text.isprintable() and (text.isascii() or unicodedata.is_normalized("NFC", text)):
            return text
        return _CONTROL.sub("", unicodedata.normalize("NFC", text)).strip()
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    text = unicodedata.normalize("NFC", str(value))
    return _CONTROL.sub("", text).strip()


def _unwrap_excel_text(text: str) -> str:
    """`="0912345678"` (the CSV trick for keeping a leading zero) -> 0912345678."""
    if text.startswith('="') and text.endswith('"'):
        return text[2:-1]
    return text


def parse_date(value: object) -> date | None:
    if value is None or value == "":
        return None
    if type(value) is str:
        return _parse_date_text(value)
    return _parse_date(value)


@lru_cache(maxsize=4096)
def _parse_date_text(value: str) -> date | None:
    """Birthdays repeat across a file (and 01/01/1990 a lot): parsed once each."""
    return _parse_date(value)


def _parse_date(value: object) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        if 1 <= value < 80000:
            return EXCEL_EPOCH + timedelta(days=int(value))
        raise ValueError(value)
    text = clean_text(value).split(" ")[0].split("T")[0]
    match = _DATE_YMD.match(text)
    if match:
        year, month, day = (int(g) for g in match.groups())
    else:
        match = _DATE_DMY.match(text)
        if not match:
            raise ValueError(text)
        day, month, year = (int(g) for g in match.groups())
        if year < 100:
            year += 1900 if year > (date.today().year % 100) else 2000
    if year > 2400:  # Thai Buddhist era
        year -= 543
    return date(year, month, day)


def parse_amount(value: object) -> Decimal | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise ValueError(value)
    if isinstance(value, (int, float)):  # noqa: UP038 (a tuple is faster here)
        amount = Decimal(str(value))
    else:
        text = re.sub(r"[^\d.,\-]", "", clean_text(value))
        if not text:
            raise ValueError(value)
        if "." in text and "," in text:
            decimal_sep = "." if text.rfind(".") > text.rfind(",") else ","
            thousands = "," if decimal_sep == "." else "."
            text = text.replace(thousands, "").replace(decimal_sep, ".")
        elif text.count(".") > 1 or re.fullmatch(r"-?\d{1,3}(\.\d{3})+", text):
            text = text.replace(".", "")
        elif text.count(",") > 1 or re.fullmatch(r"-?\d{1,3}(,\d{3})+", text):
            text = text.replace(",", "")
        else:
            text = text.replace(",", ".")
        try:
            amount = Decimal(text)
        except InvalidOperation as exc:
            raise ValueError(value) from exc
    if amount < 0 or amount >= _MAX_AMOUNT or not amount.is_finite():
        raise ValueError(value)
    return amount.quantize(_CENT)


@lru_cache(maxsize=4096)
def _split(text: str, separators: str, limit: int) -> tuple[str, ...]:
    parts = re.split(f"[{re.escape(separators)}]", text)
    seen: dict[str, None] = {}
    for part in parts:
        part = part.strip()[:limit]
        if part:
            seen.setdefault(part, None)
    return tuple(seen)


def is_email(text: str) -> bool:
    """The importer's e-mail test (the customer page uses it too)."""
    return len(text) <= MAX_LENGTH["email"] and bool(_EMAIL.match(text))
