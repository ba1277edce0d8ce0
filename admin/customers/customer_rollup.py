"""Customers by the hour of their first and of their last visit (``customer_hours``).

The dashboard's "new customers" (first visit in the period) and "came in the
period" (last visit in it; returning = came - new) for the whole tenant are
sums over this table: a few thousand rows instead of counting hundreds of
thousands of customers in an index (at 1,000,000 customers, 90 days
reach most of them). Hours are UTC ("hours since 1970"), so any whole-hour
local offset reads the same rows.

Kept in the same transaction as the customers it counts, always the same
way: `subtract` the customers before their first/last visit changes, change
them, `add` them back. Ingest does it around its counters, merge for both
customers, erasure takes the customer away, seed and ``recount`` rebuild.
Imported customers who never came have no first visit and count nowhere.
Retention's deletion of customers unseen for years leaves their old hours
(like ``visit_hours``, history stays), far before any dashboard period.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from porchlight.admin import schema
from porchlight.admin.customers.visit_rollup import hour_sql, upsert_counts

ch = schema.customer_hours


def _apply(conn: Connection, where_sql: str, params: dict[str, Any], sign: int) -> None:
    """Add (sign 1) or take away (sign -1) the customers matching `where_sql`."""
    d = conn.dialect.name
    first, last = hour_sql(d, "first_visit_at"), hour_sql(d, "last_visit_at")
    sql = (
        # Only constant fragments and bound parameters: no user text.
        "INSERT INTO customer_hours (tenant_id, hour, firsts, lasts) "  # noqa: S608
        f"SELECT tenant_id, hour, {sign} * sum(f), {sign} * sum(l) FROM ("
        f"SELECT tenant_id, {first} AS hour, 1 AS f, 0 AS l FROM customers "
        f"WHERE first_visit_at IS NOT NULL AND {where_sql} UNION ALL "
        f"SELECT tenant_id, {last} AS hour, 0 AS f, 1 AS l FROM customers "
        f"WHERE last_visit_at IS NOT NULL AND {where_sql}) AS x "
        # ORDER BY: a stable lock order; also SQLite needs a clause before ON CONFLICT
        "GROUP BY tenant_id, hour ORDER BY 1, 2 ON CONFLICT (tenant_id, hour) DO UPDATE "
        "SET firsts = customer_hours.firsts + excluded.firsts, "
        "lasts = customer_hours.lasts + excluded.lasts"
    )
    upsert_counts(conn, sql, params, sign, ch, ("tenant_id", "hour"), ("firsts", "lasts"))


def add(conn: Connection, customer_ids: Sequence[int]) -> None:
    """Count these customers (after their first/last visit changed)."""
    for i in range(0, len(customer_ids), 500):
        _apply(conn, "id IN :ids", {"ids": list(customer_ids[i : i + 500])}, 1)


def subtract(conn: Connection, customer_ids: Sequence[int]) -> None:
    """Take these customers away (before a change, or before erasing them)."""
    for i in range(0, len(customer_ids), 500):
        _apply(conn, "id IN :ids", {"ids": list(customer_ids[i : i + 500])}, -1)


def recount(conn: Connection, tenant_id: int | None = None) -> None:
    """Rebuild from customers (all tenants, or one)."""
    if tenant_id is None:
        conn.execute(sa.delete(ch))
        _apply(conn, "1 = 1", {}, 1)
    else:
        conn.execute(sa.delete(ch).where(ch.c.tenant_id == tenant_id))
        _apply(conn, "tenant_id = :t", {"t": tenant_id}, 1)


def since(conn: Connection, tenant_id: int, first_hour: int) -> tuple[int, int]:
    """(new customers, customers who came) since `first_hour` (UTC epoch hour)."""
    row = conn.execute(
        sa.select(
            sa.func.coalesce(sa.func.sum(ch.c.firsts), 0),
            sa.func.coalesce(sa.func.sum(ch.c.lasts), 0),
        ).where(ch.c.tenant_id == tenant_id, ch.c.hour >= first_hour)
    ).one()
    return int(row[0]), int(row[1])
