"""Saved segments: a named set of list filters ("VIP not seen for 30 days") one click
away above the customer list, which then shows its count and exports it.

The filters are stored as the list's own query string, parsed and written
back by `parse_filters` first (so only filters the list knows are kept).
Owners and managers save and delete them; everyone of the tenant sees them.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs

import sqlalchemy as sa
from flask import Blueprint, flash, redirect, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy.engine import Connection

from porchlight.admin import schema
from porchlight.admin.audit import audit
from porchlight.admin.customers.filters import parse_filters
from porchlight.admin.db import get_engine, utcnow
from porchlight.admin.scope import current_tenant_id, require_role

bp = Blueprint("segments", __name__)
MAX_NAME = 60
MAX_SEGMENTS = 50


def tenant_segments(conn: Connection, tenant_id: int) -> list[Any]:
    """The tenant's saved segments, by name (the customer list shows them)."""
    s = schema.customer_segments.c
    query = sa.select(s.id, s.name, s.filters).where(s.tenant_id == tenant_id)
    return list(conn.execute(query.order_by(s.name)))


@bp.route("/segments", methods=["POST"])
@require_role("owner", "manager")
def create() -> ResponseReturnValue:
    name = " ".join((request.form.get("name") or "").split())
    raw = (request.form.get("filters") or "")[:2000]
    parsed = {k: v if len(v) > 1 else v[0] for k, v in parse_qs(raw).items()}
    filters, _notices = parse_filters(parsed)
    query = filters.query_string(after=None)
    back = url_for("customers.index") + (f"?{query}" if query else "")
    if not name or len(name) > MAX_NAME:
        flash(_("Name the segment (at most %(n)s characters).", n=MAX_NAME), "error")
        return redirect(back)
    s = schema.customer_segments
    with get_engine().begin() as conn:
        tenant_id = current_tenant_id()
        taken = conn.execute(
            sa.select(sa.func.count()).where(s.c.tenant_id == tenant_id, s.c.name == name)
        ).scalar_one()
        count = conn.execute(
            sa.select(sa.func.count()).where(s.c.tenant_id == tenant_id)
        ).scalar_one()
        if taken or count >= MAX_SEGMENTS:
            if taken:
                flash(_("A segment is already called “%(name)s”.", name=name), "error")
            else:
                flash(_("At most %(n)s segments; delete one first.", n=MAX_SEGMENTS), "error")
            return redirect(back)
        segment_id = conn.execute(
            s.insert().values(
                tenant_id=tenant_id,
                name=name,
                filters=query,
                created_by=int(current_user.id),
                created_at=utcnow(),
            )
        ).inserted_primary_key[0]  # type: ignore[index]
        audit(conn, "segment_create", "segment", segment_id, {"name": name, "filters": query})
    flash(_("Segment “%(name)s” saved.", name=name), "success")
    return redirect(back)


@bp.route("/segments/<int:segment_id>/delete", methods=["POST"])
@require_role("owner", "manager")
def delete(segment_id: int) -> ResponseReturnValue:
    s = schema.customer_segments
    with get_engine().begin() as conn:
        gone = conn.execute(
            s.delete().where(s.c.id == segment_id, s.c.tenant_id == current_tenant_id())
        ).rowcount
        if gone:
            audit(conn, "segment_delete", "segment", segment_id, {})
    return redirect(url_for("customers.index"))
