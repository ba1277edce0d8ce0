"""Visits per location per UTC hour (table ``visit_hours``) for the dashboard.

The dashboard's visits per day and busiest hours are sums over this small
table instead of a scan of a month of visits. Hours are UTC ("hours since
1970-01-01 00:00 UTC"), so the same rows serve any whole-hour local offset
(Vietnam and Thailand are UTC+7 all year); the dashboard falls back to the
visits table for an offset that is not a whole number of hours.

Kept in the same transaction as the visits it counts: ingest adds, erasure
subtracts, seeding adds, merge moves visits between customers and so leaves
it as it is (same location, same hour). Deleting a location or tenant
cascades. ``recount`` rebuilds it from visits (migration 0003, tests).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from porchlight.admin import schema

vh = schema.visit_hours


def epoch_hour(value: datetime) -> int:
    """Hours since 1970-01-01 00:00 UTC of an aware datetime."""
    return int(value.astimezone(UTC).timestamp()) // 3600


def hour_sql(dialect: str, column: str) -> str:
    """SQL for the epoch hour of a naive-UTC timestamp column, per dialect."""
    if dialect == "postgresql":
        return f"CAST(floor(extract(epoch FROM {column}) / 3600) AS BIGINT)"
    return f"(CAST(strftime('%s', {column}) AS INTEGER) / 3600)"


def _upsert(conn: Connection) -> Any:
    ins = (postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert)(vh)
    return ins.on_conflict_do_update(
        index_elements=[vh.c.location_id, vh.c.hour],
        set_={"visits": vh.c.visits + ins.excluded.visits},
    )


def add(conn: Connection, visits: Iterable[dict[str, Any]]) -> None:
    """Count freshly inserted visit rows (tenant_id, location_id, started_at)."""
    counts: Counter[tuple[int, int, int]] = Counter(
        (int(v["tenant_id"]), int(v["location_id"]), epoch_hour(v["started_at"])) for v in visits
    )
    if counts:
        conn.execute(
            _upsert(conn),
            [
                {"tenant_id": t, "location_id": loc, "hour": h, "visits": n}
                for (t, loc, h), n in sorted(counts.items(), key=lambda kv: (kv[0][1], kv[0][2]))
            ],
        )


def upsert_counts(
    conn: Connection,
    sql: str,
    params: dict[str, Any],
    sign: int,
    table: sa.Table,
    keys: tuple[str, ...],
    counts: tuple[str, ...],
) -> None:
    """Run a rollup's INSERT ... ON CONFLICT DO UPDATE `sql` (``:ids`` expanded). Taking
    away (sign -1), it returns the rows it changed and those it took to zero are deleted
    by their key: a DELETE ... WHERE n <= 0 read every tenant's rows (8 ms at 50,000
    hours, on every batch inside the tenant's ingest lock)."""
    stmt = sa.text(sql + (f" RETURNING {', '.join(keys + counts)}" if sign < 0 else ""))
    if "ids" in params:
        stmt = stmt.bindparams(sa.bindparam("ids", expanding=True))
    result = conn.execute(stmt, params)
    if sign >= 0:
        return
    for row in result.all():
        if all(n <= 0 for n in row[len(keys) :]):
            key = (table.c[name] == value for name, value in zip(keys, row, strict=False))
            conn.execute(sa.delete(table).where(*key, *(table.c[n] <= 0 for n in counts)))


def _apply(conn: Connection, where_sql: str, params: dict[str, Any], sign: int) -> None:
    """Add (sign 1) or take away (sign -1) the visits matching `where_sql`."""
    d = conn.dialect.name
    hour = hour_sql(d, "started_at")
    conflict = (
        "ON CONFLICT (location_id, hour) DO UPDATE "
        "SET visits = visit_hours.visits + excluded.visits"
    )
    sql = (
        # Only constant fragments and bound parameters: no user text.
        f"INSERT INTO visit_hours (tenant_id, location_id, hour, visits) "  # noqa: S608
        f"SELECT tenant_id, location_id, {hour}, {sign} * count(*) FROM visits "
        f"WHERE {where_sql} GROUP BY tenant_id, location_id, {hour} "
        # ORDER BY: a stable lock order; also SQLite needs a clause before ON CONFLICT
        f"ORDER BY location_id, 3 {conflict}"
    )
    upsert_counts(conn, sql, params, sign, vh, ("location_id", "hour"), ("visits",))


def remove_customer(conn: Connection, customer_id: int) -> None:
    """Before erasing a customer (their visits go with them by cascade)."""
    _apply(conn, "customer_id = :cid", {"cid": customer_id}, -1)


def add_visit_ids(conn: Connection, first_id: int, end_id: int) -> None:
    """Count visits with first_id <= id < end_id (bulk seeding)."""
    _apply(conn, "id >= :lo AND id < :hi", {"lo": first_id, "hi": end_id}, 1)


def recount(conn: Connection, tenant_id: int | None = None) -> None:
    """Rebuild from visits (all tenants, or one)."""
    if tenant_id is None:
        conn.execute(sa.delete(vh))
        _apply(conn, "1 = 1", {}, 1)
    else:
        conn.execute(sa.delete(vh).where(vh.c.tenant_id == tenant_id))
        _apply(conn, "tenant_id = :t", {"t": tenant_id}, 1)
