"""Routers and their credentials: one-time enrollment codes and device tokens.

A router is created for one location with a one-time enrollment code (random,
stored only as a SHA-256 hash, expires, single use). The installer trades the
code for a device token (random, stored only as a hash, bound to that router
and therefore to one location of one tenant). Tokens are revoked or rotated
from the admin; rotating invalidates the old token at once and issues a new
enrollment code for the same router.

Codes and tokens are high-entropy random strings, so a fast hash (SHA-256) is
enough: nothing to brute-force offline. Lookups go by the hash (indexed,
unique) and the stored hash is compared again in constant time.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from porchlight.admin.db import utcnow
from porchlight.admin.schema import locations, routers, tenants
from porchlight.errors import PorchlightError

log = logging.getLogger(__name__)

CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I
CODE_GROUPS = 3
CODE_GROUP_LEN = 4  # 12 symbols of 32 = 60 bits
TOKEN_PREFIX = "plr_"  # noqa: S105 (a marker, not a secret)
CODE_TTL = timedelta(hours=72)


class EnrollmentError(PorchlightError):
    """The enrollment code is unknown, used, expired, or its router is revoked."""


@dataclass(frozen=True)
class RouterIdentity:
    """Who a device token belongs to."""

    router_id: int
    tenant_id: int
    location_id: int
    name: str


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def normalize_code(code: str) -> str:
    """``abcd efgh-jkLM`` -> ``ABCD-EFGH-JKLM`` (what the user typed, canonical)."""
    letters = "".join(ch for ch in code.upper() if ch.isalnum())
    if len(letters) != CODE_GROUPS * CODE_GROUP_LEN:
        return ""
    return "-".join(letters[i : i + CODE_GROUP_LEN] for i in range(0, len(letters), CODE_GROUP_LEN))


def new_code() -> str:
    letters = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_GROUPS * CODE_GROUP_LEN))
    return normalize_code(letters)


def new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def _issue_code(conn: Connection, router_id: int, ttl: timedelta) -> str:
    code = new_code()
    conn.execute(
        routers.update()
        .where(routers.c.id == router_id)
        .values(enroll_code_hash=_hash(code), enroll_expires_at=utcnow() + ttl)
    )
    return code


def find_location(conn: Connection, tenant_slug: str, location_name: str) -> tuple[int, int]:
    """(tenant_id, location_id) by tenant slug and location name, or raise."""
    tenant_id = conn.execute(sa.select(tenants.c.id).where(tenants.c.slug == tenant_slug)).scalar()
    if tenant_id is None:
        raise PorchlightError(f"no tenant with slug {tenant_slug!r}")
    location_id = conn.execute(
        sa.select(locations.c.id).where(
            locations.c.tenant_id == tenant_id, locations.c.name == location_name
        )
    ).scalar()
    if location_id is None:
        raise PorchlightError(f"tenant {tenant_slug!r} has no location named {location_name!r}")
    return int(tenant_id), int(location_id)


def create_router(
    conn: Connection, location_id: int, name: str, *, ttl: timedelta = CODE_TTL
) -> tuple[int, str]:
    """Create a router for `location_id`; return (router_id, one-time code)."""
    name = name.strip()
    if not name or len(name) > 200:
        raise PorchlightError("router name must be 1 to 200 characters")
    row = conn.execute(
        sa.select(locations.c.tenant_id, locations.c.archived_at).where(
            locations.c.id == location_id
        )
    ).first()
    if row is None:
        raise PorchlightError(f"no location with id {location_id}")
    if row.archived_at is not None:
        raise PorchlightError("that location is archived")
    router_id = conn.execute(
        routers.insert()
        .values(tenant_id=row.tenant_id, location_id=location_id, name=name, created_at=utcnow())
        .returning(routers.c.id)
    ).scalar_one()
    code = _issue_code(conn, int(router_id), ttl)
    log.info("router %s created for location %s", router_id, location_id)
    return int(router_id), code


def enroll(
    conn: Connection, code: str, *, hostname: str | None = None, agent_version: str | None = None
) -> tuple[RouterIdentity, str]:
    """Trade a one-time code for a device token. Single use, even under races."""
    canonical = normalize_code(code)
    if not canonical:
        raise EnrollmentError("enrollment code is not valid")
    code_hash = _hash(canonical)
    now = utcnow()
    token = new_token()
    # One UPDATE that only matches an unused, unexpired, unrevoked code: two
    # racing enrollments cannot both win.
    result = conn.execute(
        routers.update()
        .where(
            routers.c.enroll_code_hash == code_hash,
            routers.c.enroll_expires_at > now,
            routers.c.revoked_at.is_(None),
        )
        .values(
            enroll_code_hash=None,
            enroll_expires_at=None,
            enrolled_at=now,
            token_hash=_hash(token),
            token_prefix=token[:12],
            hostname=(hostname or "")[:200] or None,
            agent_version=(agent_version or "")[:40] or None,
        )
        .returning(routers.c.id, routers.c.tenant_id, routers.c.location_id, routers.c.name)
    ).first()
    if result is None:
        raise EnrollmentError("enrollment code is not valid, already used, or expired")
    identity = RouterIdentity(
        int(result.id), int(result.tenant_id), int(result.location_id), str(result.name)
    )
    log.info("router %s enrolled", identity.router_id)
    return identity, token


def authenticate(conn: Connection, token: str) -> RouterIdentity | None:
    """The router a device token belongs to, or None (unknown or revoked)."""
    if not token.startswith(TOKEN_PREFIX) or len(token) > 100:
        return None
    token_hash = _hash(token)
    row = conn.execute(
        sa.select(
            routers.c.id,
            routers.c.tenant_id,
            routers.c.location_id,
            routers.c.name,
            routers.c.token_hash,
            routers.c.revoked_at,
        ).where(routers.c.token_hash == token_hash)
    ).first()
    if row is None or row.token_hash is None:
        return None
    if not hmac.compare_digest(str(row.token_hash), token_hash) or row.revoked_at is not None:
        return None
    return RouterIdentity(int(row.id), int(row.tenant_id), int(row.location_id), str(row.name))


def revoke(conn: Connection, router_id: int) -> None:
    """Stop the router's token (and any open enrollment code) working at once."""
    result = conn.execute(
        routers.update()
        .where(routers.c.id == router_id)
        .values(revoked_at=utcnow(), enroll_code_hash=None, enroll_expires_at=None)
    )
    if result.rowcount == 0:
        raise PorchlightError(f"no router with id {router_id}")
    log.info("router %s revoked", router_id)


