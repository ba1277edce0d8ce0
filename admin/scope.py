"""Who sees and does what: the signed-in user's tenant, locations and role.

- `current_tenant_id()` — the signed-in user's tenant.
- `visible_location_ids(user)` — the locations a user may see (owner and
  viewer: every location of the tenant; manager: the assigned ones).
- `location_or_404(conn, location_id)` — a location page's row, or 404 when it
  is outside the user's scope (as if it did not exist).
- `can_edit(user)` and `require_role(*roles)` — a view decorator; signed-out
  users go to sign-in, others get 403.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any, TypeVar, cast

import sqlalchemy as sa
from flask import abort, current_app, request
from flask_login import current_user
from sqlalchemy.engine import Connection

from porchlight.admin import schema
from porchlight.admin.db import get_engine, read_rows

log = logging.getLogger(__name__)

F = TypeVar("F", bound=Callable[..., Any])


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
    return [row[0] for row in read_rows(query, conn)]


def location_or_404(conn: Connection, location_id: int, *, for_edit: bool = False) -> Any:
    """The location row if the signed-in user may see it (and edit it), else 404/403."""
    if location_id not in visible_location_ids(current_user, conn):
        abort(404)
    row = conn.execute(
        sa.select(schema.locations).where(
            schema.locations.c.id == location_id,
            schema.locations.c.tenant_id == current_tenant_id(),
        )
    ).first()
    if row is None:
        abort(404)
    if for_edit and not can_edit():
        abort(403)
    return row


def job_or_404(job_id: int, kind: str) -> Any:
    """The tenant's import or export job `job_id`: owners see all, others their own; else 404."""
    j = schema.jobs.c
    with get_engine().connect() as conn:
        row = conn.execute(
            sa.select(schema.jobs).where(
                j.id == job_id, j.tenant_id == current_tenant_id(), j.kind == kind
            )
        ).first()
    if row is None or (current_user.role != "owner" and row.created_by != current_user.id):
        abort(404)
    return row


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
