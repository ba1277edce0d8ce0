"""Customer list filters: URL arguments -> `CustomerFilters` -> one SQL query.

`parse_filters(args)` never raises: a value that makes no sense is dropped
and a notice (in the user's language) says so. `build_customer_query(...)`
is a pure function from filters to a SQLAlchemy ``Select`` of customer ids
(with the sort key), used by the list page and by the exporter.

Speed at a million customers comes from walking an index in sort order and
stopping after one page (keyset pagination, no OFFSET):

- no location filter: ``customers`` in the order of
  ``ix_customers_tenant_<sort>``; the other filters are cheap per-row checks
  (EXISTS on the primary keys of ``customer_channels``/``customer_tags``/
  ``customer_locations``);
- a location filter with sort by visits or last visit: the per-location
  counters in ``customer_locations`` (``ix_customer_locations_loc_*``).

``last_visit_at`` can be NULL (imported customers who never came): those
come after every visited customer, in a second phase of the same cursor.
"""

from __future__ import annotations

import base64
import json
import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask_babel import gettext as _

from porchlight.admin import schema
from porchlight.events import CHANNELS
from porchlight.phones import try_normalize_phone

log = logging.getLogger(__name__)

SORTS = ("last_visit", "visits", "spend", "spend_desc", "name")
DEFAULT_SORT = "last_visit"
MAX_TAGS = 10
MAX_TEXT = 100
MAX_VISITS = 10_000_000

c = schema.customers
cl = schema.customer_locations


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
    visits_min: int | None = None
    visits_max: int | None = None
    group: int | str | None = None  # a group id, or "none"
    q: str | None = None
    sort: str = DEFAULT_SORT
    after: str | None = field(default=None, compare=False)  # keyset cursor

    def is_filtered(self) -> bool:
        empty = CustomerFilters(sort=self.sort)
        return replace(self, after=None) != empty

    def to_args(self, **changes: Any) -> dict[str, Any]:
        """URL arguments for these filters (empty ones left out)."""
        data = asdict(replace(self, **changes))
        out: dict[str, Any] = {}
        for key, value in data.items():
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


def _int(raw: str, low: int, high: int) -> int | None:
    raw = raw.strip()
    if not re.fullmatch(r"\d{1,12}", raw):
        return None
    value = int(raw)
    return value if low <= value <= high else None


def _date(raw: str) -> date | None:
    try:
        return date.fromisoformat(raw.strip()[:10])
    except ValueError:
        return None


def parse_filters(args: Mapping[str, Any]) -> tuple[CustomerFilters, list[str]]:
    """Filters from URL arguments (a Werkzeug MultiDict or a plain dict).

    Nonsense values are ignored, each with a notice for the user.
    """
    notices: list[str] = []

    def get(name: str) -> str:
        value = args.get(name)
        return "" if value is None else str(value)[: MAX_TEXT * 2].strip()

    def getlist(name: str) -> list[str]:
        if hasattr(args, "getlist"):
            return [str(v)[:MAX_TEXT].strip() for v in args.getlist(name)]
        value = args.get(name)
        if value is None:
            return []
        return [str(v)[:MAX_TEXT].strip() for v in (value if isinstance(value, list) else [value])]

    values: dict[str, Any] = {}
    if raw := get("location"):
        values["location"] = _int(raw, 1, 2**31)
        if values["location"] is None:
            notices.append(_("Ignored the location filter: “%(v)s” is not a location.", v=raw))
    if raw := get("channel"):
        if raw in CHANNELS:
            values["channel"] = raw
        else:
            notices.append(_("Ignored the login channel filter: “%(v)s” is unknown.", v=raw))
    tags = [t for t in dict.fromkeys(getlist("tag")) if t]
    if len(tags) > MAX_TAGS:
        notices.append(_("Only the first %(n)s tags are used.", n=MAX_TAGS))
    values["tags"] = tuple(t[:50] for t in tags[:MAX_TAGS])
    if raw := get("tag_mode"):
        if raw in ("any", "all"):
            values["tag_mode"] = raw
        else:
            notices.append(_("Ignored the tag match “%(v)s”; showing any of the tags.", v=raw))
    if raw := get("province"):
        values["province"] = raw[:MAX_TEXT]
    if raw := get("postal"):
        if re.fullmatch(r"[0-9A-Za-z \-]{1,20}", raw):
            values["postal"] = raw
        else:
            notices.append(_("Ignored the postal code “%(v)s”.", v=raw[:20]))
    for key in ("updated_from", "updated_to"):
        if raw := get(key):
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
        if raw := get(key):
            values[key] = _int(raw, 0, MAX_VISITS)
            if values[key] is None:
                notices.append(_("Ignored the visit count “%(v)s”: not a number.", v=raw[:20]))
    lo, hi = values.get("visits_min"), values.get("visits_max")
    if lo is not None and hi is not None and lo > hi:
        values["visits_min"], values["visits_max"] = hi, lo
        notices.append(_("The visit counts were the wrong way round; they were swapped."))
    if raw := get("group"):
        if raw == "none":
            values["group"] = "none"
        elif (group := _int(raw, 1, 2**31)) is not None:
            values["group"] = group
        else:
            notices.append(_("Ignored the group filter: “%(v)s” is not a group.", v=raw[:20]))
    if raw := get("q"):
        values["q"] = raw[:MAX_TEXT]
    if raw := get("sort"):
        if raw in SORTS:
            values["sort"] = raw
        else:
            notices.append(_("Unknown sort “%(v)s”; sorted by last visit.", v=raw[:20]))
    if raw := get("after"):
        if decode_cursor(raw) is not None:
            values["after"] = raw
        else:
            notices.append(_("The page link was damaged; showing the first page."))
    return CustomerFilters(**values), notices


