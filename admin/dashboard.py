"""The dashboard (blueprint ``dashboard``): the first page after sign-in."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, render_template
from flask.typing import ResponseReturnValue

from porchlight.admin import schema
from porchlight.admin.web import current_tenant_id, get_engine, require_role

bp = Blueprint("dashboard", __name__)


@bp.route("/")
@require_role()
def index() -> ResponseReturnValue:
    tenant_id = current_tenant_id()
    c = schema.customers
    with get_engine().connect() as conn:
        total = conn.execute(
            sa.select(sa.func.count()).select_from(c).where(c.c.tenant_id == tenant_id)
        ).scalar_one()
    return render_template("dashboard.html", total=total)
