"""The customer list's filters on a customer's links: login channels and tags.

A login channel (``customer_channels``):

- in a list page, or beside other filters: an EXISTS on the row's primary
  key (customer_id, channel), one probe per customer the query walks (the
  sort index, or another filter's index, drives);
- alone in a count or an export: the tenant's range of
  ``ix_customer_channels_tenant_channel`` (migration 0017 put the tenant on
  each row), `channel_ids`, without reading ``customers`` at all; alone but
  joined to customers (the list's never-visited phase reads their columns):
  ``id IN`` that range.

Tags: any of them (one EXISTS), or all (one EXISTS per tag); on PostgreSQL one
test of the row's ``tag_ids`` (migration 0021).
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from porchlight.admin import schema
from porchlight.admin.customers.filters import CustomerFilters

c = schema.customers
cc = schema.customer_channels


def channel_ids(tenant_id: int, channel: str) -> sa.Select[Any]:
    """The tenant's customers who logged in through `channel`: ``id``, ``sort_key``
    NULL (the shape of `query.build_customer_query`), from the index alone."""
    return sa.select(cc.c.customer_id.label("id"), sa.null().label("sort_key")).where(
        cc.c.tenant_id == tenant_id, cc.c.channel == channel
    )


def channel_condition(
    tenant_id: int, channel: str, customer_id: Any, dialect: str | None, alone: bool = False
) -> sa.ColumnElement[bool]:
    """The customer whose id is `customer_id` (customers.id, or customer_locations'
    in a location's list) logged in through `channel`.

    On PostgreSQL the EXISTS names the tenant: a semi-join then hashes the channel's
    range of the tenant's index instead of reading the whole table (channel +
    province at 1M). SQLite, given the tenant, probed the primary key and read each
    row for it (count channel + province 394 -> 624 ms): there the key alone.
    `alone`: the only filter of an unordered query: walk the channel's range
    (SQLite 1M 2.7 -> 0.4 s; beside another filter it drove SQLite from the whole
    range: 0.1 -> 570 ms)."""
    if alone:
        return customer_id.in_(
            sa.select(cc.c.customer_id).where(cc.c.tenant_id == tenant_id, cc.c.channel == channel)
        )
    tenant = [cc.c.tenant_id == tenant_id] if dialect == "postgresql" else []
    # SELECT 1, not *: SQLite reads the key's index alone (with * it read each row)
    probe: sa.Select[Any] = sa.select(sa.literal_column("1")).where(
        *tenant, cc.c.channel == channel, cc.c.customer_id == customer_id
    )
    return probe.exists()


def tag_ids_column() -> sa.ColumnElement[Any]:
    """PostgreSQL: ``customers.tag_ids``, the row's tag ids kept by migration 0021's
    triggers (not in schema.py: SQLite has no such column)."""
    return sa.literal_column("customers.tag_ids", postgresql.ARRAY(sa.Integer))


def _tag_id(tenant_id: int, name: str) -> sa.ScalarSelect[Any]:
    """The id of the tenant's tag `name` (NULL when it has none)."""
    t = schema.tags
    return sa.select(t.c.id).where(t.c.tenant_id == tenant_id, t.c.name == name).scalar_subquery()


def _named_tag_ids(filters: CustomerFilters, tenant_id: int) -> sa.Select[Any]:
    """The ids of the tenant's tags among the filter's names."""
    t = schema.tags
    return sa.select(t.c.id).where(t.c.tenant_id == tenant_id, t.c.name.in_(filters.tags))


def tag_conditions(
    filters: CustomerFilters, tenant_id: int, dialect: str | None = None
) -> list[sa.ColumnElement[bool]]:
    """Any of the tags (one EXISTS), or all of them (one EXISTS per tag). PostgreSQL:
    one test of the row's ``tag_ids``, which the last-visit index carries: the list
    walks that index without a probe per customer (tags-all at 1M: 13 -> 2 ms). A
    name the tenant has no tag for is NULL in the array: "all" then matches no one."""
    ct = schema.customer_tags
    if dialect == "postgresql":
        wanted = postgresql.array([_tag_id(tenant_id, name) for name in filters.tags])
        have = tag_ids_column()
        return [have.contains(wanted) if filters.tag_mode == "all" else have.overlap(wanted)]
    if filters.tag_mode == "all":
        return [
            sa.exists().where(ct.c.customer_id == c.c.id, ct.c.tag_id == _tag_id(tenant_id, name))
            for name in filters.tags
        ]
    named = _named_tag_ids(filters, tenant_id)
    return [sa.exists().where(ct.c.customer_id == c.c.id, ct.c.tag_id.in_(named))]


def tag_ids(filters: CustomerFilters, tenant_id: int) -> sa.Select[Any]:
    """The customers with the tags (any or all), shaped as `channel_ids`, read from
    customer_tags alone: the tags are the tenant's, so are their customers. (A count
    of tags-all walked each of the tenant's customers and probed it per tag: 1.4 s
    on SQLite at 1M.)"""
    ct = schema.customer_tags
    if filters.tag_mode != "all":
        return (
            sa.select(ct.c.customer_id.label("id"), sa.null().label("sort_key"))
            .where(ct.c.tag_id.in_(_named_tag_ids(filters, tenant_id)))
            .distinct()
        )
    first, *others = [_tag_id(tenant_id, name) for name in filters.tags]
    query = sa.select(ct.c.customer_id.label("id"), sa.null().label("sort_key")).where(
        ct.c.tag_id == first
    )
    for tag_id in others:
        other = ct.alias()
        probe: sa.Select[Any] = sa.select(sa.literal_column("1")).where(
            other.c.customer_id == ct.c.customer_id, other.c.tag_id == tag_id
        )
        query = query.where(probe.exists())
    return query
