"""The dashboard (blueprint ``dashboard``): the first page after sign-in.

Customers in total and new in the period, new vs returning, visits per day,
busiest hours and login channels, for all locations or one. Charts are SVG
drawn on the server (no script, no CDN). Days and hours are the tenant's
local time (Vietnam and Thailand are UTC+7 all year).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from flask import Blueprint, render_template, request
from flask.typing import ResponseReturnValue
from sqlalchemy.engine import Connection

from porchlight.admin import schema
from porchlight.admin.customers import channel_rollup, customer_rollup
from porchlight.admin.customers.filter_words import channel_words
from porchlight.admin.customers.list_page import (
    location_scope,
    tenant_locations,
    tenant_region,
)
from porchlight.admin.customers.query import tenant_zone
from porchlight.admin.customers.visit_rollup import epoch_hour
from porchlight.admin.db import get_engine, utcnow
from porchlight.admin.scope import current_tenant_id, require_role

bp = Blueprint("dashboard", __name__)
PERIODS = (7, 30, 90)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _local(conn: Connection, column: Any, minutes: int, fmt: str) -> Any:
    """`column` shifted to local time and formatted ('day' or 'hour'), per dialect."""
    if conn.dialect.name == "postgresql":
        shifted = column + sa.text(f"interval '{minutes} minutes'")
        return sa.func.to_char(shifted, "YYYY-MM-DD" if fmt == "day" else "HH24")
    return sa.func.strftime("%Y-%m-%d" if fmt == "day" else "%H", column, f"{minutes:+d} minutes")


def collect(
    conn: Connection,
    tenant_id: int,
    places: list[int] | None,
    days: int,
    offset_minutes: int,
) -> dict[str, Any]:
    """The dashboard figures; `places` None = the whole tenant."""
    v = schema.visits
    now = utcnow()
    local_today = (now + timedelta(minutes=offset_minutes)).date()
    first_day = local_today - timedelta(days=days - 1)
    start = datetime.combine(first_day, datetime.min.time(), now.tzinfo) - timedelta(
        minutes=offset_minutes
    )
    if places is None and offset_minutes % 60 == 0:  # sums over customer_hours
        total = _tenant_total(conn, tenant_id)
        new, came = customer_rollup.since(conn, tenant_id, epoch_hour(start))
    else:
        total, new, came = _customer_counts(conn, tenant_id, places, start)
    where = _visits_where(tenant_id, places, start)
    if offset_minutes % 60 == 0:
        per_day, per_hour = _visits_from_rollup(conn, tenant_id, places, start, offset_minutes)
    else:
        per_day, per_hour = _visits_from_rows(conn, where, offset_minutes)
    if places is None and offset_minutes % 60 == 0:  # a sum over channel_hours
        channels = channel_rollup.per_channel(conn, tenant_id, epoch_hour(start))
    else:
        channels = [
            (r.channel, r.n)
            for r in conn.execute(
                sa.select(v.c.channel, sa.func.count(sa.distinct(v.c.customer_id)).label("n"))
                .where(*where)
                .group_by(v.c.channel)
                .order_by(sa.desc("n"), v.c.channel)
            )
        ]
    days_list = [first_day + timedelta(days=i) for i in range(days)]
    return {
        "total": total,
        "new": new,
        "returning": max(came - new, 0),
        "since": first_day,
        "visits": sum(per_day.values()),
        "per_day": [(d, int(per_day.get(d.isoformat(), 0))) for d in days_list],
        "per_hour": [(h, int(per_hour.get(h, 0))) for h in range(24)],
        "channels": channels,
        "first_day": first_day,
        "today": local_today,
    }


def _tenant_total(conn: Connection, tenant_id: int) -> int:
    c = schema.customers
    return int(
        conn.execute(
            sa.select(sa.func.count()).select_from(c).where(c.c.tenant_id == tenant_id)
        ).scalar_one()
    )


def _customer_counts(
    conn: Connection, tenant_id: int, places: list[int] | None, start: datetime
) -> tuple[int, int, int]:
    """(customers in total, new since `start`, seen since `start`)."""
    c, cl = schema.customers, schema.customer_locations
    if places is None:
        base = sa.select(sa.func.count()).select_from(c).where(c.c.tenant_id == tenant_id)
        total = conn.execute(base).scalar_one()
        new = conn.execute(base.where(c.c.first_visit_at >= start)).scalar_one()
        came = conn.execute(base.where(c.c.last_visit_at >= start)).scalar_one()
        return total, new, came
    per = sa.select(sa.func.count(sa.distinct(cl.c.customer_id))).where(
        cl.c.location_id.in_(places)
    )
    total = conn.execute(per).scalar_one()
    older = cl.alias("older")
    new = conn.execute(
        per.where(
            cl.c.first_visit_at >= start,
            ~sa.exists().where(
                older.c.customer_id == cl.c.customer_id,
                older.c.location_id.in_(places),
                older.c.first_visit_at < start,
            ),
        )
    ).scalar_one()
    came = conn.execute(per.where(cl.c.last_visit_at >= start)).scalar_one()
    return total, new, came


def _visits_where(tenant_id: int, places: list[int] | None, start: datetime) -> list[Any]:
    v = schema.visits
    if places is None:
        return [v.c.tenant_id == tenant_id, v.c.started_at >= start]
    # Per location: ix_visits_location_started (location_id, started_at,
    # channel, customer_id) is the index to read, alone. No tenant condition:
    # `places` are the tenant's own locations (the page checks them), and one
    # would send SQLite to the tenant-wide index or to the table for each row.
    return [v.c.started_at >= start, v.c.location_id.in_(places)]


def _visits_from_rollup(
    conn: Connection,
    tenant_id: int,
    places: list[int] | None,
    start: datetime,
    offset_minutes: int,
) -> tuple[dict[str, int], dict[int, int]]:
    """Whole-hour offset: sum the hourly rollup (a few hundred rows a month)."""
    per_day: dict[str, int] = {}
    per_hour: dict[int, int] = {}
    vh = schema.visit_hours
    vh_where = [vh.c.tenant_id == tenant_id, vh.c.hour >= epoch_hour(start)]
    if places is not None:
        vh_where.append(vh.c.location_id.in_(places))
    shift = offset_minutes // 60
    for r in conn.execute(
        sa.select(vh.c.hour, sa.func.sum(vh.c.visits).label("n"))
        .where(*vh_where)
        .group_by(vh.c.hour)
    ):
        local_hour = int(r.hour) + shift
        key = (EPOCH + timedelta(hours=local_hour)).date().isoformat()
        per_day[key] = per_day.get(key, 0) + int(r.n)
        per_hour[local_hour % 24] = per_hour.get(local_hour % 24, 0) + int(r.n)
    return per_day, per_hour


def _visits_from_rows(
    conn: Connection, where: list[Any], offset_minutes: int
) -> tuple[dict[str, int], dict[int, int]]:
    """One pass over the period's visits (the started_at index covers it)."""
    per_day: dict[str, int] = {}
    per_hour: dict[int, int] = {}
    v = schema.visits
    day = _local(conn, v.c.started_at, offset_minutes, "day").label("d")
    hour = _local(conn, v.c.started_at, offset_minutes, "hour").label("h")
    for r in conn.execute(
        sa.select(day, hour, sa.func.count().label("n")).where(*where).group_by(day, hour)
    ):
        per_day[r.d] = per_day.get(r.d, 0) + int(r.n)
        per_hour[int(r.h)] = per_hour.get(int(r.h), 0) + int(r.n)
    return per_day, per_hour


