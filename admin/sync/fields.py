"""Bounded fields of the router API's small bodies (enroll, heartbeat) and the clock skew.

Every field is checked against `porchlight.bounds` (text without control
characters, whole numbers that fit their column, times in range) and refused
with 422 naming the field; fields the admin does not know are ignored.

The router's clock: heartbeats carry ``clock`` and event batches
``sent_at`` (the router's time when it sent them). The admin stores the
difference to its own clock in ``routers.clock_skew_seconds`` (positive: the
router runs ahead), which the Routers page shows, since events outside the
admin's time window (`porchlight.bounds.in_window`) are refused.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from sqlalchemy.engine import Connection

from porchlight import bounds
from porchlight.admin.schema import routers
from porchlight.admin.sync.guard import ApiError
from porchlight.events import EventError, parse_time

log = logging.getLogger(__name__)

SKEW_LOGGED = 300  # seconds: a router this far off is logged


def short_text(body: dict[str, Any], key: str, limit: int) -> str | None:
    value = body.get(key)
    if value is None:
        return None
    try:
        return bounds.text(value, key, limit)
    except bounds.BoundsError as exc:
        raise ApiError(422, "invalid", str(exc), extra={"field": key}) from exc


def count(body: dict[str, Any], key: str, maximum: int = bounds.MAX_INT32) -> int | None:
    """A whole number that fits its column (a 32-bit Integer unless told)."""
    value = body.get(key)
    if value is None:
        return None
    try:
        return bounds.whole(value, key, maximum)
    except bounds.BoundsError as exc:
        raise ApiError(422, "invalid", str(exc), extra={"field": key}) from exc


def clock_skew(body: dict[str, Any], key: str, now: datetime) -> int | None:
    """Seconds the router's clock (`key`, an ISO time) runs ahead of `now`."""
    value = body.get(key)
    if value is None:
        return None
    try:
        router_time = parse_time(value, key)
    except EventError as exc:
        raise ApiError(422, "invalid", exc.message, extra={"field": key}) from exc
    skew = round((router_time - now).total_seconds())
    return max(-bounds.MAX_INT32, min(bounds.MAX_INT32, skew))


def record_skew(conn: Connection, router_id: int, skew: int | None) -> None:
    if skew is None:
        return
    if abs(skew) >= SKEW_LOGGED:
        log.warning("router %s: its clock is %+d s off the admin's", router_id, skew)
    conn.execute(routers.update().where(routers.c.id == router_id).values(clock_skew_seconds=skew))


def heartbeat_values(body: dict[str, Any], now: datetime) -> dict[str, Any]:
    """The routers row's new values from a heartbeat body (None-valued fields left out)."""
    values = {
        "last_seen_at": now,
        "agent_version": short_text(body, "agent_version", 40),
        "uptime_seconds": count(body, "uptime_seconds", bounds.MAX_SAFE_INT),
        "clients_online": count(body, "clients_online"),
        "outbox_depth": count(body, "outbox_depth"),
        "config_etag": short_text(body, "config_etag", 80),
        "rejected_events": count(body, "rejected_events"),
        "rejected_reason": short_text(body, "rejected_reason", 200),
        "clock_skew_seconds": clock_skew(body, "clock", now),
    }
    return {key: value for key, value in values.items() if value is not None}
