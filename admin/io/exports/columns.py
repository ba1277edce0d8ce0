"""The columns of an export: the customer list's, plus tags, group, visits, consents.

Headers are in the requester's language and are the ones the importer
recognises, so an exported file imports back. Free-text cells that a
spreadsheet would read as a formula (starting with = + - @, tab or CR) get a
leading apostrophe in both CSV and XLSX; phones are written by us from
digits only and numbers stay numbers.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import phonenumbers

from porchlight.admin.io.exports.xlsx_stream import (
    STYLE_DATE,
    STYLE_DATETIME,
    STYLE_INT,
    STYLE_MONEY,
    STYLE_TEXT,
)
from porchlight.admin.io.imports.layouts import FIELD_LABELS
from porchlight.admin.io.imports.texts import P_, in_all

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_FORMULA_CHARS = frozenset(FORMULA_START)


def neutralise(value: str) -> str:
    """'=HYPERLINK(...)' -> "'=HYPERLINK(...)": shown as typed, never evaluated."""
    if value and value.startswith(FORMULA_START):
        return "'" + value
    return value


@dataclass(frozen=True)
class Column:
    key: str
    labels: tuple[str, str, str]  # vi, th, en
    kind: str  # text, free (free text, neutralised), phone, int, money, datetime, date
    width: int


def _label(field: str) -> tuple[str, str, str]:
    return FIELD_LABELS[field]


COLUMNS: tuple[Column, ...] = (
    Column("external_code", _label("external_code"), "free", 14),
    Column("name", _label("name"), "free", 28),
    Column("phone", _label("phone"), "phone", 16),
    Column("email", _label("email"), "free", 28),
    Column("tags", _label("tags"), "free", 24),
    Column("group", in_all(P_("export", "Group")), "free", 14),
    Column("visit_count", in_all(P_("export", "Visits")), "int", 10),
    Column("first_visit_at", in_all(P_("export", "First visit")), "datetime", 17),
    Column("last_visit_at", in_all(P_("export", "Last visit")), "datetime", 17),
    Column("last_channel", in_all(P_("export", "Login channel")), "text", 14),
    # Every channel the customer logged in with ("Form, LINE"), for chat follow-up.
    Column("channels", in_all(P_("export", "Login channels")), "text", 18),
    Column("spend_total", _label("spend_total"), "money", 14),
    Column("province", _label("province"), "free", 18),
    Column("postal_code", _label("postal_code"), "free", 10),
    Column("address", _label("address"), "free", 30),
    Column("birthday", _label("birthday"), "date", 12),
    Column("gender", _label("gender"), "text", 9),
    Column("consent_wifi", in_all(P_("export", "Wi-Fi consent")), "text", 12),
    Column(
        "consent_marketing",
        in_all(P_("export", "Marketing consent")),
        "text",
        14,
    ),
    # The text version of the marketing consent in force (empty: none or withdrawn).
    Column(
        "consent_marketing_version",
        in_all(P_("export", "Marketing consent text")),
        "text",
        16,
    ),
    # Whether the customer follows the venue's chat account now (their newest
    # line_follow / zalo_follow answer; empty: never asked or not known).
    Column("line_follow", in_all(P_("export", "LINE friend")), "text", 10),
    Column("zalo_follow", in_all(P_("export", "Zalo follower")), "text", 10),
    Column("notes", _label("notes"), "free", 30),
)

# The order of the values `rows.details` returns for each customer.
FIELDS: tuple[str, ...] = (
    "id",
    "external_code",
    "name",
    "phone",
    "email",
    "group",
    "visit_count",
    "first_visit_at",
    "last_visit_at",
    "last_channel",
    "spend_total",
    "province",
    "postal_code",
    "address",
    "birthday",
    "gender",
    "notes",
    "tags",
    "consent_wifi",
    "consent_marketing",
    "consent_marketing_version",
    "channels",
    "line_follow",
    "zalo_follow",
)

_STYLES = {
    "text": STYLE_TEXT,
    "free": STYLE_TEXT,
    "phone": STYLE_TEXT,
    "int": STYLE_INT,
    "money": STYLE_MONEY,
    "datetime": STYLE_DATETIME,
    "date": STYLE_DATE,
}
STYLES = [_STYLES[col.kind] for col in COLUMNS]
WIDTHS = [col.width for col in COLUMNS]
_LANG = {"vi": 0, "th": 1, "en": 2}

CHANNELS = {
    "form": in_all(P_("export", "Form")),
    "click": in_all(P_("export", "Click-through")),
    "voucher": in_all(P_("export", "Voucher")),
    "returning": in_all(P_("export", "Returning device")),
    "import": in_all(P_("export", "Import")),
    "zalo": ("Zalo", "Zalo", "Zalo"),
    "facebook": ("Facebook", "Facebook", "Facebook"),
    "google": ("Google", "Google", "Google"),
    "line": ("LINE", "LINE", "LINE"),
}
GENDERS = {
    "male": in_all(P_("export", "male")),
    "female": in_all(P_("export", "female")),
    "other": in_all(P_("export", "other")),
}
YES_NO = {True: in_all(P_("export", "yes")), False: in_all(P_("export", "no"))}


def headers(lang: str) -> list[str]:
    index = _LANG.get(lang, 0)
    return [col.labels[index] for col in COLUMNS]


_TRUNK = {"VN": "+84", "TH": "+66"}


def phone_text(e164: str | None, region: str, spaced: bool) -> str:
    """A tenant-country number in national form (0912345678), others as +CC…."""
    if not e164:
        return ""
    prefix = _TRUNK.get(region)
    if prefix and e164.startswith(prefix):  # the common case, without parsing
        national = "0" + e164[len(prefix) :]
        if not spaced:
            return national
        if len(national) == 10 and region == "VN":
            return f"{national[:4]} {national[4:7]} {national[7:]}"
        return f"{national[:3]} {national[3:-4]} {national[-4:]}"
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return e164
    text = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
    return text if spaced else text.replace(" ", "")


class RowMaker:
    """Customer rows to cell values for one file format and one language.

    One converter per column is chosen up front, and `rows()` converts a
    whole batch column by column (a list comprehension per column, no Python
    call per cell for the common values).
    """

    def __init__(self, lang: str, zone: ZoneInfo, region: str, for_csv: bool) -> None:
        self.zone = zone
        self.region = region
        self.for_csv = for_csv
        self._offsets: dict[int, timedelta] = {}  # UTC day ordinal -> the zone's offset
        i = _LANG.get(lang, 0)
        self.index = [FIELDS.index(col.key) for col in COLUMNS]
        self._convert: list[Callable[[Sequence[Any]], Sequence[object]]] = []
        for col in COLUMNS:
            if col.kind == "free":
                self._convert.append(_free_column)
            elif col.kind == "phone":
                self._convert.append(self._phones)
            elif col.key == "last_channel":
                self._convert.append(_labeller(CHANNELS, i))
            elif col.key == "channels":
                self._convert.append(_channel_lists(i))
            elif col.key in ("line_follow", "zalo_follow"):
                self._convert.append(_yes_no(i))
            elif col.key == "gender":
                self._convert.append(_labeller(GENDERS, i))
            elif col.key == "consent_marketing_version":
                self._convert.append(_text_column)
            elif col.key.startswith("consent_"):
                self._convert.append(_yes_no(i))
            elif col.kind == "datetime":
                self._convert.append(self._datetimes)
            elif col.kind == "int":
                self._convert.append(_same)  # the csv module writes ints as they are
            elif col.kind == "money":
                self._convert.append(_money_column if for_csv else _same)
            elif col.kind == "date":
                self._convert.append(_date_column if for_csv else _same)
            else:
                self._convert.append(_text_column)

    def _phones(self, values: Sequence[str | None]) -> list[str]:
        # CSV: spaced so Excel keeps it as text with its leading zero.
        region, spaced = self.region, self.for_csv
        prefix = _TRUNK.get(region)
        if prefix and not spaced:  # phone_text's national form, inline
            cut = len(prefix)
            return [
                "0" + v[cut:] if v and v.startswith(prefix) else phone_text(v, region, spaced)
                for v in values
            ]
        if prefix and region == "VN":  # +84 and 9 digits: "0912 345 678", inline
            return [
                f"0{v[3:6]} {v[6:9]} {v[9:]}"
                if v and len(v) == 12 and v.startswith(prefix)
                else phone_text(v, region, spaced)
                for v in values
            ]
        return [phone_text(v, region, spaced) for v in values]

    def _datetimes(self, values: Sequence[datetime | None]) -> list[object]:
        """Naive UTC datetimes as the tenant's local time."""
        offsets = self._offsets
        local = [
            None if v is None else v + (offsets.get(v.toordinal()) or self._offset(v))
            for v in values
        ]
        if self.for_csv:
            return ["" if v is None else v.isoformat(" ", "minutes") for v in local]
        return ["" if v is None else v.replace(microsecond=0) for v in local]

    def _offset(self, utc: datetime) -> timedelta:
        """The zone's UTC offset at naive UTC `utc`.

        Cached for the whole UTC day when the offset is the same at its first
        and last microsecond (no transition that day); on a transition day it
        is worked out for each value, exactly as `astimezone` does.
        """
        day = datetime.combine(utc.date(), time(), UTC)
        first = day.astimezone(self.zone).utcoffset()
        last = (day + timedelta(days=1, microseconds=-1)).astimezone(self.zone).utcoffset()
        if first is not None and first == last:
            self._offsets[utc.toordinal()] = first
            return first
        exact = utc.replace(tzinfo=UTC).astimezone(self.zone).utcoffset()
        assert exact is not None
        return exact

    def rows(self, fields: Sequence[Sequence[Any]]) -> list[tuple[object, ...]]:
        """Cells for a batch of customers given column by column (`FIELDS` order)."""
        if not fields or not fields[0]:
            return []
        return list(
            zip(
                *[convert(fields[i]) for i, convert in zip(self.index, self._convert, strict=True)],
                strict=True,
            )
        )

    def values(self, customer: Sequence[Any]) -> list[object]:
        """Cells for one customer row (values in `FIELDS` order)."""
        return list(self.rows([[value] for value in customer])[0])


