"""A tenant's retention settings (`privacy_settings`; no row = the defaults, off)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from porchlight.admin import schema
from porchlight.admin.db import utcnow

# Defaults the issue and the laws suggest: a customer who has not come back for
# two years is no longer a customer; a device address, an IP and byte counts
# only serve support and abuse questions, answered within weeks.
DEFAULT_CUSTOMER_MONTHS = 24
DEFAULT_DEVICE_DAYS = 90
CUSTOMER_MONTHS_RANGE = (1, 120)
DEVICE_DAYS_RANGE = (1, 3650)
RUN_EVERY = timedelta(days=1)  # the worker's schedule once retention is on

ps = schema.privacy_settings


@dataclass(frozen=True)
class Retention:
    enabled: bool = False
    customer_months: int = DEFAULT_CUSTOMER_MONTHS
    device_days: int = DEFAULT_DEVICE_DAYS
    devices_pruned_before: datetime | None = None
    last_run_at: datetime | None = None
    last_result: dict[str, Any] | None = None

    def customer_cutoff(self, now: datetime) -> datetime:
        return months_before(now, self.customer_months)

    def device_cutoff(self, now: datetime) -> datetime:
        return now - timedelta(days=self.device_days)


def months_before(when: datetime, months: int) -> datetime:
    """The same day and time `months` calendar months earlier (the 31st -> month end)."""
    index = when.year * 12 + (when.month - 1) - months
    year, month = divmod(index, 12)
    month += 1
    days = [31, 29 if _leap(year) else 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1]
    return when.replace(year=year, month=month, day=min(when.day, days))


def _leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


def load(conn: Connection, tenant_id: int) -> Retention:
    row = conn.execute(sa.select(ps).where(ps.c.tenant_id == tenant_id)).first()
    if row is None:
        return Retention()
    return Retention(
        enabled=bool(row.retention_enabled),
        customer_months=int(row.customer_months),
        device_days=int(row.device_days),
        devices_pruned_before=row.devices_pruned_before,
        last_run_at=row.last_run_at,
        last_result=row.last_result if isinstance(row.last_result, dict) else None,
    )


def save(conn: Connection, tenant_id: int, values: dict[str, Any], user_id: int | None) -> None:
    """Insert or update the tenant's row with `values` (column names)."""
    values = {**values, "updated_at": utcnow(), "updated_by": user_id}
    exists = conn.execute(sa.select(ps.c.tenant_id).where(ps.c.tenant_id == tenant_id)).first()
    if exists is None:
        conn.execute(ps.insert().values(tenant_id=tenant_id, **values))
    else:
        conn.execute(ps.update().where(ps.c.tenant_id == tenant_id).values(**values))


def record_run(conn: Connection, tenant_id: int, result: dict[str, Any], now: datetime) -> None:
    """After a pass: when it ran, what it did, and how far devices are pruned."""
    values = {"last_run_at": now, "last_result": result}
    if result.get("device_cutoff"):
        values["devices_pruned_before"] = datetime.fromisoformat(result["device_cutoff"])
    exists = conn.execute(sa.select(ps.c.tenant_id).where(ps.c.tenant_id == tenant_id)).first()
    if exists is None:
        conn.execute(ps.insert().values(tenant_id=tenant_id, updated_at=now, **values))
    else:
        conn.execute(ps.update().where(ps.c.tenant_id == tenant_id).values(**values))
