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

Every batch is its own short write transaction, taken the way the sync ingest
takes it (`ingest.write_transaction`: BEGIN IMMEDIATE on SQLite, the tenant's
advisory lock on PostgreSQL), so a router's login batch waits at most one
retention batch, and a customer who logs in meanwhile is re-checked inside the
batch that would erase them. The batch size adapts so each transaction stays
near `TARGET_MS` (the ceiling asked of a pass is 100 ms; see
benchmarks/retention.py). Readers (the customer list) are never blocked:
SQLite in WAL mode and PostgreSQL both let them read while a batch writes.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from porchlight.admin import schema
from porchlight.admin.db import utcnow
from porchlight.admin.privacy import settings as privacy_settings
from porchlight.admin.privacy.settings import Retention
from porchlight.admin.sync.ingest import write_transaction

log = logging.getLogger(__name__)

TARGET_MS = 30.0
FIRST_BATCH = 20
PAUSE_FACTOR = 1.0
MIN_PAUSE = 0.01  # seconds
MIN_BATCH, MAX_BATCH = 10, 5000

c, d, v, k = schema.customers, schema.devices, schema.visits, schema.consents


@dataclass
class Pass:
    """What one pass did, and how long its longest transaction held the write lock."""

    customers: int = 0
    devices: int = 0
    visits: int = 0
    consents: int = 0
    batches: int = 0
    longest_ms: float = 0.0
    batch_ms: list[float] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "customers": self.customers,
            "devices": self.devices,
            "visits": self.visits,
            "consents": self.consents,
            "batches": self.batches,
            "longest_ms": round(self.longest_ms, 1),
            "p95_ms": round(sorted(self.batch_ms)[int(len(self.batch_ms) * 0.95)], 1)
            if self.batch_ms
            else 0.0,
        }


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


class _Batches:
    """Runs `step(conn, size) -> rows done` in short transactions until it returns 0.

    The time measured is the write lock's hold: from the moment BEGIN (IMMEDIATE)
    got it to the end of COMMIT. After each batch the pass pauses `PAUSE_FACTOR`
    times as long as it held the lock (at least `MIN_PAUSE`), so a login batch
    waiting for the lock gets it: SQLite's busy handler retries on a timer and
    would otherwise lose the race to the next retention batch again and again.
    """

    def __init__(self, engine: Engine, tenant_id: int, stats: Pass, target_ms: float) -> None:
        self.engine, self.tenant_id = engine, tenant_id
        self.stats, self.target_ms = stats, target_ms
        self.size = FIRST_BATCH

    def drain(self, step: Callable[[Connection, int], int], tick: Callable[[], None]) -> int:
        total = 0
        self.size = FIRST_BATCH  # each step its own size: a visit costs less than a customer
        while True:
            with write_transaction(self.engine, self.tenant_id) as conn:
                started = time.perf_counter()
                done = step(conn, self.size)
            elapsed = (time.perf_counter() - started) * 1000
            self.stats.batches += 1
            self.stats.batch_ms.append(elapsed)
            self.stats.longest_ms = max(self.stats.longest_ms, elapsed)
            total += done
            tick()
            if done < self.size:
                return total
            if elapsed > self.target_ms:
                self.size = max(MIN_BATCH, int(self.size * self.target_ms / elapsed * 0.7))
            elif elapsed < self.target_ms * 0.6:  # at most twice as big at a time
                grown = int(self.size * self.target_ms * 0.8 / max(elapsed, 1.0))
                self.size = min(MAX_BATCH, self.size * 2, grown)
            time.sleep(max(MIN_PAUSE, PAUSE_FACTOR * elapsed / 1000))


def _erase_step(tenant_id: int, cond: Any) -> Callable[[Connection, int], int]:
    def step(conn: Connection, size: int) -> int:
        ids = list(
            conn.execute(
                sa.select(c.c.id).where(cond).order_by(c.c.last_visit_at, c.c.id).limit(size)
            ).scalars()
        )
        if ids:
            # Re-checked by the condition: a login since the SELECT keeps the customer.
            conn.execute(c.delete().where(c.c.id.in_(ids), cond))
        return len(ids)

    return step


def _devices_step(tenant_id: int, cutoff: datetime) -> Callable[[Connection, int], int]:
    def step(conn: Connection, size: int) -> int:
        ids = list(
            conn.execute(
                sa.select(d.c.id)
                .where(d.c.tenant_id == tenant_id, d.c.last_seen_at < cutoff)
                .order_by(d.c.last_seen_at)
                .limit(size)
            ).scalars()
        )
        if ids:
            conn.execute(d.delete().where(d.c.id.in_(ids)))
        return len(ids)

    return step


def _clear_step(
    table: sa.Table,
    time_col: str,
    clear: dict[str, None],
    tenant_id: int,
    lo: Any,
    hi: datetime,
    changed: list[int],
) -> Callable[[Connection, int], int]:
    """Set `clear` columns to NULL on rows in [lo, hi) of `time_col`, walking a keyset.

    Returns the rows walked (the batch loop stops on a short batch); the rows
    actually changed are added to ``changed[0]``.
    """
    col = table.c[time_col]
    dirty = sa.or_(*(table.c[name].is_not(None) for name in clear))
    cursor: dict[str, Any] = {"at": lo, "id": 0}

    def step(conn: Connection, size: int) -> int:
        where = [table.c.tenant_id == tenant_id, col < hi]
        if cursor["at"] is not None:
            # `col >= at` first: a range the index can seek to (an OR alone made
            # SQLite scan from the window's start at every batch: quadratic).
            where.append(col >= cursor["at"])
            where.append(sa.or_(col > cursor["at"], table.c.id > cursor["id"]))
        rows = conn.execute(
            sa.select(table.c.id, col, dirty.label("dirty"))
            .where(*where)
            .order_by(col, table.c.id)
            .limit(size)
        ).all()
        if rows:
            cursor["at"], cursor["id"] = rows[-1][1], rows[-1][0]
            ids = [row[0] for row in rows if row.dirty]
            if ids:
                conn.execute(table.update().where(table.c.id.in_(ids)).values(**clear))
                changed[0] += len(ids)
        return len(rows)

    return step


def run(
    engine: Engine,
    tenant_id: int,
    *,
    now: datetime | None = None,
    user_id: int | None = None,
    target_ms: float = TARGET_MS,
    progress: Callable[[int], None] | None = None,
) -> dict[str, Any]:
    """One retention pass for the tenant (whatever its on/off setting); audited."""
    now = now or utcnow()
    with engine.connect() as conn:
        r = privacy_settings.load(conn, tenant_id)
    stats = Pass()
    batches = _Batches(engine, tenant_id, stats, target_ms)

    def tick() -> None:
        if progress:
            progress(stats.customers + stats.devices + stats.visits + stats.consents)

    customer_cut, device_cut = r.customer_cutoff(now), r.device_cutoff(now)
    for cond in _gone_customers(tenant_id, customer_cut):
        stats.customers += batches.drain(_erase_step(tenant_id, cond), tick)
    stats.devices = batches.drain(_devices_step(tenant_id, device_cut), tick)
    lo = r.devices_pruned_before
    visits_changed, consents_changed = [0], [0]
    device_fields = {"mac": None, "bytes_in": None, "bytes_out": None}
    batches.drain(
        _clear_step(v, "started_at", device_fields, tenant_id, lo, device_cut, visits_changed), tick
    )
    batches.drain(
        _clear_step(k, "given_at", {"mac": None}, tenant_id, lo, device_cut, consents_changed), tick
    )
    stats.visits, stats.consents = visits_changed[0], consents_changed[0]
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