def bar_chart(points: list[tuple[Any, int]], width: int = 720, height: int = 180) -> dict[str, Any]:
    """Bars (x, y, w, h) for an SVG chart, plus a few axis labels."""
    top = max((n for _k, n in points), default=0) or 1
    gap = 2 if len(points) < 40 else 1
    bar_w = max((width - gap * len(points)) / max(len(points), 1), 1)
    bars = []
    for i, (key, n) in enumerate(points):
        h = round((n / top) * (height - 20), 1)
        bars.append(
            {"x": round(i * (bar_w + gap), 1), "y": round(height - h, 1), "w": round(bar_w, 1),
             "h": h, "key": key, "n": n}
        )  # fmt: skip
    return {"bars": bars, "top": top, "width": width, "height": height}


@bp.route("/")
@require_role()
def index() -> ResponseReturnValue:
    tenant_id = current_tenant_id()
    raw_days = request.args.get("days", "30")
    days = int(raw_days) if raw_days.isdigit() and int(raw_days) in PERIODS else 30
    raw_loc = request.args.get("location", "")
    with get_engine().connect() as conn:
        scope = location_scope(conn)
        locations = tenant_locations(conn, tenant_id, scope)
        known = {loc.id for loc in locations}
        location = int(raw_loc) if raw_loc.isdigit() and int(raw_loc) in known else None
        places = [location] if location is not None else scope
        zone = tenant_zone(tenant_region(conn, tenant_id))
        offset = int((utcnow().astimezone(zone).utcoffset() or timedelta()).total_seconds() // 60)
        data = collect(conn, tenant_id, places, days, offset)
    labels = channel_words()
    return render_template(
        "dashboard.html",
        d=data,
        days=days,
        periods=PERIODS,
        location=location,
        locations=locations,
        day_chart=bar_chart(data["per_day"]),
        hour_chart=bar_chart(data["per_hour"], height=140),
        channel_top=max((n for _c, n in data["channels"]), default=0) or 1,
        labels=labels,
        weekday=lambda d: d.weekday() if isinstance(d, date) else 0,
    )
