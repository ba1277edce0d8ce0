"""Adoption of routers flashed from deploy/build-image: announce, adopt, hand over.

A router with no enrollment code announces itself (``POST /api/v1/announce``)
with its tenant's adoption key (baked into the image), a random secret of its
own, its serial, MACs and version. The announcement grants nothing: no
config, no data, no token. A manager adopts it into a location with one
click on the Routers page, which creates its `routers` row. On its next
announce with the same secret the router gets a one-time enrollment code
(short-lived, handed out once), which install-router trades for the device
token through ``/api/v1/enroll`` exactly as a code typed by an installer.

Keys and secrets are high-entropy random strings stored only as SHA-256.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from porchlight.admin.db import utcnow
from porchlight.admin.schema import adoption_keys, router_announcements, routers, tenants
from porchlight.admin.sync.enrollment import create_router, rotate
from porchlight.errors import PorchlightError
from porchlight.events import EventError, normalize_mac

KEY_PREFIX = "pla_"
MAX_WAITING = 50  # unadopted announcements kept per tenant
MAX_MACS = 8
POLL_SECONDS = 10  # what the router is told to wait between announces
HANDOVER_TTL = timedelta(minutes=30)
FORGET_AFTER = timedelta(days=7)  # unadopted routers not heard from are dropped


class AnnounceError(PorchlightError):
    """The announcement is refused (status, code, message)."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code = status, code


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def new_adoption_key(conn: Connection, tenant_slug: str) -> str:
    tenant_id = conn.execute(sa.select(tenants.c.id).where(tenants.c.slug == tenant_slug)).scalar()
    if tenant_id is None:
        raise PorchlightError(f"no tenant with slug {tenant_slug!r}")
    key = KEY_PREFIX + secrets.token_urlsafe(24)
    conn.execute(
        adoption_keys.insert().values(tenant_id=tenant_id, key_hash=_hash(key), created_at=utcnow())
    )
    return key


def tenant_of_key(conn: Connection, key: str) -> int | None:
    ak = adoption_keys.c
    row = conn.execute(
        sa.select(ak.tenant_id).where(ak.key_hash == _hash(key), ak.revoked_at.is_(None))
    ).first()
    return int(row.tenant_id) if row else None


def clean_macs(value: Any) -> list[str]:
    if not isinstance(value, list) or not 1 <= len(value) <= MAX_MACS:
        raise AnnounceError(422, "invalid", f"macs: expected 1 to {MAX_MACS} MAC addresses")
    try:
        return sorted({normalize_mac(str(mac)) for mac in value if isinstance(mac, str)})
    except EventError as exc:
        raise AnnounceError(422, "invalid", f"macs: {exc.message}") from exc


def announce(conn: Connection, fields: dict[str, Any], remote: str) -> dict[str, Any]:
    """Record an announcement; the router's answer: waiting, or its one-time code.

    `fields` are already bounded strings (key, secret, serial, agent_version,
    location_hint) and a `macs` list."""
    tenant_id = tenant_of_key(conn, fields["key"])
    if tenant_id is None:
        raise AnnounceError(403, "invalid_key", "adoption key is not valid or was revoked")
    ra = router_announcements.c
    now = utcnow()
    conn.execute(
        router_announcements.delete().where(
            ra.router_id.is_(None), ra.last_seen_at < now - FORGET_AFTER
        )
    )
    secret_hash = _hash(fields["secret"])
    row = conn.execute(sa.select(router_announcements).where(ra.secret_hash == secret_hash)).first()
    values = {
        "serial": fields["serial"],
        "macs": fields["macs"],
        "agent_version": fields.get("agent_version"),
        "location_hint": fields.get("location_hint"),
        "remote_addr": remote[:64],
        "last_seen_at": now,
    }
    if row is None:
        waiting = conn.execute(
            sa.select(sa.func.count()).where(ra.tenant_id == tenant_id, ra.router_id.is_(None))
        ).scalar()
        if int(waiting or 0) >= MAX_WAITING:
            raise AnnounceError(
                429, "too_many_waiting", "too many routers are waiting for adoption"
            )
        conn.execute(
            router_announcements.insert().values(
                tenant_id=tenant_id, secret_hash=secret_hash, created_at=now, **values
            )
        )
        return {"status": "waiting", "poll_seconds": POLL_SECONDS}
    if row.tenant_id != tenant_id:
        raise AnnounceError(403, "invalid_key", "adoption key is not valid or was revoked")
    conn.execute(router_announcements.update().where(ra.id == row.id).values(values))
    if row.router_id is None:
        return {"status": "waiting", "poll_seconds": POLL_SECONDS}
    if row.delivered_at is not None:
        raise AnnounceError(409, "delivered", "this router's code was already handed over")
    code = rotate(conn, int(row.router_id), ttl=HANDOVER_TTL)
    conn.execute(router_announcements.update().where(ra.id == row.id).values(delivered_at=now))
    return {"status": "adopted", "code": code, "router_id": int(row.router_id)}


def waiting(conn: Connection, tenant_id: int) -> list[dict[str, Any]]:
    """The tenant's announcements not adopted yet, newest first."""
    ra = router_announcements.c
    since = utcnow() - FORGET_AFTER
    rows = conn.execute(
        sa.select(router_announcements)
        .where(ra.tenant_id == tenant_id, ra.router_id.is_(None), ra.last_seen_at >= since)
        .order_by(ra.last_seen_at.desc())
        .limit(MAX_WAITING)
    )
    return [dict(row._mapping) for row in rows]


def adopt(conn: Connection, tenant_id: int, location_id: int, announcement_id: int) -> int | None:
    """Adopt the announcement into the location: its new router's id, or None if it
    is not (or no longer) waiting in this tenant."""
    ra = router_announcements.c
    row = conn.execute(
        sa.select(router_announcements).where(
            ra.id == announcement_id, ra.tenant_id == tenant_id, ra.router_id.is_(None)
        )
    ).first()
    if row is None:
        return None
    name = f"Router {row.serial}"[:200]
    router_id, _code = create_router(conn, location_id, name)  # the code is never shown
    conn.execute(routers.update().where(routers.c.id == router_id).values(enroll_code_hash=None))
    conn.execute(
        router_announcements.update()
        .where(ra.id == announcement_id, ra.router_id.is_(None))
        .values(router_id=router_id, adopted_at=utcnow())
    )
    return router_id
