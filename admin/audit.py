"""The audit log page (owners): who edited, merged, deleted, imported, exported."""

from __future__ import annotations

import json

import sqlalchemy as sa
from flask import Blueprint, render_template, request
from flask.typing import ResponseReturnValue

from porchlight.admin import schema
from porchlight.admin.web import current_tenant_id, get_engine, require_role

bp = Blueprint("audit", __name__)
PAGE = 100


@bp.route("/audit")
@require_role("owner")
def index() -> ResponseReturnValue:
    tenant_id = current_tenant_id()
    a, u = schema.audit_log, schema.users
    before = request.args.get("before", "")
    action = (request.args.get("action") or "").strip()[:60]
    query = (
        sa.select(a, u.c.email.label("user_email"))
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
        as_json=lambda d: json.dumps(d, ensure_ascii=False, sort_keys=True) if d else "",
    )