# --- cursors -----------------------------------------------------------------


def encode_cursor(phase: int, value: Any, customer_id: int) -> str:
    if isinstance(value, datetime):
        value = ["dt", value.isoformat()]
    elif isinstance(value, Decimal):
        value = ["dec", str(value)]
    raw = json.dumps([phase, value, customer_id], separators=(",", ":"), ensure_ascii=False)
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(text: str) -> tuple[int, Any, int] | None:
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        phase, value, customer_id = json.loads(raw)
        if isinstance(value, list) and len(value) == 2 and value[0] == "dt":
            value = datetime.fromisoformat(value[1])
        elif isinstance(value, list) and len(value) == 2 and value[0] == "dec":
            value = Decimal(value[1])
        if phase not in (1, 2) or not isinstance(customer_id, int):
            return None
        if value is not None and not isinstance(value, int | float | str | datetime | Decimal):
            return None
        return phase, value, customer_id
    except (ValueError, TypeError):
        return None


# --- the query ---------------------------------------------------------------


@dataclass(frozen=True)
class SortPlan:
    key: sa.ColumnElement[Any]  # the sort column
    id_col: sa.ColumnElement[Any]  # the tie-breaker
    descending: bool
    nullable: bool
    by_location: bool  # walk customer_locations instead of customers


def sort_plan(sort: str, location_mode: bool) -> SortPlan:
    if sort == "visits":
        if location_mode:
            return SortPlan(cl.c.visit_count, cl.c.customer_id, True, False, True)
        return SortPlan(c.c.visit_count, c.c.id, True, False, False)
    if sort == "last_visit":
        if location_mode:
            return SortPlan(cl.c.last_visit_at, cl.c.customer_id, True, True, True)
        return SortPlan(c.c.last_visit_at, c.c.id, True, True, False)
    if sort == "spend":
        return SortPlan(c.c.spend_total, c.c.id, False, False, False)
    if sort == "spend_desc":
        return SortPlan(c.c.spend_total, c.c.id, True, False, False)
    return SortPlan(c.c.name, c.c.id, False, False, False)


def tenant_zone(country: str | None) -> ZoneInfo:
    return ZoneInfo("Asia/Bangkok" if country == "TH" else "Asia/Ho_Chi_Minh")


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def is_exact_lookup(q: str) -> bool:
    """Search text that hits the phone or e-mail index (a handful of rows)."""
    return "@" in q or len(re.sub(r"\D", "", q)) >= 4


# SQLite's name-search index (migration 0004): an FTS5 trigram table over
# customers.name, kept by triggers; not in schema.py's metadata.
name_fts = sa.table("customers_name_fts", sa.column("customers_name_fts"), sa.column("rowid"))


def fts_phrase(q: str) -> str:
    """`q` as one FTS5 phrase: its syntax (``*``, ``OR``, ``NEAR(``, ``-``) is plain text."""
    return '"' + q.replace('"', '""') + '"'