def rotate(conn: Connection, router_id: int, *, ttl: timedelta = CODE_TTL) -> str:
    """Invalidate the router's token now and return a new one-time enrollment code.

    The installer re-runs ``porchlight agent enroll`` with the new code; until
    then the router queues its events locally (nothing is lost).
    """
    result = conn.execute(
        routers.update()
        .where(routers.c.id == router_id)
        .values(token_hash=None, token_prefix=None, revoked_at=None, enrolled_at=None)
    )
    if result.rowcount == 0:
        raise PorchlightError(f"no router with id {router_id}")
    log.info("router %s token rotated", router_id)
    return _issue_code(conn, router_id, ttl)


def router_status(row: Any, now: datetime, stale_seconds: int) -> str:
    """``pending`` / ``revoked`` / ``online`` / ``stale`` / ``never`` for screens."""
    if row.revoked_at is not None:
        return "revoked"
    if row.enrolled_at is None:
        return "pending"
    if row.last_seen_at is None:
        return "never"
    return "online" if (now - row.last_seen_at).total_seconds() <= stale_seconds else "stale"


def list_routers(conn: Connection, tenant_id: int) -> list[dict[str, Any]]:
    public = [c for c in routers.c if c.name not in ("token_hash", "enroll_code_hash")]
    rows = conn.execute(
        sa.select(*public, locations.c.name.label("location_name"))
        .join(locations, locations.c.id == routers.c.location_id)
        .where(routers.c.tenant_id == tenant_id)
        .order_by(routers.c.id)
    ).all()
    return [dict(row._mapping) for row in rows]
