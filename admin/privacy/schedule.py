"""Retention as a background job (kind ``retention``) and its daily schedule.

`schedule_due` (called by the worker's housekeeping) queues one job per tenant
whose retention is on and whose last pass is a day old; `run_retention_job`
runs it. A manager's "Run now" queues the same job by hand.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from porchlight.admin import schema
from porchlight.admin.db import utcnow
from porchlight.admin.io import jobs
from porchlight.admin.privacy import retention
from porchlight.admin.privacy.settings import RUN_EVERY

log = logging.getLogger(__name__)

j, ps = schema.jobs, schema.privacy_settings


def pending(conn: Connection, tenant_id: int) -> bool:
    """A retention job of the tenant is queued or running."""
    found = conn.execute(
        sa.select(j.c.id).where(
            j.c.tenant_id == tenant_id,
            j.c.kind == "retention",
            j.c.status.in_(("queued", "running")),
        )
    ).first()
    return found is not None


def queue(conn: Connection, tenant_id: int, user_id: int | None) -> int | None:
    """Queue a pass unless one is already waiting; its id, or None."""
    if pending(conn, tenant_id):
        return None
    return jobs.enqueue(conn, tenant_id=tenant_id, kind="retention", params={}, created_by=user_id)


def schedule_due(engine: Engine, now: datetime | None = None) -> int:
    """Queue a pass for every tenant with retention on and no pass in `RUN_EVERY`."""
    now = now or utcnow()
    queued = 0
    with engine.begin() as conn:
        rows = conn.execute(
            sa.select(ps.c.tenant_id).where(
                ps.c.retention_enabled.is_(True),
                sa.or_(ps.c.last_run_at.is_(None), ps.c.last_run_at <= now - RUN_EVERY),
            )
        ).scalars()
        for tenant_id in list(rows):
            if queue(conn, int(tenant_id), None) is not None:
                queued += 1
    if queued:
        log.info("queued %d retention pass(es)", queued)
    return queued


def run_retention_job(engine: Engine, job: jobs.Job) -> None:
    last = [0.0]

    def beat(done: int) -> None:  # at most once a second: each beat is a write too
        if time.monotonic() - last[0] >= 1.0:
            last[0] = time.monotonic()
            jobs.heartbeat(engine, job.id, done)

    result = retention.run(engine, job.tenant_id, user_id=job.created_by, progress=beat)
    jobs.finish(engine, job.id, result, progress=int(result["customers"]))