def uses_name_index(q: str | None, dialect: str | None) -> bool:
    """Whether `text_condition` looks `q` up in SQLite's ``customers_name_fts``."""
    if dialect != "sqlite" or not q or len(q) < 3 or "@" in q:
        return False
    digits = re.sub(r"\D", "", q)
    return not (len(digits) >= 4 and not re.search(r"[^\d\s.+\-()]", q))


def text_condition(
    q: str, region: str = "VN", dialect: str | None = None, tenant_id: int | None = None
) -> sa.ColumnElement[bool]:
    """Free text: a phone in any form, an e-mail, else part of the name.

    On SQLite (`dialect` "sqlite") a name part of 3 or more characters is
    looked up in ``customers_name_fts`` (trigram: substring, case folded)
    instead of reading every name with ``lower(name) LIKE``; with
    `tenant_id` the external code is looked up in its index in the same
    ``id IN (...)``, so the matches alone drive the query.
    """
    digits = re.sub(r"\D", "", q)
    looks_like_number = len(digits) >= 4 and not re.search(r"[^\d\s.+\-()]", q)
    if looks_like_number and len(digits) >= 8:
        phone = try_normalize_phone(q, region)
        if phone:
            return c.c.phone == phone
    if "@" in q:
        return c.c.email == q.lower()
    if looks_like_number:
        # Part of a number: match those digits anywhere in the stored E.164.
        return c.c.phone.like(f"%{digits.lstrip('0')}%")
    if uses_name_index(q, dialect):
        by_name = sa.select(name_fts.c.rowid).where(
            name_fts.c.customers_name_fts.match(fts_phrase(q))
        )
        if tenant_id is None:
            return sa.or_(c.c.id.in_(by_name), c.c.external_code == q)
        c2 = c.alias("by_code")
        by_code = sa.select(c2.c.id).where(c2.c.tenant_id == tenant_id, c2.c.external_code == q)
        return c.c.id.in_(sa.union_all(by_name, by_code))
    return sa.or_(
        sa.func.lower(c.c.name).like(f"%{_like_escape(q.lower())}%", escape="\\"),
        c.c.external_code == q,
    )


