"""Customer list filters: URL arguments -> `CustomerFilters`, and the page cursor.

`parse_filters(args)` never raises: a value that makes no sense is dropped
and a notice (in the user's language) says so. The SQL for the filters is
`porchlight.admin.customers.query.build_customer_query`.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from flask_babel import gettext as _

from porchlight.events import CHANNELS

SORTS = ("last_visit", "visits", "visits_asc", "spend", "spend_desc", "name")
DEFAULT_SORT = "last_visit"
MAX_TAGS = 10
MAX_TEXT = 100
MAX_VISITS = 10_000_000


@dataclass(frozen=True)
class CustomerFilters:
    location: int | None = None
    channel: str | None = None
    tags: tuple[str, ...] = ()
    tag_mode: str = "any"  # any | all
    province: str | None = None
    postal: str | None = None
    updated_from: date | None = None
    updated_to: date | None = None
    new_from: date | None = None  # first visit on or after (the dashboard's "new")
    seen_from: date | None = None  # came on or after, first visit before ("returning")
    visits_min: int | None = None
    visits_max: int | None = None
    group: int | str | None = None  # a group id, or "none"
    consent: str | None = None  # "marketing" (current yes) | "no_marketing"
    follows: str | None = None  # "line" | "zalo": follows the venue's chat account now
    q: str | None = None
    sort: str = DEFAULT_SORT
    after: str | None = field(default=None, compare=False)  # keyset cursor

    def is_filtered(self) -> bool:
        empty = CustomerFilters(sort=self.sort)
        return replace(self, after=None) != empty

    def to_args(self, **changes: Any) -> dict[str, Any]:
        """URL arguments for these filters (empty ones left out)."""
        # the field names, not asdict(): asdict deep-copies each value (a page asks ~10 times)
        if unknown := changes.keys() - set(FILTER_NAMES):
            raise TypeError(f"no such filter: {sorted(unknown)}")
        out: dict[str, Any] = {}
        for key in FILTER_NAMES:
            value = changes[key] if key in changes else getattr(self, key)
            if value in (None, "", ()) or (key == "tag_mode" and value == "any"):
                continue
            if key == "sort" and value == DEFAULT_SORT:
                continue
            if key == "tags":
                out["tag"] = list(value)
            elif isinstance(value, date):
                out[key] = value.isoformat()
            else:
                out[key] = value
        return out

    def query_string(self, **changes: Any) -> str:
        return urlencode(self.to_args(**changes), doseq=True)


FILTER_NAMES = tuple(f.name for f in fields(CustomerFilters))


def _int(raw: str, low: int, high: int) -> int | None:
    raw = raw.strip()
    if not re.fullmatch(r"\d{1,12}", raw):
        return None
    value = int(raw)
    return value if low <= value <= high else None


def _date(raw: str) -> date | None:
    """A date of the years the admin stores (1900-2200), else None (0001-01-01 and
    9999-12-31 would overflow once turned into the tenant's midnight in UTC)."""
    try:
        value = date.fromisoformat(raw.strip()[:10])
    except ValueError:
        return None
    return value if 1900 <= value.year <= 2200 else None


class _Args:
    """URL arguments (a Werkzeug MultiDict or a plain dict), trimmed and bounded."""

    def __init__(self, args: Mapping[str, Any]) -> None:
        self.args = args

    def get(self, name: str) -> str:
        value = self.args.get(name)
        return "" if value is None else str(value)[: MAX_TEXT * 2].strip()

    def getlist(self, name: str) -> list[str]:
        if hasattr(self.args, "getlist"):
            return [str(v)[:MAX_TEXT].strip() for v in self.args.getlist(name)]
        value = self.args.get(name)
        if value is None:
            return []
        return [str(v)[:MAX_TEXT].strip() for v in (value if isinstance(value, list) else [value])]


def parse_filters(args: Mapping[str, Any]) -> tuple[CustomerFilters, list[str]]:
    """Filters from URL arguments (a Werkzeug MultiDict or a plain dict).

    Nonsense values are ignored, each with a notice for the user.
    """
    notices: list[str] = []
    values: dict[str, Any] = {}
    read = _Args(args)
    _where_and_how(read, values, notices)
    _ranges(read, values, notices)
    _choices(read, values, notices)
    return CustomerFilters(**values), notices


def _where_and_how(read: _Args, values: dict[str, Any], notices: list[str]) -> None:
    """Location, login channel, tags, province and postal code."""
    if raw := read.get("location"):
        values["location"] = _int(raw, 1, 2**31)
        if values["location"] is None:
            notices.append(_("Ignored the location filter: “%(v)s” is not a location.", v=raw))
    if raw := read.get("channel"):
        if raw in CHANNELS or raw == "import":  # "import": customers an import added or merged
            values["channel"] = raw
        else:
            notices.append(_("Ignored the login channel filter: “%(v)s” is unknown.", v=raw))
    tags = [t for t in dict.fromkeys(read.getlist("tag")) if t]
    if len(tags) > MAX_TAGS:
        notices.append(_("Only the first %(n)s tags are used.", n=MAX_TAGS))
    values["tags"] = tuple(t[:50] for t in tags[:MAX_TAGS])
    if raw := read.get("tag_mode"):
        if raw in ("any", "all"):
            values["tag_mode"] = raw
        else:
            notices.append(_("Ignored the tag match “%(v)s”; showing any of the tags.", v=raw))
    if raw := read.get("province"):
        values["province"] = raw[:MAX_TEXT]
    if raw := read.get("postal"):
        if re.fullmatch(r"[0-9A-Za-z \-]{1,20}", raw):
            values["postal"] = raw
        else:
            notices.append(_("Ignored the postal code “%(v)s”.", v=raw[:20]))


def _ranges(read: _Args, values: dict[str, Any], notices: list[str]) -> None:
    """Dates and visit counts (a range written the wrong way round is swapped)."""
    for key in ("updated_from", "updated_to", "new_from", "seen_from"):
        if raw := read.get(key):
            values[key] = _date(raw)
            if values[key] is None:
                notices.append(_("Ignored the date “%(v)s”: write it like 2026-11-25.", v=raw[:20]))
    if values.get("updated_from") and values.get("updated_to"):
        if values["updated_from"] > values["updated_to"]:
            values["updated_from"], values["updated_to"] = (
                values["updated_to"],
                values["updated_from"],
            )
            notices.append(_("The dates were the wrong way round; they were swapped."))
    for key in ("visits_min", "visits_max"):
        if raw := read.get(key):
            values[key] = _int(raw, 0, MAX_VISITS)
            if values[key] is None:
                notices.append(_("Ignored the visit count “%(v)s”: not a number.", v=raw[:20]))
    lo, hi = values.get("visits_min"), values.get("visits_max")
    if lo is not None and hi is not None and lo > hi:
        values["visits_min"], values["visits_max"] = hi, lo
        notices.append(_("The visit counts were the wrong way round; they were swapped."))


def _choices(read: _Args, values: dict[str, Any], notices: list[str]) -> None:
    """Group, consent, follows, the search text, the sort and the page cursor."""
    if raw := read.get("group"):
        if raw == "none":
            values["group"] = "none"
        elif (group := _int(raw, 1, 2**31)) is not None:
            values["group"] = group
        else:
            notices.append(_("Ignored the group filter: “%(v)s” is not a group.", v=raw[:20]))
    if raw := read.get("follows"):
        if raw in ("line", "zalo"):
            values["follows"] = raw
        else:
            notices.append(_("Ignored the follower filter: “%(v)s” is unknown.", v=raw[:20]))
    if raw := read.get("consent"):
        if raw in ("marketing", "no_marketing"):
            values["consent"] = raw
        else:
            notices.append(_("Ignored the consent filter: “%(v)s” is unknown.", v=raw[:20]))
    if raw := read.get("q"):
        values["q"] = raw[:MAX_TEXT]
    if raw := read.get("sort"):
        if raw in SORTS:
            values["sort"] = raw
        else:
            notices.append(_("Unknown sort “%(v)s”; sorted by last visit.", v=raw[:20]))
    if raw := read.get("after"):
        if decode_cursor(raw, values.get("sort", DEFAULT_SORT)) is not None:
            values["after"] = raw
        else:
            notices.append(_("The page link was damaged; showing the first page."))


# --- cursors -----------------------------------------------------------------


def encode_cursor(phase: int, value: Any, customer_id: int) -> str:
    if isinstance(value, datetime):
        value = ["dt", value.isoformat()]
    elif isinstance(value, Decimal):
        value = ["dec", str(value)]
    raw = json.dumps([phase, value, customer_id], separators=(",", ":"), ensure_ascii=False)
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


_CURSOR_KINDS: dict[str, tuple[type, ...]] = {
    "visits": (int,),
    "visits_asc": (int,),
    "last_visit": (datetime,),
    "spend": (Decimal, int),
    "spend_desc": (Decimal, int),
    "name": (str,),
}
MAX_ID = 2**31 - 1  # an Integer column


def _cursor_value(value: Any) -> Any:
    """The sort key a cursor carries, or raise ValueError when it is not a real one."""
    if isinstance(value, list) and len(value) == 2 and value[0] == "dt":
        when = datetime.fromisoformat(str(value[1]))
        if when.tzinfo is None or not 1900 <= when.astimezone(UTC).year <= 2200:
            raise ValueError("a cursor time needs a zone and a sane year")
        return when
    if isinstance(value, list) and len(value) == 2 and value[0] == "dec":
        amount = Decimal(str(value[1]))
        if not amount.is_finite() or abs(amount) >= Decimal(10) ** 14:
            raise ValueError("a cursor amount out of range")
        return amount
    if isinstance(value, bool) or isinstance(value, float):
        raise ValueError("no float or boolean is a sort key")
    if isinstance(value, int) and abs(value) > MAX_ID:
        raise ValueError("a cursor count out of range")
    if isinstance(value, str) and (len(value) > 200 or "\x00" in value):
        raise ValueError("a cursor name out of range")
    if value is not None and not isinstance(value, int | str):
        raise ValueError("not a sort key")
    return value


def decode_cursor(text: str, sort: str | None = None) -> tuple[int, Any, int] | None:
    """(phase, sort key, customer id) of a page link, or None when it was damaged or
    crafted: a key that no sort has (NaN, infinity, a float, a time without zone, a
    huge number) or, given `sort`, not that sort's kind."""
    try:
        raw = base64.urlsafe_b64decode(text[:1000] + "=" * (-len(text[:1000]) % 4))
        phase, value, customer_id = json.loads(raw)
        value = _cursor_value(value)
    except (ValueError, TypeError, ArithmeticError, OverflowError):
        return None
    if phase not in (1, 2) or isinstance(customer_id, bool) or not isinstance(customer_id, int):
        return None
    if not 0 <= customer_id <= MAX_ID:
        return None
    if sort is not None and value is not None:
        kinds = _CURSOR_KINDS.get(sort, ())
        if not isinstance(value, kinds) or (phase == 2 and value is not None):
            return None
    return phase, value, customer_id
