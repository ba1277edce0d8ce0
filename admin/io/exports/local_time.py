"""An export's local time: the zone it is told in, its file name, the zone in words.

The zone is the one of the locations the export can hold when they all share
it (a location filter, a manager's locations, or every location of the
tenant), else the tenant's own (`tenant_zone`, from its country, as the
dashboard tells time). A Bangkok tenant's export asked at 19:30 on 6
December is ``customers-2026-12-06-1930.xlsx``, whatever the date in UTC.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from porchlight.admin import schema
from porchlight.admin.customers.query import tenant_zone


def named_zone(name: str | None, fallback: ZoneInfo) -> ZoneInfo:
    try:
        return ZoneInfo(name) if name else fallback
    except (ZoneInfoNotFoundError, ValueError):
        return fallback


def tenant_local_zone(conn: Connection, tenant_id: int) -> ZoneInfo:
    t = schema.tenants.c
    country = conn.execute(sa.select(t.country).where(t.id == tenant_id)).scalar()
    return tenant_zone(str(country or "VN"))


def export_zone(
    conn: Connection, tenant_id: int, location_ids: Sequence[int] | None = None
) -> ZoneInfo:
    """The zone `location_ids` (None: all the tenant's) share, else the tenant's."""
    loc = schema.locations.c
    query = sa.select(loc.timezone).where(loc.tenant_id == tenant_id).distinct().limit(2)
    if location_ids is not None:
        query = query.where(loc.id.in_(list(location_ids)))
    zones = list(conn.execute(query).scalars())
    fallback = tenant_local_zone(conn, tenant_id)
    return named_zone(zones[0], fallback) if len(zones) == 1 else fallback


def file_stem(now: datetime, zone: ZoneInfo) -> str:
    """``customers-2026-12-06-1930``: `now` (aware) to the minute in `zone`."""
    return "customers-" + now.astimezone(zone).strftime("%Y-%m-%d-%H%M")


def utc_offset(zone: ZoneInfo, at: datetime) -> str:
    """``UTC+7``, ``UTC+5:30``, ``UTC-3``: the zone's offset at `at` (aware)."""
    offset = at.astimezone(zone).utcoffset() or timedelta()
    minutes = int(offset.total_seconds() // 60)
    sign = "-" if minutes < 0 else "+"
    hours, rest = divmod(abs(minutes), 60)
    return f"UTC{sign}{hours}" + (f":{rest:02d}" if rest else "")


def zone_words(zone: ZoneInfo, at: datetime) -> str:
    """``Asia/Bangkok (UTC+7)``: the zone named as people find it in lists."""
    return f"{zone.key} ({utc_offset(zone, at)})"
