"""The audit log: who edited, merged, deleted, imported, exported.

- `audit(conn, action, target_type, target_id, details)` — one audit_log row in
  the caller's transaction (every change writes one).
- `/audit` — the log's page (owners).
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import Blueprint, render_template, request
from flask.typing import ResponseReturnValue
from flask_login import current_user
from sqlalchemy.engine import Connection

from porchlight.admin import schema
from porchlight.admin.audit_words import action_label, describe
from porchlight.admin.client import client_ip
from porchlight.admin.db import get_engine, utcnow
from porchlight.admin.io.exports.local_time import export_zone, zone_words
from porchlight.admin.scope import current_tenant_id, require_role

bp = Blueprint("audit", __name__)
PAGE = 100


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


@bp.route("/audit")
@require_role("owner")
def index() -> ResponseReturnValue:
    tenant_id = current_tenant_id()
    a, u = schema.audit_log, schema.users
    before = request.args.get("before", "")
    action = (request.args.get("action") or "").strip()[:60]
    query = (
        sa.select(a, u.c.email.label("user_email"), u.c.name.label("user_name"))
        .select_from(a.outerjoin(u, u.c.id == a.c.user_id))
        .where(a.c.tenant_id == tenant_id)
        .order_by(a.c.id.desc())
        .limit(PAGE + 1)
    )
    if before.isdigit():
        query = query.where(a.c.id < int(before))
    if action:
        query = query.where(a.c.action == action)
    with get_engine().connect() as conn:
        rows = list(conn.execute(query))
        names = _names(conn, tenant_id)
        zone = export_zone(conn, tenant_id)
        actions = [
            r[0]
            for r in conn.execute(
                sa.select(a.c.action)
                .where(a.c.tenant_id == tenant_id)
                .distinct()
                .order_by(a.c.action)
            )
        ]
    more = len(rows) > PAGE
    rows = rows[:PAGE]
    return render_template(
        "audit.html",
        rows=rows,
        actions=actions,
        action=action,
        next_before=rows[-1].id if more and rows else None,
        describe=lambda row: describe(row, names),
        action_label=action_label,
        tz=zone.key,
        zone_words=zone_words(zone, utcnow()),
    )


def _names(conn: Connection, tenant_id: int) -> dict[str, dict[str, str]]:
    """The tenant's location and group names now, for rows that did not store theirs."""
    loc, g = schema.locations.c, schema.groups.c
    return {
        "locations": {
            str(i): n
            for i, n in conn.execute(sa.select(loc.id, loc.name).where(loc.tenant_id == tenant_id))
        },
        "groups": {
            str(i): n
            for i, n in conn.execute(sa.select(g.id, g.name).where(g.tenant_id == tenant_id))
        },
    }
