"""Background jobs in the admin's own database (no Redis, no Celery).

A job row goes queued -> running -> done | failed. `claim()` takes the oldest
queued job atomically: `SELECT ... FOR UPDATE SKIP LOCKED` on PostgreSQL, a
`BEGIN IMMEDIATE` transaction on SQLite (one writer at a time), so two workers
never run one job. The claiming worker holds a lease (``lease_expires_at``,
``worker``) that it renews while the job runs (admin/io/leases.py); a running
job whose lease ran out lost its worker (killed, machine gone): its pages say
so at once, `recover_stale()` marks it failed (``worker_lost``, the upload
kept) and `retry()` queues it again — its own writes were one transaction, so
nothing of it is left. Export files and kept uploads
are deleted by `cleanup_expired()` once `expires_at` passes.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from porchlight.admin import schema
from porchlight.admin.db import is_sqlite, utcnow

log = logging.getLogger(__name__)

STALE_AFTER = timedelta(minutes=10)  # jobs claimed before leases (no lease_expires_at)
LEASE = timedelta(seconds=30)  # a running job's lease; the worker renews it every third
EXPORT_TTL = timedelta(hours=24)
UPLOAD_TTL = timedelta(hours=24)  # a dry run's upload waits this long for "confirm"


@dataclass(frozen=True)
class Job:
    id: int
    tenant_id: int
    kind: str
    params: dict[str, Any]
    file_path: str | None
    created_by: int | None


@contextmanager
def write_transaction(engine: Engine) -> Iterator[Connection]:
    """One write transaction; on SQLite taken with BEGIN IMMEDIATE (the write lock up front)."""
    if not is_sqlite(engine):
        with engine.begin() as conn:
            yield conn
        return
    with engine.connect() as raw:
        conn = raw.execution_options(isolation_level="AUTOCOMMIT")
        conn.exec_driver_sql("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            conn.exec_driver_sql("ROLLBACK")
            raise
        conn.exec_driver_sql("COMMIT")


def enqueue(
    conn: Connection,
    *,
    tenant_id: int,
    kind: str,
    params: dict[str, Any],
    created_by: int | None = None,
    file_path: str | None = None,
) -> int:
    """Add a queued job in the caller's transaction; returns its id."""
    if kind not in schema.JOB_KINDS:
        raise ValueError(f"unknown job kind {kind!r}")
    result = conn.execute(
        schema.jobs.insert().values(
            tenant_id=tenant_id,
            kind=kind,
            status="queued",
            params=params,
            created_by=created_by,
            file_path=file_path,
            created_at=utcnow(),
        )
    )
    assert result.inserted_primary_key is not None
    return int(result.inserted_primary_key[0])


def record_done(
    conn: Connection,
    *,
    tenant_id: int,
    kind: str,
    params: dict[str, Any],
    created_by: int | None,
    result: dict[str, Any],
    file_path: str,
    expires_at: datetime,
    progress: int,
) -> int:
    """A job done at once, in the request (an immediate export), for the Downloads list.

    Never queued nor claimed; already seen by its requester (who got the
    file), so no "ready" notice; its file expires as a worker's does.
    """
    if kind not in schema.JOB_KINDS:
        raise ValueError(f"unknown job kind {kind!r}")
    now = utcnow()
    inserted = conn.execute(
        schema.jobs.insert().values(
            tenant_id=tenant_id,
            kind=kind,
            status="done",
            params=params,
            created_by=created_by,
            created_at=now,
            started_at=now,
            finished_at=now,
            heartbeat_at=now,
            seen_at=now,
            result=result,
            file_path=file_path,
            expires_at=expires_at,
            progress=progress,
            total=progress,
        )
    )
    assert inserted.inserted_primary_key is not None
    return int(inserted.inserted_primary_key[0])


def claim(engine: Engine, worker: str | None = None, lease: timedelta = LEASE) -> Job | None:
    """Take the oldest queued job, leased to `worker`, or None when there is none."""
    j = schema.jobs
    query = (
        sa.select(j.c.id, j.c.tenant_id, j.c.kind, j.c.params, j.c.file_path, j.c.created_by)
        .where(j.c.status == "queued")
        .order_by(j.c.created_at, j.c.id)
        .limit(1)
    )
    if not is_sqlite(engine):
        query = query.with_for_update(skip_locked=True)
    with write_transaction(engine) as conn:
        row = conn.execute(query).first()
        if row is None:
            return None
        now = utcnow()
        conn.execute(
            j.update()
            .where(j.c.id == row.id)
            .values(
                status="running",
                started_at=now,
                heartbeat_at=now,
                progress=0,
                worker=(worker or "")[:120] or None,
                lease_expires_at=now + lease,
                attempts=j.c.attempts + 1,
            )
        )
    return Job(
        row.id, row.tenant_id, row.kind, dict(row.params or {}), row.file_path, row.created_by
    )


def heartbeat(engine: Engine, job_id: int, progress: int, total: int | None = None) -> None:
    values: dict[str, Any] = {"progress": progress, "heartbeat_at": utcnow()}
    if total is not None:
        values["total"] = total
    with engine.begin() as conn:
        conn.execute(schema.jobs.update().where(schema.jobs.c.id == job_id).values(**values))


