"""Spreadsheet rows to `records.Record` (or `RowProblems`), a file's worth at a time.

`RowReader` works out a layout's columns once; a common row (every mapped
cell there, its text cells all text, printable and NFC, none too long) is then
read with a few C-level calls for all of its cells, and any other row cell by
cell, with the same result (a test compares both on random rows). Phones go
through `porchlight.phones` (lost leading zero, 01xx, +84, spaces and dots).
"""

from __future__ import annotations

import unicodedata
from datetime import date
from decimal import Decimal
from functools import lru_cache
from operator import gt, itemgetter

from porchlight.admin.io.imports.layouts import Layout
from porchlight.admin.io.imports.records import (
    _EMAIL,
    _GENDERS,
    MAX_GROUP,
    MAX_LENGTH,
    MAX_TAG,
    Record,
    RowError,
    RowProblems,
    _problem,
    _split,
    _unwrap_excel_text,
    clean_text,
    parse_amount,
    parse_date,
)
from porchlight.phones import PhoneError, normalize_phone

_PARSED = frozenset(("birthday", "spend_total"))  # read from the cell, not its text
# Every text field, in the order `_build` unpacks them ("" for a field the file lacks).
_TEXT_FIELDS = (
    "name", "phone", "email", "external_code", "address", "ward", "area", "province",
    "postal_code", "gender", "notes", "tags", "groups",
)  # fmt: skip
_is_nfc = unicodedata.is_normalized


def to_record(
    row: int, cells: list[object], layout: Layout, region: str
) -> Record | RowProblems | None:
    """The row as a `Record` (with warnings for fields left empty), as `RowProblems`
    when it has no usable phone or email, or None for an empty row."""
    return RowReader(layout, region)(row, cells)


class RowReader:
    """`to_record` for every row of one file."""

    def __init__(self, layout: Layout, region: str) -> None:
        self.region = region
        self.pairs = tuple(layout.columns.items())
        fields = [field for _, field in self.pairs]
        self.limits = {f: MAX_LENGTH[f] for f in fields if f not in _PARSED}
        texts = [(index, field) for index, field in self.pairs if field not in _PARSED]
        # The fast path: each field in one column, at least two of them text.
        self.fast = len(set(fields)) == len(fields) and len(texts) > 1
        if not self.fast:
            return
        self.width = max(layout.columns) + 1
        self.pick = itemgetter(*layout.columns)
        self.pick_texts = itemgetter(*(index for index, _ in texts))
        self.text_limits = tuple(MAX_LENGTH[field] for _, field in texts)
        at = {field: position for position, (_, field) in enumerate(texts)}
        # From the row's text cells (and a "" after them) to _TEXT_FIELDS' order.
        self.in_order = itemgetter(*(at.get(field, len(texts)) for field in _TEXT_FIELDS))
        column = {field: index for index, field in self.pairs}
        self.cell_of = tuple(column.get(f) for f in ("phone", "birthday", "spend_total"))

    def __call__(self, row: int, cells: list[object]) -> Record | RowProblems | None:
        if self.fast and len(cells) >= self.width:
            for value in self.pick(cells):
                if value is not None and not (isinstance(value, str) and not value.strip()):
                    break
            else:
                return None
            texts = self._common_texts(cells)
            if texts is not None:
                phone, birthday, spend = (None if i is None else cells[i] for i in self.cell_of)
                return self._build(row, texts, phone, birthday, spend, [])
        count = len(cells)
        raw = {field: cells[index] for index, field in self.pairs if index < count}
        for value in raw.values():
            if value is not None and not (isinstance(value, str) and not value.strip()):
                break
        else:
            return None
        problems: list[RowError] = []
        found = _texts(row, raw, self.limits, problems)
        texts = tuple(found.get(field, "") for field in _TEXT_FIELDS)
        cells_of = (raw.get("phone"), raw.get("birthday"), raw.get("spend_total"))
        return self._build(row, texts, *cells_of, problems)

    def _common_texts(self, cells: list[object]) -> tuple[str, ...] | None:
        """The row's texts in _TEXT_FIELDS' order when every text cell is a str and
        their text together is printable and ASCII or NFC (then each is: a string
        that is not NFC has no NFC string around it) and none is too long: what
        `_texts` gives then, in a few calls for all cells. None: ask `_texts`."""
        try:
            stripped = list(map(str.strip, self.pick_texts(cells)))
        except TypeError:  # a cell that is not text
            return None
        joined = "".join(stripped)
        if not joined.isprintable() or not (joined.isascii() or _is_nfc("NFC", joined)):
            return None
        if any(map(gt, map(len, stripped), self.text_limits)):
            return None
        stripped.append("")
        result: tuple[str, ...] = self.in_order(stripped)
        return result

    def _build(
        self,
        row: int,
        texts: tuple[str, ...],
        phone_cell: object,
        birthday_cell: object,
        spend_cell: object,
        problems: list[RowError],
    ) -> Record | RowProblems:
        phone = self._phone(row, texts[1], phone_cell, problems)
        email = texts[2].lower() or None
        if email and not _EMAIL.match(email):
            problems.append(_problem(row, "email_invalid", "email", email))
            email = None
        birthday = None if birthday_cell is None else _birthday(row, birthday_cell, problems)
        spend = None
        if spend_cell is not None:
            try:
                spend = parse_amount(spend_cell)
            except (ValueError, ArithmeticError):
                problems.append(_problem(row, "number_invalid", "spend_total", spend_cell))
        if phone is None and email is None:
            if not any(p.field in ("phone", "email") for p in problems):
                problems.insert(0, RowError(row, "no_contact", "phone", ""))
            return RowProblems(row, tuple(problems))
        return _record(row, texts, phone, email, birthday, spend, tuple(problems))

    def _phone(self, row: int, text: str, cell: object, problems: list[RowError]) -> str | None:
        phone_text = _unwrap_excel_text(text)
        if not phone_text:
            return None
        try:
            typed = cell if isinstance(cell, (int, float)) else phone_text  # noqa: UP038
            return normalize_phone(typed, self.region)
        except PhoneError:
            problems.append(_problem(row, "phone_invalid", "phone", phone_text))
            return None


