"""Which customers an export holds, fetched in id-keyset batches (memory flat in rows).

The set is the customer list's own query (`customer_query.build_customer_query`)
with the requester's location scope, so "all rows matching the filters" is
exactly the list; "selected" further keeps only the ticked ids.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any
from urllib.parse import parse_qs

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from porchlight.admin import schema
from porchlight.admin.customer_query import (
    CustomerFilters,
    build_customer_query,
    count_query,
    parse_filters,
)

BATCH = 2000
SCOPES = ("selected", "filtered", "all")


def filters_from_query_string(query_string: str) -> CustomerFilters:
    args: dict[str, Any] = {k: v if len(v) > 1 else v[0] for k, v in parse_qs(query_string).items()}
    filters, _notices = parse_filters(args)
    return filters


def export_query(
    tenant_id: int,
    scope: str,
    *,
    filters: CustomerFilters | None,
    ids: Sequence[int] | None,
    location_scope: Sequence[int] | None,
    region: str,
) -> sa.Select[Any]:
    """The unordered SELECT of the customer ids to export."""
    chosen = filters if scope == "filtered" and filters is not None else CustomerFilters()
    listed = build_customer_query(
        chosen, tenant_id, location_scope, region=region, ordered=False
    ).subquery("listed")
    # The list's query selects ids from customers or, for one location, from
    # customer_locations: select from it as a subquery so the id filters below
    # work on either.
    query = sa.select(listed.c.id)
    if scope == "selected":
        query = query.where(listed.c.id.in_(list(ids or [])[:100_000]))
    return query


def count(conn: Connection, query: sa.Select[Any]) -> int:
    return int(conn.execute(count_query(query)).scalar() or 0)


def batches(conn: Connection, query: sa.Select[Any]) -> Iterator[list[tuple[Any, ...]]]:
    """Customer rows (`columns.FIELDS`: with tags, group, consents), BATCH at a time."""
    id_col = query.selected_columns[0]
    last = 0
    while True:
        page = query.where(id_col > last).order_by(id_col).limit(BATCH)
        ids = list(conn.execute(page).scalars().all())
        if not ids:
            return
        last = ids[-1]
        yield details(conn, ids)


def _among(column: Any, ids: list[int]) -> Any:
    """`column IN ids`, or a range when the ids are dense (far cheaper to send and plan)."""
    if len(ids) > 50 and len(ids) * 2 > ids[-1] - ids[0] + 1:
        return column.between(ids[0], ids[-1])
    return column.in_(ids)


def details(conn: Connection, ids: list[int]) -> list[tuple[Any, ...]]:
    """Export fields (`columns.FIELDS` order) of `ids` (sorted ascending), in id order."""
    c, g, ct, t = schema.customers, schema.groups, schema.customer_tags, schema.tags
    wanted = set(ids)
    tag_list = (
        sa.select(sa.func.aggregate_strings(t.c.name, ", "))
        .select_from(ct.join(t, t.c.id == ct.c.tag_id))
        .where(ct.c.customer_id == c.c.id)
        .scalar_subquery()
    )
    query = (
        sa.select(
            c.c.id,
            c.c.external_code,
            c.c.name,
            c.c.phone,
            c.c.email,
            g.c.name.label("group"),
            c.c.visit_count,
            c.c.first_visit_at,
            c.c.last_visit_at,
            c.c.last_channel,
            c.c.spend_total,
            c.c.province,
            c.c.postal_code,
            c.c.address,
            c.c.birthday,
            c.c.gender,
            c.c.notes,
            tag_list.label("tags"),
            _latest_consent("wifi").label("consent_wifi"),
            _latest_consent("marketing").label("consent_marketing"),
        )
        .select_from(c.outerjoin(g, g.c.id == c.c.group_id))
        .where(_among(c.c.id, ids))
        .order_by(c.c.id)
    )
    out = []
    for found in conn.execute(query).all():
        row: tuple[Any, ...] = tuple(found)
        if row[0] not in wanted:
            continue
        tags = row[-3]
        if tags and ", " in tags:  # the aggregate's order is the database's whim
            tags = ", ".join(sorted(tags.split(", "), key=str.casefold))
            row = (*row[:-3], tags, *row[-2:])
        out.append(row)
    return out


def _latest_consent(purpose: str) -> Any:
    """The customer's latest answer for `purpose` (None if never asked)."""
    co, c = schema.consents, schema.customers
    return (
        sa.select(co.c.granted)
        .where(co.c.customer_id == c.c.id, co.c.purpose == purpose)
        .order_by(co.c.given_at.desc(), co.c.id.desc())
        .limit(1)
        .scalar_subquery()
    )
