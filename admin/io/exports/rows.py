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
from porchlight.admin.customers.filters import CustomerFilters, parse_filters
from porchlight.admin.customers.follows import newest_follow_answers
from porchlight.admin.customers.query import build_customer_query, count_query
from porchlight.admin.privacy.consent_state import current_consent, granted_versions

BATCH = 2000
SCOPES = ("selected", "filtered", "all")
PURPOSES = ("marketing",)  # an export "for marketing": current marketing consent only


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
    dialect: str | None = None,
    purpose: str | None = None,
) -> sa.Select[Any]:
    """The unordered SELECT of the customer ids to export.

    `purpose` "marketing" keeps only customers whose newest marketing answer is a yes.
    """
    chosen = filters if scope == "filtered" and filters is not None else CustomerFilters()
    listed = build_customer_query(
        chosen,
        tenant_id,
        location_scope,
        region=region,
        ordered=False,
        dialect=dialect,
        ids_only=True,
    ).subquery("listed")
    # The list's query selects ids from customers or, for one location, from
    # customer_locations: select from it as a subquery so the id filters below
    # work on either.
    query = sa.select(listed.c.id)
    if scope == "selected":
        query = query.where(listed.c.id.in_(list(ids or [])[:100_000]))
    if purpose == "marketing":
        query = query.where(current_consent(listed.c.id))
    return query


def count(conn: Connection, query: sa.Select[Any]) -> int:
    return int(conn.execute(count_query(query)).scalar() or 0)


Columns = list[Sequence[Any]]
"""A batch of customers column by column: one sequence a `columns.FIELDS` entry."""


def batches(conn: Connection, query: sa.Select[Any]) -> Iterator[Columns]:
    """Customers (`columns.FIELDS`: with tags, group, consents), BATCH at a time.

    The ids come from one ordered query read BATCH at a time (a server-side
    cursor on PostgreSQL), not one LIMIT query a batch: SQLite plans the
    list's `tenant_id = ?` through an index and sorted every page again,
    which made a 200,000-row export quadratic.
    """
    id_col = query.selected_columns[0]
    ordered = query.order_by(id_col).execution_options(yield_per=BATCH)
    result = conn.execute(ordered)
    try:
        for page in result.scalars().partitions(BATCH):
            yield details(conn, list(page))
    finally:
        result.close()


def _among(column: Any, ids: list[int]) -> Any:
    """`column IN ids`, or a range when the ids are dense (far cheaper to send and plan)."""
    if len(ids) > 50 and len(ids) * 2 > ids[-1] - ids[0] + 1:
        return column.between(ids[0], ids[-1])
    return column.in_(ids)


def details(conn: Connection, ids: list[int]) -> Columns:
    """Export fields (`columns.FIELDS` order) of `ids` (sorted ascending), in id order.

    Three set-based queries a batch (customers with their group, tags grouped
    by customer, consent answers), merged here by customer id: no correlated
    subqueries. Visit times are naive UTC.
    """
    c, g, ct, t = schema.customers, schema.groups, schema.customer_tags, schema.tags
    wanted = set(ids)
    customers = (
        sa.select(
            c.c.id,
            c.c.external_code,
            c.c.name,
            c.c.phone,
            c.c.email,
            g.c.name.label("group"),
            c.c.visit_count,
            # Naive UTC (no per-value TypeDecorator call): `RowMaker` localises.
            sa.type_coerce(c.c.first_visit_at, sa.DateTime()).label("first_visit_at"),
            sa.type_coerce(c.c.last_visit_at, sa.DateTime()).label("last_visit_at"),
            c.c.last_channel,
            c.c.spend_total,
            c.c.province,
            c.c.postal_code,
            c.c.address,
            c.c.birthday,
            c.c.gender,
            c.c.notes,
        )
        .select_from(c.outerjoin(g, g.c.id == c.c.group_id))
        .where(_among(c.c.id, ids))
        .order_by(c.c.id)
    )
    tag_lists = (
        sa.select(ct.c.customer_id, sa.func.aggregate_strings(t.c.name, ", "))
        .select_from(ct.join(t, t.c.id == ct.c.tag_id))
        .where(_among(ct.c.customer_id, ids))
        .group_by(ct.c.customer_id)
    )
    tags: dict[int, str] = {
        customer_id: names for customer_id, names in conn.execute(tag_lists).all()
    }
    wifi, marketing = _latest_consents(conn, ids)
    # A range (`_among`) also fetches ids outside the page, other tenants' too.
    found = [row for row in conn.execute(customers).all() if row[0] in wanted]
    if not found:
        return [() for _ in range(len(customers.selected_columns) + 7)]
    fields: Columns = list(zip(*found, strict=True))
    customer_ids = fields[0]
    names = list(map(tags.get, customer_ids))
    fields.append([_tag_text(n) if n and ", " in n else n for n in names])
    fields.append(list(map(wifi.get, customer_ids)))
    fields.append(list(map(marketing.get, customer_ids)))
    versions = granted_versions(conn, list(customer_ids))
    fields.append(list(map(versions.get, customer_ids)))
    cc = schema.customer_channels
    channel_lists: dict[int, str] = {
        int(customer_id): channels
        for customer_id, channels in conn.execute(
            sa.select(cc.c.customer_id, sa.func.aggregate_strings(cc.c.channel, ","))
            .where(_among(cc.c.customer_id, ids))
            .group_by(cc.c.customer_id)
        ).all()
    }
    fields.append(list(map(channel_lists.get, customer_ids)))
    follows = newest_follow_answers(conn, list(customer_ids))
    for platform in ("line", "zalo"):
        fields.append([follows.get(cid, {}).get(platform) for cid in customer_ids])
    return fields


def _latest_consents(conn: Connection, ids: list[int]) -> tuple[dict[int, bool], dict[int, bool]]:
    """({customer id: latest wifi answer}, {customer id: latest marketing answer}).

    Oldest first, so each dict keeps the newest answer (given_at, then id).
    """
    co = schema.consents
    answers = (
        sa.select(co.c.customer_id, co.c.purpose, co.c.granted)
        .where(_among(co.c.customer_id, ids), co.c.purpose.in_(("wifi", "marketing")))
        .order_by(co.c.customer_id, co.c.given_at, co.c.id)
    )
    found = conn.execute(answers).all()
    wifi = {customer_id: granted for customer_id, purpose, granted in found if purpose == "wifi"}
    marketing = {
        customer_id: granted for customer_id, purpose, granted in found if purpose == "marketing"
    }
    return wifi, marketing


def _tag_text(tags: str | None) -> str | None:
    """The aggregated names sorted case-insensitively ("VIP, wifi"): the
    aggregate's own order is the database's whim."""
    if tags and ", " in tags:
        return ", ".join(sorted(tags.split(", "), key=str.casefold))
    return tags