def build_customer_query(
    filters: CustomerFilters,
    tenant_id: int,
    visible_location_ids: Sequence[int] | None,
    *,
    region: str = "VN",
    zone: ZoneInfo | None = None,
    limit: int | None = None,
    ordered: bool = True,
    walk_sort_index: bool = False,
    dialect: str | None = None,
) -> sa.Select[Any]:
    """SELECT customer ids (``id``) and the sort key (``sort_key``), filtered.

    ``sort_key`` is meaningful only when `ordered`.

    `visible_location_ids` is None for users who see the whole tenant
    (owner, viewer) and the manager's location ids otherwise. `limit` and
    ``filters.after`` make one keyset page; `ordered=False` leaves out
    ORDER BY (for counting or exporting in id order). `walk_sort_index`
    hides the filter columns' own indexes from the planner (SQLite would
    rather range-scan a filter's index and sort everything than walk the
    sort index and stop after one page). `dialect` (the engine's
    ``dialect.name``) lets SQLite search names in its FTS5 index.
    """
    zone = zone or tenant_zone(region)
    location = filters.location
    scope = list(visible_location_ids) if visible_location_ids is not None else None
    if scope is not None and location is None and len(scope) == 1:
        location = scope[0]  # a one-location manager sees that location's numbers
    if scope is not None and location is not None and location not in scope:
        location, scope = -1, [-1]  # not theirs: nothing at all
    location_mode = location is not None
    plan = sort_plan(filters.sort, location_mode)

    hide = walk_sort_index and ordered and not (filters.q and is_exact_lookup(filters.q))

    def col(column: Any) -> Any:
        if hide and column is not plan.key:
            return sa.func.coalesce(column, column)  # same value, no index
        return column

    # A name looked up in SQLite's FTS index: let the matches drive the query
    # (hide the tenant's indexes, which would walk every customer to find
    # none: 290 ms at 200,000 customers) and sort them.
    by_name = uses_name_index(filters.q, dialect)
    tenant_col = sa.func.coalesce(c.c.tenant_id, c.c.tenant_id) if by_name else c.c.tenant_id
    conds: list[sa.ColumnElement[bool]] = [tenant_col == tenant_id]
    loc_conds: list[sa.ColumnElement[bool]] = []
    if location is not None:
        loc_conds.append(cl.c.location_id == location)
    if filters.visits_min is not None:
        (loc_conds if location_mode else conds).append(
            col(cl.c.visit_count if location_mode else c.c.visit_count) >= filters.visits_min
        )
    if filters.visits_max is not None:
        (loc_conds if location_mode else conds).append(
            col(cl.c.visit_count if location_mode else c.c.visit_count) <= filters.visits_max
        )
    if filters.channel:
        cc = schema.customer_channels
        conds.append(sa.exists().where(cc.c.customer_id == c.c.id, cc.c.channel == filters.channel))
    if filters.tags:
        ct, t = schema.customer_tags, schema.tags
        if filters.tag_mode == "all":
            for name in filters.tags:
                tag_id = (
                    sa.select(t.c.id)
                    .where(t.c.tenant_id == tenant_id, t.c.name == name)
                    .scalar_subquery()
                )
                conds.append(sa.exists().where(ct.c.customer_id == c.c.id, ct.c.tag_id == tag_id))
        else:
            tag_ids = sa.select(t.c.id).where(
                t.c.tenant_id == tenant_id, t.c.name.in_(filters.tags)
            )
            conds.append(sa.exists().where(ct.c.customer_id == c.c.id, ct.c.tag_id.in_(tag_ids)))
    if filters.province:
        conds.append(col(c.c.province) == filters.province)
    if filters.postal:
        conds.append(c.c.postal_code.like(f"{_like_escape(filters.postal)}%", escape="\\"))
    if filters.updated_from:
        start = datetime.combine(filters.updated_from, time(), zone)
        conds.append(col(c.c.updated_at) >= start)
    if filters.updated_to:
        end = datetime.combine(filters.updated_to + timedelta(days=1), time(), zone)
        conds.append(col(c.c.updated_at) < end)
    if filters.group == "none":
        conds.append(c.c.group_id.is_(None))
    elif filters.group is not None:
        conds.append(col(c.c.group_id) == filters.group)
    if filters.q:
        conds.append(text_condition(filters.q, region, dialect, tenant_id))

    if plan.by_location or (location_mode and not ordered):
        if len(conds) > 1:
            source: Any = cl.join(c, c.c.id == cl.c.customer_id)
        else:  # only the tenant to check: ask the location once, not every row
            source = cl
            loc = schema.locations
            conds = [sa.exists().where(loc.c.id == location, loc.c.tenant_id == tenant_id)]
        key = plan.key if plan.by_location else cl.c.last_visit_at  # unordered: any key
        query = (
            sa.select(cl.c.customer_id.label("id"), key.label("sort_key"))
            .select_from(source)
            .where(*loc_conds, *conds)
        )
    else:
        query = sa.select(c.c.id.label("id"), plan.key.label("sort_key")).where(*conds)
        if location_mode:
            query = query.where(sa.exists().where(cl.c.customer_id == c.c.id, *loc_conds))
        elif scope is not None:
            query = query.where(
                sa.exists().where(cl.c.customer_id == c.c.id, cl.c.location_id.in_(scope))
            )
    if not ordered:
        return query
    return _page(query, plan, filters.after, limit)


def _page(
    query: sa.Select[Any], plan: SortPlan, after: str | None, limit: int | None
) -> sa.Select[Any]:
    cursor = decode_cursor(after) if after else None
    phase, value, last_id = cursor if cursor else (1, None, None)
    key, id_col = plan.key, plan.id_col
    if plan.nullable and phase == 2:
        # Customers who never visited, after all the others, newest first.
        query = query.where(key.is_(None))
        if last_id is not None:
            query = query.where(id_col < last_id)
        query = query.order_by(id_col.desc())
    else:
        if plan.nullable:
            query = query.where(key.is_not(None))
        if last_id is not None and value is not None:
            row = sa.tuple_(key, id_col)
            query = query.where(
                row < (value, last_id) if plan.descending else row > (value, last_id)
            )
        query = query.order_by(*((key.desc(), id_col.desc()) if plan.descending else (key, id_col)))
    if limit is not None:
        query = query.limit(limit)
    return query


def second_phase(query_without_order: sa.Select[Any], plan: SortPlan, limit: int) -> sa.Select[Any]:
    """Page 1 of the never-visited customers (after the last visited one)."""
    query = query_without_order.where(plan.key.is_(None)).order_by(plan.id_col.desc())
    return query.limit(limit)


def count_query(query_without_order: sa.Select[Any]) -> sa.Select[Any]:
    return sa.select(sa.func.count()).select_from(query_without_order.subquery())