def _texts(
    row: int, raw: dict[str, object], limits: dict[str, int], problems: list[RowError]
) -> dict[str, str]:
    """Every text cell (`limits`: the text fields' longest lengths) as `clean_text`
    makes it; a cell longer than its field's limit is left empty and noted."""
    texts: dict[str, str] = {}
    for field, value in raw.items():
        limit = limits.get(field)
        if limit is None:
            continue
        text = clean_text(value)
        if len(text) > limit:
            problems.append(_problem(row, "too_long", field, text))
            text = ""
        texts[field] = text
    return texts


def _birthday(row: int, cell: object, problems: list[RowError]) -> date | None:
    if isinstance(cell, str) and len(cell) > MAX_LENGTH["birthday"]:
        problems.append(_problem(row, "too_long", "birthday", cell))
        return None
    try:
        return parse_date(cell)
    except (ValueError, OverflowError):
        problems.append(_problem(row, "date_invalid", "birthday", cell))
        return None


def _record(
    row: int,
    texts: tuple[str, ...],
    phone: str | None,
    email: str | None,
    birthday: date | None,
    spend: Decimal | None,
    warnings: tuple[RowError, ...],
) -> Record:
    name, _, _, code, address, ward, area, province, postal, gender, notes, tags, groups = texts
    # Cells a file repeats (area, ward, gender) are worked out once each.
    tail = ""
    if area:  # KiotViet: "Hồ Chí Minh - Quận 1"
        head, tail = _area(area)
        province = province or head
    if ward or tail:
        address = ", ".join([p for p in (address, ward, tail) if p])[:500]
    return Record(
        row,
        _unwrap_excel_text(name) if name[:2] == '="' else name,
        phone,
        email,
        (_unwrap_excel_text(code) if code[:2] == '="' else code) or None,
        address[:500] or None,
        province or None,
        (_unwrap_excel_text(postal) if postal[:2] == '="' else postal) or None,
        birthday,
        _gender(gender) if gender else None,
        notes or None,
        spend,
        _split(tags, ",;|", MAX_TAG),
        _split(groups, "|", MAX_GROUP),
        warnings,
    )


@lru_cache(maxsize=1024)
def _area(area: str) -> tuple[str, str]:
    """A KiotViet delivery area's province and district."""
    head, _, tail = area.partition(" - ")
    return head.strip(), tail.strip()


@lru_cache(maxsize=1024)
def _gender(text: str) -> str:
    return _GENDERS.get(text.casefold(), "other")
