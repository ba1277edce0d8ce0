"""Customer list filters -> one SQL query.

`build_customer_query(...)` is a pure function from `CustomerFilters`
(parsed from the URL by `porchlight.admin.customers.filters.parse_filters`) to
a SQLAlchemy ``Select`` of customer ids (with the sort key), used by the list
page and by the exporter.

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

import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from porchlight.admin import schema
from porchlight.admin.customers.filters import CustomerFilters, decode_cursor
from porchlight.admin.customers.follows import follows_condition
from porchlight.admin.customers.link_filters import (
    channel_condition,
    channel_ids,
    tag_conditions,
    tag_ids,
)
from porchlight.admin.customers.search_plan import (
    MIN_INDEXED,
    SearchHits,
    fts_match,
    like_pattern,
    row_check,
    search_doc_column,
    search_fts,
)
from porchlight.admin.customers.search_text import fold
from porchlight.admin.privacy.consent_state import consent_condition
from porchlight.phones import try_normalize_phone

log = logging.getLogger(__name__)


c = schema.customers
cl = schema.customer_locations


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
    if sort == "visits_asc":  # the fewest visits first
        if location_mode:
            return SortPlan(cl.c.visit_count, cl.c.customer_id, False, False, True)
        return SortPlan(c.c.visit_count, c.c.id, False, False, False)
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


_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def _exact_phone(q: str) -> bool:
    digits = re.sub(r"\D", "", q)
    return len(digits) >= 8 and not re.search(r"[^\d\s.+\-()]", q)


def is_exact_lookup(q: str) -> bool:
    """Search text that hits the phone or e-mail index (a handful of rows)."""
    return bool(_EMAIL.match(q.strip())) or _exact_phone(q)


# SQLite's search index (migration 0009): an FTS5 trigram table of folded
# documents (admin/customers/search_text.py), kept by triggers; not in schema.py
# (``search_fts``, with the search's plan, in admin/customers/search_plan.py).


def uses_name_index(q: str | None, dialect: str | None, hits: SearchHits | None = None) -> bool:
    """Whether the search index drives the query (the tenant's indexes hidden):
    SQLite's ``customers_search_fts`` (or the ids it found), PostgreSQL's trigram
    index when `hits` says few match; else customers are checked row by row."""
    if not q or is_exact_lookup(q) or (hits is not None and hits.dense):
        return False
    if dialect == "postgresql" and hits is None:  # the planner chooses (counts, exports)
        return False
    return dialect in ("sqlite", "postgresql") and len(search_key(q)) >= MIN_INDEXED


def search_key(q: str) -> str:
    """What a free-text search looks for in the folded documents: the folded text,
    or the digits alone when `q` is part of a number ("8509", "0912 345")."""
    if not re.search(r"[^\d\s.+\-()]", q) and re.search(r"\d", q):
        return re.sub(r"\D", "", q)
    return fold(q)


def text_condition(
    q: str,
    region: str = "VN",
    dialect: str | None = None,
    tenant_id: int | None = None,
    hits: SearchHits | None = None,
) -> sa.ColumnElement[bool]:
    """Free text as people type it: a whole phone (any form) or e-mail exactly, else a
    part of the folded name, e-mail, POS code or national phone (``nguyen`` finds
    Nguyễn, ``d`` finds đ, ``8509`` a phone's last digits or guest8509@...).

    SQLite joins ``customers_search_fts`` for 3+ characters (trigram), or takes
    `hits` (admin/customers/search_plan.py: the ids it found, or dense: check each
    row's stored document); PostgreSQL its GIN-indexed ``search_doc`` column
    (migration 0014: ``pl_search_doc`` stored), which the planner walks along the
    sort index or looks up in the trigram index as the numbers say; shorter text
    is checked row by row.
    """
    if _exact_phone(q):
        phone = try_normalize_phone(q, region)
        if phone:
            return c.c.phone == phone
    if _EMAIL.match(q.strip()):
        return c.c.email == q.strip().lower()
    key = search_key(q)
    like = like_pattern(key)
    if dialect == "sqlite":
        if hits is not None and hits.ids is not None and len(key) >= MIN_INDEXED:
            return hits.id_condition(c.c.id)
        if len(key) >= MIN_INDEXED and (hits is None or not hits.dense):
            # a join (not IN): a count or an export streams the matches, never
            # materializing 400,000 ids first
            return sa.and_(search_fts.c.rowid == c.c.id, fts_match(key))
        return row_check(key, c.c.id)
    if dialect == "postgresql":  # the stored document (migration 0014), GIN-indexed
        # (dense: the planner walks the sort index by itself, from its statistics on the
        # column; hiding the column behind coalesce() made it sort the whole table: 425 ms)
        return search_doc_column().like(like, escape="\\")
    # No dialect given: each row folded again (either database).
    doc = sa.func.pl_search_doc(c.c.name, c.c.email, c.c.external_code, c.c.phone)
    return doc.like(like, escape="\\")


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
    hits: SearchHits | None = None,
    ids_only: bool = False,
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
    ``dialect.name``) lets SQLite search names in its FTS5 index; `hits`, the
    list page's search resolved beforehand (`search_plan.sqlite_hits`).
    `ids_only` (with `ordered` False): the caller reads ``id`` alone (a count,
    an export), so a query may leave ``customers`` out (``sort_key`` NULL).
    """
    zone = zone or tenant_zone(region)
    location, scope = _location_in_scope(filters.location, visible_location_ids)
    location_mode = location is not None
    plan = sort_plan(filters.sort, location_mode)

    # SQLite only: PostgreSQL, its statistics hidden by coalesce(), read or sorted the whole
    # tenant (1M: province + group + spend 261 -> 9.5 ms, location + channel + visits 327 -> 0.7)
    hide = walk_sort_index and ordered and dialect != "postgresql"
    hide = hide and not (filters.q and is_exact_lookup(filters.q))

    def col(column: Any) -> Any:
        if hide and column is not plan.key:
            return sa.func.coalesce(column, column)  # same value, no index
        return column

    conds, loc_conds = _conditions(
        filters, tenant_id, location, col, zone, region, dialect, hits, counting=not ordered
    )
    alone = not loc_conds and scope is None and ids_only and not ordered
    if filters.channel and alone and len(conds) == 2:
        return channel_ids(tenant_id, filters.channel)  # alone: its index alone (0017)
    tag_conds = len(tag_conditions(filters, tenant_id, dialect)) if filters.tags else 0
    if filters.tags and alone and len(conds) == 1 + tag_conds:
        return tag_ids(filters, tenant_id)  # the tags alone: customer_tags alone
    query = _select_ids(plan, conds, loc_conds, location, scope, tenant_id, ordered)
    if not ordered:
        return query
    return _page(query, plan, filters.after, limit)


def _location_in_scope(
    location: int | None, visible_location_ids: Sequence[int] | None
) -> tuple[int | None, list[int] | None]:
    """(the location filter, the user's locations) as the query applies them."""
    scope = list(visible_location_ids) if visible_location_ids is not None else None
    if scope is not None and location is None and len(scope) == 1:
        location = scope[0]  # a one-location manager sees that location's numbers
    if scope is not None and location is not None and location not in scope:
        location, scope = -1, [-1]  # not theirs: nothing at all
    return location, scope


def _conditions(
    filters: CustomerFilters,
    tenant_id: int,
    location: int | None,
    col: Callable[[Any], Any],
    zone: ZoneInfo,
    region: str,
    dialect: str | None,
    hits: SearchHits | None = None,
    counting: bool = False,
) -> tuple[list[sa.ColumnElement[bool]], list[sa.ColumnElement[bool]]]:
    """The filters as conditions on customers and on customer_locations (a location's list)."""
    location_mode = location is not None
    # A name looked up in SQLite's FTS index: let the matches drive the query
    # (hide the tenant's indexes, which would walk every customer to find
    # none: 290 ms at 200,000 customers) and sort them.
    by_name = uses_name_index(filters.q, dialect, hits)
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
    if filters.channel:  # in a location's list, on its rows: no need to join customers
        (loc_conds if location_mode else conds).append(
            channel_condition(
                tenant_id, filters.channel, cl.c.customer_id if location_mode else c.c.id, dialect
            )
        )
    if filters.tags:
        conds.extend(tag_conditions(filters, tenant_id, dialect))
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
    for since, returning in ((filters.new_from, False), (filters.seen_from, True)):
        if since is not None:  # the dashboard's new / returning customers (per location too)
            start = datetime.combine(since, time(), zone)
            table = cl if location_mode else c
            first, last = col(table.c.first_visit_at), col(table.c.last_visit_at)
            where = loc_conds if location_mode else conds
            where.extend([last >= start, first < start] if returning else [first >= start])
    if filters.group == "none":
        conds.append(c.c.group_id.is_(None))
    elif filters.group is not None:
        conds.append(col(c.c.group_id) == filters.group)
    if filters.q:
        conds.append(text_condition(filters.q, region, dialect, tenant_id, hits))
    if (follows := follows_condition(filters.follows, c.c.id)) is not None:
        conds.append(follows)
    if (consent := consent_condition(filters.consent, c.c.id)) is not None:
        conds.append(consent)
    if counting and filters.channel and len(conds) == 2 and not location_mode:  # channel alone
        conds[1] = channel_condition(tenant_id, filters.channel, c.c.id, dialect, alone=True)
    return conds, loc_conds


def _select_ids(
    plan: SortPlan,
    conds: list[sa.ColumnElement[bool]],
    loc_conds: list[sa.ColumnElement[bool]],
    location: int | None,
    scope: list[int] | None,
    tenant_id: int,
    ordered: bool,
) -> sa.Select[Any]:
    """Customer ids and sort keys, from customer_locations when a location's numbers decide."""
    location_mode = location is not None
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
    return query


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


def second_phase(
    query_without_order: sa.Select[Any], plan: SortPlan, limit: int, by_name: bool = False
) -> sa.Select[Any]:
    """Page 1 of the never-visited customers (after the last visited one). `by_name`:
    the search index drives (the sort index would be walked through every
    never-visited customer: 98 ms for none at a million)."""
    key = sa.func.coalesce(plan.key, plan.key) if by_name else plan.key
    query = query_without_order.where(key.is_(None)).order_by(plan.id_col.desc())
    return query.limit(limit)


def count_query(query_without_order: sa.Select[Any]) -> sa.Select[Any]:
    return sa.select(sa.func.count()).select_from(query_without_order.subquery())
