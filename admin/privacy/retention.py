"""Retention: erase customers gone for the customer window, prune device data.

A pass (`run`, the worker's ``retention`` job) does, for one tenant:

1. **Customers** with no visit since the customer window (default 24 months;
   never-seen imported customers by their creation time) are erased with
   everything about them (visits, devices, consents, tags by cascade). The
   dashboard's history stays: the hourly visit counts (`visit_hours`) are
   not taken away, so past days keep their totals — only who came is gone.
2. **Device data** older than the device window (default 90 days) is pruned:
   devices not seen since are deleted, and older visits lose their MAC and
   byte counters, older consent answers their MAC (the answer and its text
   version stay: they are the proof of consent).

A customer's visits, consents and devices are deleted before the customer,
at most `CHILDREN_PER_CUSTOMER` per customer of a chunk at a time, so a
regular's thousands of visits spread over several transactions instead of
one cascade. During the pass SQLite's search index does no merge work
(admin/privacy/search_merges.py) and Python's full garbage collections skip
the process's older objects (`batches.old_objects_frozen`): both used to
land inside a transaction now and then.

The work is done in short write transactions (admin/privacy/batches.py),
taken the way the sync ingest takes its own (BEGIN IMMEDIATE on SQLite, the
tenant's advisory lock on PostgreSQL), so a router's login batch waits at
most one of them, and a customer who logs in meanwhile is re-checked inside
the transaction that would erase them. A transaction takes small chunks (one
indexed SELECT of at most a few hundred rows, one DELETE or UPDATE by id)
until it has held the lock for `TXN_BUDGET_MS` (15 ms) or done
`TXN_ROWS_MAX` rows, then commits and pauses, on SQLite as long as it held
the lock, so a login waiting in SQLite's busy handler gets in. The ceiling
asked of a pass is 100 ms at a time at 1M customers (benchmarks/retention.py).
Readers (the customer list) are never blocked: SQLite in WAL mode and
PostgreSQL both let them read while a batch writes.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from porchlight.admin import schema
from porchlight.admin.db import utcnow
from porchlight.admin.privacy import search_merges
from porchlight.admin.privacy import settings as privacy_settings
from porchlight.admin.privacy.batches import (
    TXN_BUDGET_MS,
    Batches,
    Finder,
    Pass,
    old_objects_frozen,
)
from porchlight.admin.privacy.settings import Retention

log = logging.getLogger(__name__)

# A walk of the pass: the step (a chunk under the lock) and its SELECT (batches.Finder).
Step = tuple[Callable[[Connection, int], int], Finder]

CHILDREN_PER_CUSTOMER = 8  # a chunk of N customers with many visits deletes 8 N of them at a time

c, d, v, k = schema.customers, schema.devices, schema.visits, schema.consents


def _gone_customers(tenant_id: int, cutoff: datetime) -> list[Any]:
    """Two index-friendly conditions: last visit before the cutoff; never seen, created before."""
    return [
        sa.and_(c.c.tenant_id == tenant_id, c.c.last_visit_at < cutoff),
        sa.and_(c.c.tenant_id == tenant_id, c.c.last_visit_at.is_(None), c.c.created_at < cutoff),
    ]


def preview(conn: Connection, tenant_id: int, r: Retention, now: datetime) -> dict[str, Any]:
    """What a pass with these settings would do now ("this would erase 1,204 customers")."""
    customer_cut, device_cut = r.customer_cutoff(now), r.device_cutoff(now)
    customers = sum(
        int(conn.execute(sa.select(sa.func.count()).select_from(c).where(cond)).scalar_one())
        for cond in _gone_customers(tenant_id, customer_cut)
    )
    devices = conn.execute(
        sa.select(sa.func.count())
        .select_from(d)
        .where(d.c.tenant_id == tenant_id, d.c.last_seen_at < device_cut)
    ).scalar_one()
    since = r.devices_pruned_before
    visit_where = [v.c.tenant_id == tenant_id, v.c.started_at < device_cut, v.c.mac.is_not(None)]
    if since is not None:
        visit_where.append(v.c.started_at >= since)
    visits = conn.execute(
        sa.select(sa.func.count()).select_from(v).where(*visit_where)
    ).scalar_one()
    return {
        "customers": customers,
        "devices": int(devices),
        "visits": int(visits),
        "customer_cutoff": customer_cut,
        "device_cutoff": device_cut,
    }


def _erase_children(conn: Connection, ids: list[int], still: Any, limit: int) -> int:
    """Delete up to `limit` visits, consents and devices of the customers `ids` still gone.

    A regular's thousands of visits (and a consent answer or two per visit) went
    in the one DELETE of the customer, by cascade: 5,000 visits held the write
    lock for a second. Taken first, `limit` rows at a time, they spread over as
    many chunks (and transactions) as they need; the customers' other rows
    (per-location counters, channels, tags, selections) are few and still go
    by cascade. Returns the rows deleted.
    """
    done = 0
    gone = sa.select(c.c.id).where(c.c.id.in_(ids), still)
    for table in (v, k, d):
        mine = sa.select(table.c.id).where(table.c.customer_id.in_(gone)).limit(limit - done)
        done += conn.execute(table.delete().where(table.c.id.in_(mine))).rowcount
        if done >= limit:
            break
    return done


def _erase(
    conn: Connection, rows: Sequence[Any], still: Any, size: int, erased: list[int]
) -> int | None:
    """Erase customers `rows` (id, visit_count) if still gone; None once done, else rows.

    When their visits (and a consent answer or two each) may be more than
    `CHILDREN_PER_CUSTOMER` a customer, those go first, in chunks; else the
    cascade takes them with the customers (one statement, not four).
    """
    ids = sorted(row.id for row in rows)
    limit = CHILDREN_PER_CUSTOMER * size
    if sum(3 * (row.visit_count or 0) for row in rows) > limit:
        children = _erase_children(conn, ids, still, limit)
        if children >= limit:
            return children  # more of theirs left: the same customers again, next chunk
    # Re-checked by the condition: a login since the SELECT keeps the customer.
    erased[0] += conn.execute(c.delete().where(c.c.id.in_(ids), still)).rowcount
    return None


def _erase_gone_step(tenant_id: int, cutoff: datetime, erased: list[int]) -> Step:
    """Customers whose last visit is before the cutoff, oldest first (an index range)."""
    cond = sa.and_(c.c.tenant_id == tenant_id, c.c.last_visit_at < cutoff)

    def find(size: int) -> sa.Select[Any]:
        return (
            sa.select(c.c.id, c.c.visit_count)
            .where(cond)
            .order_by(c.c.last_visit_at, c.c.id)
            .limit(size)
        )

    def step(conn: Connection, size: int) -> int:
        rows = conn.execute(find(size)).all()
        if rows:
            partly = _erase(conn, rows, cond, size, erased)
            if partly is not None:
                return partly
        return len(rows)

    return step, find


def _erase_unseen_step(tenant_id: int, cutoff: datetime, erased: list[int]) -> Step:
    """Never-seen customers (imports) created before the cutoff, walked by id.

    The walk goes on from the last id seen, so the never-seen customers who
    stay (created since) are read once per pass, not again at every batch.
    """
    cursor = [0]
    unseen = sa.and_(c.c.tenant_id == tenant_id, c.c.last_visit_at.is_(None))

    def find(size: int) -> sa.Select[Any]:
        return (
            sa.select(c.c.id, c.c.created_at, c.c.visit_count)
            .where(unseen, c.c.id > cursor[0])
            .order_by(c.c.id)
            .limit(size)
        )

    def step(conn: Connection, size: int) -> int:
        rows = conn.execute(find(size)).all()
        if rows:
            old = [row for row in rows if row.created_at < cutoff]
            if old:
                partly = _erase(conn, old, sa.and_(unseen, c.c.created_at < cutoff), size, erased)
                if partly is not None:
                    return partly
            cursor[0] = rows[-1].id
        return len(rows)

    return step, find


def _devices_step(tenant_id: int, cutoff: datetime, deleted: list[int]) -> Step:
    def find(size: int) -> sa.Select[Any]:
        return (
            sa.select(d.c.id)
            .where(d.c.tenant_id == tenant_id, d.c.last_seen_at < cutoff)
            .order_by(d.c.last_seen_at)
            .limit(size)
        )

    def step(conn: Connection, size: int) -> int:
        ids = list(conn.execute(find(size)).scalars())
        if ids:
            gone = d.delete().where(d.c.id.in_(ids), d.c.last_seen_at < cutoff)
            deleted[0] += conn.execute(gone).rowcount
        return len(ids)

    return step, find


def _clear_step(
    table: sa.Table,
    time_col: str,
    clear: dict[str, None],
    tenant_id: int,
    lo: Any,
    hi: datetime,
    changed: list[int],
) -> Step:
    """Set `clear` columns to NULL on rows in [lo, hi) of `time_col`, walking a keyset.

    Returns the rows walked (the batch loop stops on a short batch); the rows
    actually changed are added to ``changed[0]``.
    """
    col = table.c[time_col]
    dirty = sa.or_(*(table.c[name].is_not(None) for name in clear))
    cursor: dict[str, Any] = {"at": lo, "id": 0}

    def find(size: int) -> sa.Select[Any]:
        where = [table.c.tenant_id == tenant_id, col < hi]
        if cursor["at"] is not None:
            # `col >= at` first: a range the index can seek to (an OR alone made
            # SQLite scan from the window's start at every batch: quadratic).
            where.append(col >= cursor["at"])
            where.append(sa.or_(col > cursor["at"], table.c.id > cursor["id"]))
        return (
            sa.select(table.c.id, col, dirty.label("dirty"))
            .where(*where)
            .order_by(col, table.c.id)
            .limit(size)
        )

    def step(conn: Connection, size: int) -> int:
        rows = conn.execute(find(size)).all()
        if rows:
            cursor["at"], cursor["id"] = rows[-1][1], rows[-1][0]
            ids = [row[0] for row in rows if row.dirty]
            if ids:
                conn.execute(table.update().where(table.c.id.in_(ids)).values(**clear))
                changed[0] += len(ids)
        return len(rows)

    return step, find


def _drain(
    engine: Engine,
    tenant_id: int,
    stats: Pass,
    steps: list[Step],
    budget_ms: float,
    tick: Callable[[], None],
) -> None:
    """Run the steps one after the other in short transactions on one connection."""
    with engine.connect() as conn:
        sqlite = conn.dialect.name == "sqlite"
        if sqlite:
            conn.exec_driver_sql("PRAGMA wal_autocheckpoint=0")
        try:
            batches = Batches(conn, tenant_id, stats, budget_ms)
            # No search index merge and no full garbage collection inside a transaction.
            with search_merges.quiet(conn), old_objects_frozen():
                for step, find in steps:
                    batches.drain(step, tick, find)
        finally:
            if sqlite:
                conn.rollback()
                conn.exec_driver_sql("PRAGMA wal_autocheckpoint=1000")  # SQLite's default
                conn.commit()


def run(
    engine: Engine,
    tenant_id: int,
    *,
    now: datetime | None = None,
    user_id: int | None = None,
    budget_ms: float | None = None,
    progress: Callable[[int], None] | None = None,
) -> dict[str, Any]:
    """One retention pass for the tenant (whatever its on/off setting); audited.

    `progress` is called between transactions (the write lock free) with the
    rows done so far.
    """
    now = now or utcnow()
    with engine.connect() as conn:
        r = privacy_settings.load(conn, tenant_id)
    stats = Pass()
    customers, devices, visits, consents = [0], [0], [0], [0]

    def tick() -> None:
        if progress:
            progress(customers[0] + devices[0] + visits[0] + consents[0])

    customer_cut, device_cut = r.customer_cutoff(now), r.device_cutoff(now)
    lo = r.devices_pruned_before
    device_fields = {"mac": None, "bytes_in": None, "bytes_out": None}
    steps = [
        _erase_gone_step(tenant_id, customer_cut, customers),
        _erase_unseen_step(tenant_id, customer_cut, customers),
        _devices_step(tenant_id, device_cut, devices),
        _clear_step(v, "started_at", device_fields, tenant_id, lo, device_cut, visits),
        _clear_step(k, "given_at", {"mac": None}, tenant_id, lo, device_cut, consents),
    ]
    _drain(engine, tenant_id, stats, steps, budget_ms or TXN_BUDGET_MS, tick)
    stats.customers, stats.devices = customers[0], devices[0]
    stats.visits, stats.consents = visits[0], consents[0]
    result = {
        **stats.as_dict(),
        "customer_cutoff": customer_cut.isoformat(),
        "device_cutoff": device_cut.isoformat(),
        "at": now.isoformat(),
    }
    with engine.begin() as conn:
        privacy_settings.record_run(conn, tenant_id, result, now)
        conn.execute(
            schema.audit_log.insert().values(
                tenant_id=tenant_id,
                user_id=user_id,
                action="privacy_retention_run",
                target_type="tenant",
                target_id=str(tenant_id),
                details={key: result[key] for key in ("customers", "devices", "longest_ms")}
                | {"customer_cutoff": result["customer_cutoff"][:10]},
                at=utcnow(),
            )
        )
    log.info(
        "retention for tenant %s: %d customers erased, %d devices, %d visits pruned "
        "(%d batches, longest %.1f ms)",
        tenant_id,
        stats.customers,
        stats.devices,
        stats.visits,
        stats.batches,
        stats.longest_ms,
    )
    return result
