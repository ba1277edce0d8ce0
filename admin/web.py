"""Helpers every admin blueprint uses: the engine, the tenant, scope, roles, audit.

- `get_engine()` — the app's SQLAlchemy engine.
- `current_tenant_id()` — the signed-in user's tenant.
- `visible_location_ids(user)` — the locations a user may see (owner and
  viewer: every location of the tenant; manager: the assigned ones).
- `require_role(*roles)` — a view decorator; signed-out users go to sign-in,
  others get 403.
- `audit(conn, action, target_type, target_id, details)` — one audit_log row in
  the caller's transaction.
- `rate_limited(conn, key, limit, window_seconds)` — a fixed-window counter in
  the `rate_limits` table, shared by every gunicorn worker.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from datetime import timedelta
from typing import Any, TypeVar, cast
from urllib.parse import urlsplit

import sqlalchemy as sa
from flask import abort, current_app, request
from flask_login import current_user
from sqlalchemy.engine import Connection, Engine

from porchlight.admin import schema
from porchlight.admin.db import utcnow

log = logging.getLogger(__name__)

F = TypeVar("F", bound=Callable[..., Any])


def get_engine() -> Engine:
    return cast(Engine, current_app.extensions["porchlight.engine"])


def current_tenant_id() -> int:
    """The signed-in user's tenant id (aborts 401 when nobody is signed in)."""
    if not current_user.is_authenticated:
        abort(401)
    return int(current_user.tenant_id)


def visible_location_ids(user: Any = None, conn: Connection | None = None) -> list[int]:
    """Ids of the (non-archived and archived) locations `user` may see, sorted.

    Owner and viewer: every location of their tenant. Manager: only the
    locations assigned in `user_locations` — other locations' data is invisible.
    """
    user = user if user is not None else current_user
    if not getattr(user, "is_authenticated", False):
        return []
    loc = schema.locations
    if user.role == "manager":
        ul = schema.user_locations
        query = (
            sa.select(loc.c.id)
            .join(ul, ul.c.location_id == loc.c.id)
            .where(ul.c.user_id == user.id, loc.c.tenant_id == user.tenant_id)
        )
    else:
        query = sa.select(loc.c.id).where(loc.c.tenant_id == user.tenant_id)
    query = query.order_by(loc.c.id)
    if conn is not None:
        return [row[0] for row in conn.execute(query)]
    with get_engine().connect() as own:
        return [row[0] for row in own.execute(query)]


def can_edit(user: Any = None) -> bool:
    """Owners and managers edit; viewers only read."""
    user = user if user is not None else current_user
    return bool(getattr(user, "is_authenticated", False) and user.role in ("owner", "manager"))


def require_role(*roles: str) -> Callable[[F], F]:
    """Only signed-in users with one of `roles` (none given: any signed-in user)."""

    def decorator(view: F) -> F:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if not current_user.is_authenticated:
                return current_app.login_manager.unauthorized()  # type: ignore[attr-defined]
            if roles and current_user.role not in roles:
                log.warning(
                    "user %s (%s) refused %s", current_user.id, current_user.role, request.path
                )
                abort(403)
            return view(*args, **kwargs)

        return cast(F, wrapper)

    return decorator


def client_ip() -> str | None:
    """The client's address as the WSGI server saw it (run behind ProxyFix if proxied)."""
    return request.remote_addr if request else None


def audit(
    conn: Connection,
    action: str,
    target_type: str | None = None,
    target_id: object = None,
    details: dict[str, Any] | None = None,
    *,
    tenant_id: int | None = None,
    user_id: int | None = None,
    router_id: int | None = None,
) -> None:
    """Write one audit_log row in the caller's transaction.

    Inside a request the tenant, the user and the IP come from the session;
    outside one (CLI, worker) pass `tenant_id` (and `user_id` if known).
    """
    ip = None
    try:
        if current_user and current_user.is_authenticated:
            tenant_id = tenant_id if tenant_id is not None else int(current_user.tenant_id)
            user_id = user_id if user_id is not None else int(current_user.id)
        ip = client_ip()
    except RuntimeError:  # outside a request
        pass
    if tenant_id is None:
        raise ValueError("audit() outside a request needs tenant_id")
    conn.execute(
        schema.audit_log.insert().values(
            tenant_id=tenant_id,
            user_id=user_id,
            router_id=router_id,
            action=action[:60],
            target_type=target_type,
            target_id=None if target_id is None else str(target_id)[:60],
            details=details,
            ip=ip,
            at=utcnow(),
        )
    )


def rate_limited(conn: Connection, key: str, limit: int, window_seconds: int) -> bool:
    """Count one hit on `key`; True when the window already holds `limit` hits.

    A fixed window stored in `rate_limits`, so every worker shares it. Call it
    in its own short transaction.
    """
    table = schema.rate_limits
    now = utcnow()
    key = key[:200]
    row = conn.execute(
        sa.select(table.c.window_start, table.c.count).where(table.c.key == key)
    ).first()
    if row is None or now - row.window_start >= timedelta(seconds=window_seconds):
        if row is None:
            try:
                with conn.begin_nested():
                    conn.execute(table.insert().values(key=key, window_start=now, count=1))
                return False
            except sa.exc.IntegrityError:  # another worker inserted it first
                pass
        else:
            conn.execute(table.update().where(table.c.key == key).values(window_start=now, count=1))
            return False
    conn.execute(table.update().where(table.c.key == key).values(count=table.c.count + 1))
    current = conn.execute(sa.select(table.c.count).where(table.c.key == key)).scalar_one()
    return int(current) > limit


def rate_limit_count(conn: Connection, key: str, window_seconds: int) -> int:
    """Hits on `key` in its current window (0 when the window is over)."""
    table = schema.rate_limits
    row = conn.execute(
        sa.select(table.c.window_start, table.c.count).where(table.c.key == key[:200])
    ).first()
    if row is None or utcnow() - row.window_start >= timedelta(seconds=window_seconds):
        return 0
    return int(row[1])


def clear_rate_limit(conn: Connection, key: str) -> None:
    conn.execute(schema.rate_limits.delete().where(schema.rate_limits.c.key == key[:200]))


def inserted_id(result: sa.CursorResult[Any]) -> int:
    """The new primary key of a one-row INSERT."""
    key = result.inserted_primary_key
    if key is None:
        raise RuntimeError("INSERT returned no primary key")
    return int(key[0])


def safe_next(target: str | None, default: str) -> str:
    """`target` if it is a path on this site, else `default` (no open redirects)."""
    if not target or not target.startswith("/") or target.startswith("//"):
        return default
    if "\\" in target or any(ord(ch) < 32 for ch in target):
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return default
    return target
