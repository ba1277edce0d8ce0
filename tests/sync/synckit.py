"""Helpers shared by the sync tests (events, venues, row counts)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from porchlight.admin.db import utcnow
from porchlight.admin.enrollment import create_router, enroll
from porchlight.admin.schema import locations, tenants
from porchlight.events import new_event_id, utc_now_iso


@dataclass
class Venue:
    tenant_id: int
    location_id: int
    router_id: int
    token: str
    slug: str


def make_venue(engine: Engine, country: str = "VN") -> Venue:
    """A fresh tenant with one location and one enrolled router."""
    slug = f"t{uuid.uuid4().hex[:10]}"
    now = utcnow()
    with engine.begin() as conn:
        tenant_id = conn.execute(
            tenants.insert().values(slug=slug, name=slug, country=country, created_at=now)
        ).inserted_primary_key[0]
        location_id = conn.execute(
            locations.insert().values(
                tenant_id=tenant_id,
                name="Café Q1",
                country=country,
                created_at=now,
                updated_at=now,
            )
        ).inserted_primary_key[0]
        _router_id, code = create_router(conn, int(location_id), "front desk")
        identity, token = enroll(conn, code)
    return Venue(int(tenant_id), int(location_id), identity.router_id, token, slug)


def login_event(
    phone: str | None = "0912345678",
    *,
    mac: str = "aa:bb:cc:dd:ee:01",
    session_id: str | None = None,
    occurred_at: str | None = None,
    channel: str = "form",
    name: str = "Lan",
    email: str | None = None,
    tags: list[str] | None = None,
) -> dict[str, Any]:
    return {
        "id": new_event_id(),
        "type": "login",
        "occurred_at": occurred_at or utc_now_iso(),
        "mac": mac,
        "data": {
            "session_id": session_id or uuid.uuid4().hex,
            "channel": channel,
            "name": name,
            "phone": phone,
            "email": email,
            "tags": tags or ["wifi"],
            "consents": [
                {"purpose": "wifi", "granted": True, "text_version": "wifi-v1"},
                {"purpose": "marketing", "granted": False, "text_version": "mkt-v1"},
            ],
            "device": {"ip": "10.0.0.5", "hostname": "phone", "randomized": True},
        },
    }


def end_event(
    session_id: str, *, mac: str = "aa:bb:cc:dd:ee:01", dwell: int = 600
) -> dict[str, Any]:
    return {
        "id": new_event_id(),
        "type": "session_end",
        "occurred_at": utc_now_iso(),
        "mac": mac,
        "data": {
            "session_id": session_id,
            "started_at": "2026-11-25T10:00:00Z",
            "ended_at": "2026-11-25T10:10:00Z",
            "dwell_seconds": dwell,
            "bytes_in": 1000,
            "bytes_out": 2000,
            "reason": "expired",
        },
    }


def count(engine: Engine, table: str, where: str = "1=1", **params: Any) -> int:
    with engine.connect() as conn:
        return int(
            conn.execute(sa.text(f"SELECT count(*) FROM {table} WHERE {where}"), params).scalar()
            or 0
        )
