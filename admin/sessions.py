"""Server-side sign-in sessions: one `user_sessions` row per signed-in browser.

The signed Flask cookie carries ``_user_id`` = ``s:<token>`` (flask-login's
user id), where the token is 32 random bytes; the table keeps only its
SHA-256. Every request that asks who is signed in looks the row up
(`load`), so deleting rows ends sessions at once, wherever the cookie went:

- `end(token)` — sign-out of this browser;
- `end_all(user_id)` — "sign out everywhere", a password change or reset, a
  role change, the user deactivated (removing the user deletes the rows by
  cascade).

Sessions idle longer than `IDLE_LIMIT` or older than `AGE_LIMIT` end too.
`last_seen_at` is written at most every `TOUCH_EVERY`, not on every request.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from porchlight.admin import schema
from porchlight.admin.db import utcnow

PREFIX = "s:"
IDLE_LIMIT = timedelta(days=7)
AGE_LIMIT = timedelta(days=30)
TOUCH_EVERY = timedelta(minutes=5)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start(
    conn: Connection,
    user_id: int,
    *,
    ip: str | None = None,
    user_agent: str | None = None,
    now: datetime | None = None,
) -> str:
    """A new session for `user_id`; returns the id for flask-login (``s:<token>``)."""
    now = now or utcnow()
    token = secrets.token_urlsafe(32)
    conn.execute(
        schema.user_sessions.insert().values(
            user_id=user_id,
            token_hash=token_hash(token),
            created_at=now,
            last_seen_at=now,
            ip=(ip or None) and ip[:45],
            user_agent=(user_agent or None) and user_agent[:200],
        )
    )
    return PREFIX + token


def _token(session_id: str) -> str | None:
    if not session_id.startswith(PREFIX) or len(session_id) > 100:
        return None
    return session_id[len(PREFIX) :] or None


def load(conn: Connection, session_id: str, now: datetime | None = None) -> Any | None:
    """The user row (with ``session_pk``, ``last_seen_at`` and the tenant's country,
    ``tenant_country``) of a live session, else None."""
    token = _token(session_id)
    if token is None:
        return None
    now = now or utcnow()
    s, u, t = schema.user_sessions, schema.users, schema.tenants
    row = conn.execute(
        sa.select(
            u,
            s.c.id.label("session_pk"),
            s.c.created_at.label("session_created_at"),
            s.c.last_seen_at,
            t.c.country.label("tenant_country"),
        )
        .select_from(s.join(u, u.c.id == s.c.user_id).join(t, t.c.id == u.c.tenant_id))
        .where(s.c.token_hash == token_hash(token))
    ).first()
    if row is None:
        return None
    if now - row.last_seen_at > IDLE_LIMIT or now - row.session_created_at > AGE_LIMIT:
        conn.execute(s.delete().where(s.c.id == row.session_pk))
        return None
    if now - row.last_seen_at > TOUCH_EVERY:
        conn.execute(s.update().where(s.c.id == row.session_pk).values(last_seen_at=now))
    return row


def end(conn: Connection, session_id: str) -> int:
    """End one session (this browser's sign-out); returns how many rows went."""
    token = _token(session_id)
    if token is None:
        return 0
    s = schema.user_sessions
    return int(conn.execute(s.delete().where(s.c.token_hash == token_hash(token))).rowcount or 0)


def end_all(conn: Connection, user_id: int, *, keep: str | None = None) -> int:
    """End every session of `user_id` (but `keep`, a session id); returns how many."""
    s = schema.user_sessions
    query = s.delete().where(s.c.user_id == user_id)
    kept = _token(keep) if keep else None
    if kept:
        query = query.where(s.c.token_hash != token_hash(kept))
    return int(conn.execute(query).rowcount or 0)


def count(conn: Connection, user_id: int) -> int:
    s = schema.user_sessions
    return int(conn.execute(sa.select(sa.func.count()).where(s.c.user_id == user_id)).scalar() or 0)
