"""Retention's short write transactions: chunks of rows under a time budget.

A retention pass (admin/privacy/retention.py) must not keep logins from the
database for long (the issue's ceiling: 100 ms at a time, at 1M customers):
`Batches` runs its steps in transactions that each hold the write lock about
`TXN_BUDGET_MS`, and `Pass` keeps what the pass did and how long each
transaction held the lock.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from porchlight.admin.db import begin_immediate
from porchlight.admin.sync.ingest import ADVISORY_NAMESPACE

TXN_BUDGET_MS = 15.0  # a transaction takes no new chunk once it has held the lock this long
TXN_ROWS_MAX = 500  # nor once it has done this many rows (its COMMIT writes their pages)
CHUNK_MS = 5.0  # one chunk (SELECT + DELETE/UPDATE) aims at this much CPU
FIRST_CHUNK = 10
MIN_CHUNK, MAX_CHUNK = 1, 200  # a walk's cheap rows (nothing to clear) grow it: not too far
PAUSE_FACTOR = 1.0  # SQLite: pause as long as the lock was held
MIN_PAUSE = 0.01  # seconds
CHECKPOINT_EVERY = 10  # SQLite: checkpoint the WAL every this many transactions


# A step's SELECT of its next `size` rows, from where it stands (retention.py).
Finder = Callable[[int], sa.Select[Any]]


@dataclass
class Pass:
    """What one pass did, and how long its transactions held the write lock."""

    customers: int = 0
    devices: int = 0
    visits: int = 0
    consents: int = 0
    batches: int = 0
    longest_ms: float = 0.0
    most_rows: int = 0  # the most rows walked in one transaction
    longest_cpu_ms: float = 0.0  # the most CPU one transaction used (its own work)
    batch_ms: list[float] = field(default_factory=list)

    def record(self, held_ms: float, rows: int, cpu_ms: float) -> None:
        self.batches += 1
        self.batch_ms.append(held_ms)
        self.longest_ms = max(self.longest_ms, held_ms)
        self.most_rows = max(self.most_rows, rows)
        self.longest_cpu_ms = max(self.longest_cpu_ms, cpu_ms)

    def as_dict(self) -> dict[str, Any]:
        held = sorted(self.batch_ms)
        return {
            "customers": self.customers,
            "devices": self.devices,
            "visits": self.visits,
            "consents": self.consents,
            "batches": self.batches,
            "most_rows": self.most_rows,
            "longest_ms": round(self.longest_ms, 1),
            "p95_ms": round(held[int(len(held) * 0.95)], 1) if held else 0.0,
            "over_100ms": sum(1 for ms in held if ms > 100),
            "longest_cpu_ms": round(self.longest_cpu_ms, 1),
            "held_s": round(sum(held) / 1000, 1),
        }


class Batches:
    """Runs `step(conn, size) -> rows walked` in short transactions until it walks short.

    Each transaction takes the sync ingest's write lock (as
    `ingest.write_transaction` does: BEGIN IMMEDIATE on SQLite, the tenant's
    advisory lock on PostgreSQL) on the pass's own connection, then chunks of
    `size` rows while it has held the lock less than `budget_ms` (counting the
    next chunk as long as the last one) and done fewer than `TXN_ROWS_MAX`
    rows, then commits. The chunk size adapts towards `CHUNK_MS` of CPU, at most
    doubling at a time: a visit costs less than a customer, a regular's
    erasure more than a one-time guest's. The time recorded is the lock's
    hold, from the moment it was got to the end of COMMIT. Between
    transactions the pass pauses — on SQLite `PAUSE_FACTOR` times the hold,
    since its busy handler retries on a timer and would otherwise lose the
    race to the next batch; PostgreSQL queues a waiting login ahead of the
    next batch by itself. On SQLite the pass's connection does not checkpoint
    the WAL inside its COMMIT (the checkpoint and its fsync ran after the lock
    was let go but made the pass wait): it checkpoints in the pause instead,
    every `CHECKPOINT_EVERY` transactions, holding no lock.
    """

    def __init__(self, conn: Connection, tenant_id: int, stats: Pass, budget_ms: float) -> None:
        self.conn, self.tenant_id = conn, tenant_id
        self.stats, self.budget_ms = stats, budget_ms
        self.sqlite = conn.dialect.name == "sqlite"

    def _lock(self) -> None:
        if self.sqlite:
            begin_immediate(self.conn)
        else:
            # The COMMIT does not wait for its WAL to reach the disk (an fsync
            # on a busy disk took 100-300 ms, the lock held all along). A crash
            # may lose the last transactions of a pass: the next pass does them.
            self.conn.exec_driver_sql("SET LOCAL synchronous_commit TO OFF")
            self.conn.execute(
                sa.text("SELECT pg_advisory_xact_lock(:ns, :tenant)"),
                {"ns": ADVISORY_NAMESPACE, "tenant": self.tenant_id},
            )

    def _transaction(
        self, step: Callable[[Connection, int], int], size: int, find: Finder | None = None
    ) -> tuple[bool, int]:
        """One transaction of chunks: (the step is done, the next chunk size).

        On PostgreSQL the step's SELECT (`find`) is read once before the lock is
        taken: rows deleted since (the erased customers' visits, devices and
        consents, at the start of the next walk) stay in the indexes until a
        vacuum, and the first scan over them visits each in the table and marks
        it dead there. At 1M that scan read 100,000 buffers (788 ms with the
        lock held, logins waiting); read first, the locked SELECT skips them."""
        rows, finished = 0, False
        if find is not None and not self.sqlite:
            self.conn.execute(find(size)).all()
        self._lock()
        started, cpu = time.perf_counter(), time.thread_time()
        try:
            while True:
                want = min(size, TXN_ROWS_MAX - rows)
                before, before_cpu = time.perf_counter(), time.thread_time()
                done = step(self.conn, want)
                took = (time.perf_counter() - before) * 1000
                rows += done
                if done < want:
                    finished = True
                    break
                if want == size:  # not cut short by the row cap
                    # Its cost: the CPU it used, or a quarter of its wall time when
                    # that is more (reads from disk). Wall time alone shrank chunks
                    # to one row on a busy machine, where a process waits for a
                    # core whatever it does: more transactions, no shorter holds.
                    cost = max((time.thread_time() - before_cpu) * 1000, took / 4)
                    size = _resized(size, cost)
                held = (time.perf_counter() - started) * 1000
                if held + took >= self.budget_ms or rows >= TXN_ROWS_MAX:
                    break
        except BaseException:
            self.conn.rollback()
            raise
        self.conn.commit()
        cpu_ms = (time.thread_time() - cpu) * 1000
        self.stats.record((time.perf_counter() - started) * 1000, rows, cpu_ms)
        return finished, size

    def drain(
        self,
        step: Callable[[Connection, int], int],
        tick: Callable[[], None],
        find: Finder | None = None,
    ) -> None:
        """Run `step` until it walks fewer rows than asked; `tick` after each commit.
        `find(size)`: the SELECT the step's next chunk starts with, if it has one."""
        size = FIRST_CHUNK
        while True:
            finished, size = self._transaction(step, size, find)
            tick()
            if finished:
                return
            if self.sqlite and self.stats.batches % CHECKPOINT_EVERY == 0:
                self.conn.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)")
                self.conn.commit()
            pause = PAUSE_FACTOR * self.stats.batch_ms[-1] / 1000 if self.sqlite else 0.0
            time.sleep(max(MIN_PAUSE, pause))


@contextmanager
def old_objects_frozen() -> Iterator[None]:
    """Python's full garbage collections leave out the objects made before the pass.

    A full collection walks every object the process holds (its modules,
    SQLAlchemy's caches: 40 ms of CPU in the benchmark's process, more in a
    loaded app) and starts whenever enough new objects have piled up: now and
    then inside a transaction of the pass, which then held the lock 40 to
    120 ms longer with no statement to show for it. Frozen (`gc.freeze`), the
    old objects are skipped until the pass ends (`gc.unfreeze`: the process's
    other freezes, if any, end with it).
    """
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def _resized(size: int, took_ms: float) -> int:
    if took_ms > CHUNK_MS:
        return max(MIN_CHUNK, int(size * CHUNK_MS / took_ms * 0.8))
    if took_ms < CHUNK_MS * 0.6:
        return min(MAX_CHUNK, size * 2, int(size * CHUNK_MS * 0.8 / max(took_ms, 0.1)))
    return size
