"""Retention as the worker's job: queued daily once turned on, run, audited."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from porchlight.admin import schema
from porchlight.admin.db import utcnow
from porchlight.admin.io import worker
from porchlight.admin.privacy import schedule
from porchlight.admin.privacy import settings as privacy_settings

OLD = datetime(2020, 1, 5, 3, tzinfo=UTC)


def _jobs(engine, tenant_id: int) -> list[tuple[str, str]]:
    j = schema.jobs
    with engine.connect() as conn:
        return [
            (r.kind, r.status)
            for r in conn.execute(
                sa.select(j.c.kind, j.c.status).where(j.c.tenant_id == tenant_id).order_by(j.c.id)
            )
        ]


def test_the_worker_runs_a_daily_pass_only_once_retention_is_on(engine, world, factory, tmp_path):
    gone = factory.customer(
        world.tenant_id, "Gone", phone="+84912000091", visits=[(world.q1, OLD, "form")]
    )
    assert schedule.schedule_due(engine) == 0  # off by default: nothing is queued
    with engine.begin() as conn:
        privacy_settings.save(conn, world.tenant_id, {"retention_enabled": True}, None)
    assert schedule.schedule_due(engine) == 1
    assert schedule.schedule_due(engine) == 0  # one waiting pass is enough
    assert worker.run_pending(engine, tmp_path) == 1
    assert _jobs(engine, world.tenant_id) == [("retention", "done")]
    with engine.connect() as conn:
        assert (
            conn.execute(sa.select(schema.customers).where(schema.customers.c.id == gone)).first()
            is None
        )
        result = conn.execute(sa.select(schema.jobs.c.result)).scalar()
        assert result["customers"] == 1
        ran = privacy_settings.load(conn, world.tenant_id)
    assert ran.last_run_at is not None
    # Not again the same day; again a day later (a moved clock, no sleeping).
    assert schedule.schedule_due(engine, utcnow() + timedelta(hours=23)) == 0
    assert schedule.schedule_due(engine, utcnow() + timedelta(days=1, minutes=1)) == 1


def test_months_before_keeps_the_day_or_the_month_end() -> None:
    when = datetime(2026, 3, 31, 12, tzinfo=UTC)
    assert privacy_settings.months_before(when, 1) == datetime(2026, 2, 28, 12, tzinfo=UTC)
    assert privacy_settings.months_before(when, 24) == datetime(2024, 3, 31, 12, tzinfo=UTC)
    assert privacy_settings.months_before(datetime(2026, 1, 15, tzinfo=UTC), 13) == datetime(
        2024, 12, 15, tzinfo=UTC
    )