def finish(
    engine: Engine,
    job_id: int,
    result: dict[str, Any],
    *,
    file_path: str | None = None,
    expires_at: datetime | None = None,
    progress: int | None = None,
) -> None:
    values: dict[str, Any] = {
        "status": "done",
        "result": result,
        "finished_at": utcnow(),
        "heartbeat_at": utcnow(),
        "file_path": file_path,
        "expires_at": expires_at,
    }
    if progress is not None:
        values["progress"] = progress
    with engine.begin() as conn:
        conn.execute(schema.jobs.update().where(schema.jobs.c.id == job_id).values(**values))


def fail(
    engine: Engine,
    job_id: int,
    error: str,
    result: dict[str, Any] | None = None,
    *,
    file_path: str | None = None,
) -> None:
    """Mark a job failed; its file (an upload) is deleted."""
    _unlink(file_path)
    with engine.begin() as conn:
        conn.execute(
            schema.jobs.update()
            .where(schema.jobs.c.id == job_id)
            .values(
                status="failed",
                error=error[:2000],
                result=result,
                finished_at=utcnow(),
                file_path=None,
            )
        )


def is_lost(row: Any, now: datetime | None = None, engine: Engine | None = None) -> bool:
    """A running job whose worker's lease ran out (it died or hangs).

    With a SQLite `engine`, a job is not called lost while someone holds the
    database's write lock: an import's apply holds it for its whole
    transaction, during which its worker cannot renew the lease; a dead
    worker holds no lock (the system releases it).
    """
    if row.status != "running":
        return False
    now = now or utcnow()
    if row.lease_expires_at is not None:
        expired = bool(row.lease_expires_at < now)
    else:
        expired = row.heartbeat_at is not None and row.heartbeat_at < now - STALE_AFTER
    if expired and engine is not None and is_sqlite(engine):
        return not _write_locked(engine)
    return expired


def _write_locked(engine: Engine) -> bool:
    """Whether another connection holds SQLite's write lock (checked within 0.2 s)."""
    with engine.connect() as raw:
        conn = raw.execution_options(isolation_level="AUTOCOMMIT")
        conn.exec_driver_sql("PRAGMA busy_timeout=200")
        try:
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        except sa.exc.OperationalError:
            return True
        finally:
            conn.exec_driver_sql("PRAGMA busy_timeout=10000")
        conn.exec_driver_sql("ROLLBACK")
    return False


def lost_condition(now: datetime) -> Any:
    j = schema.jobs.c
    return sa.and_(
        j.status == "running",
        sa.or_(
            j.lease_expires_at < now,
            sa.and_(j.lease_expires_at.is_(None), j.heartbeat_at < now - STALE_AFTER),
        ),
    )


def recover_stale(engine: Engine) -> int:
    """Fail running jobs whose lease ran out (``worker_lost``, uploads kept for a
    retry); returns how many."""
    j = schema.jobs
    now = utcnow()
    with engine.begin() as conn:
        rows = conn.execute(
            j.update()
            .where(lost_condition(now))
            .values(
                status="failed",
                error="the worker stopped",
                result={"file_error": {"code": "worker_lost"}},
                finished_at=now,
            )
            .returning(j.c.id)
        ).all()
    for row in rows:
        log.warning("job %s: its worker's lease ran out; marked failed (retryable)", row.id)
    return len(rows)


def retry(engine: Engine, job_id: int) -> bool:
    """Queue a job whose worker was lost again (same params and upload); True if queued."""
    j = schema.jobs
    now = utcnow()
    lost_failed = sa.and_(j.c.status == "failed", j.c.error == "the worker stopped")
    with engine.begin() as conn:
        done = conn.execute(
            j.update()
            .where(j.c.id == job_id, sa.or_(lost_condition(now), lost_failed))
            .values(
                status="queued",
                worker=None,
                lease_expires_at=None,
                error=None,
                result=None,
                progress=0,
                finished_at=None,
                created_at=now,
            )
        ).rowcount
    if done:
        log.info("job %s queued again after its worker was lost", job_id)
    return bool(done)


def cleanup_expired(engine: Engine, now: datetime | None = None) -> int:
    """Delete the files of jobs past `expires_at`; returns how many were removed."""
    j = schema.jobs
    now = now or utcnow()
    with engine.begin() as conn:
        rows = conn.execute(
            sa.select(j.c.id, j.c.file_path).where(
                j.c.expires_at < now, j.c.file_path.is_not(None), j.c.status != "running"
            )
        ).all()
        for row in rows:
            _unlink(row.file_path)
            conn.execute(j.update().where(j.c.id == row.id).values(file_path=None))
    if rows:
        log.info("deleted %d expired job files", len(rows))
    return len(rows)


def _unlink(path: str | None) -> None:
    if not path:
        return
    try:
        Path(path).unlink(missing_ok=True)
    except OSError as exc:
        log.warning("could not delete %s: %s", path, exc)