def _same(values: Sequence[object]) -> Sequence[object]:
    return values


def _money_text(value: Decimal | None) -> str:
    if value is None:
        return ""
    whole = int(value)
    return str(whole) if whole == value else str(value)


def _money_column(values: Sequence[Decimal | None]) -> list[str]:
    """`_money_text` of each; "1250000.00" -> "1250000" without the Decimal arithmetic."""
    texts = ["" if v is None else str(v) for v in values]
    return [
        t[:-3] if t.endswith(".00") and t != "-0.00" else _money_text(v)
        for t, v in zip(texts, values, strict=True)
    ]


def _date_column(values: Sequence[date | None]) -> list[str]:
    return ["" if v is None else v.isoformat() for v in values]


def _text_column(values: Sequence[object]) -> list[str]:
    return ["" if v is None else str(v) for v in values]


def _free(value: object) -> str:
    if not value:
        return ""
    text = str(value)
    return "'" + text if text[0] in _FORMULA_CHARS else text


def _free_column(values: Sequence[object]) -> list[str]:
    chars = _FORMULA_CHARS
    return [("'" + v if v and v[0] in chars else v) if type(v) is str else _free(v) for v in values]


def _yes_no(i: int) -> Callable[[Sequence[Any]], list[object]]:
    yes, no = YES_NO[True][i], YES_NO[False][i]

    def answers(values: Sequence[Any]) -> list[object]:
        return ["" if v is None else (yes if v else no) for v in values]

    return answers


def _channel_lists(i: int) -> Callable[[Sequence[Any]], list[object]]:
    """Channel lists ("form,line") as labels ("Form, LINE") in the file's language."""
    known = {key: entry[i] for key, entry in CHANNELS.items()}

    def labels(values: Sequence[Any]) -> list[object]:
        return [
            ", ".join(known.get(ch, ch) for ch in sorted(v.split(","))) if v else "" for v in values
        ]

    return labels


def _labeller(
    labels: dict[str, tuple[str, str, str]], i: int
) -> Callable[[Sequence[Any]], list[object]]:
    known = {key: entry[i] for key, entry in labels.items()}

    def label(values: Sequence[Any]) -> list[object]:
        return [known[v] if v in known else ("" if not v else str(v)) for v in values]

    return label
