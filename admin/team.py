"""The Users page (owners only): who can sign in, and a password reset for any of them.

A reset generates a new password, ends the user's sessions at once, writes
the audit log (never the password) and shows the password to the owner on
the answer page, once: it is not stored anywhere else or sent by e-mail.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import Blueprint, abort, render_template
from flask.typing import ResponseReturnValue
from flask_login import current_user

from porchlight.admin import schema
from porchlight.admin.audit import audit
from porchlight.admin.db import get_engine
from porchlight.admin.scope import current_tenant_id, require_role
from porchlight.admin.users import generate_password, reset_password

bp = Blueprint("team", __name__)


def _people(conn: Any) -> list[Any]:
    u = schema.users.c
    return list(
        conn.execute(
            sa.select(u.id, u.name, u.email, u.role, u.is_active, u.last_login_at)
            .where(u.tenant_id == current_tenant_id())
            .order_by(u.role, u.email)
        )
    )


@bp.route("/users")
@require_role("owner")
def index() -> ResponseReturnValue:
    with get_engine().connect() as conn:
        people = _people(conn)
    return render_template("users.html", people=people, reset=None)


@bp.route("/users/<int:user_id>/reset-password", methods=["POST"])
@require_role("owner")
def reset(user_id: int) -> ResponseReturnValue:
    u = schema.users.c
    password = generate_password()
    with get_engine().begin() as conn:
        row = conn.execute(
            sa.select(u.id, u.email, u.name).where(
                u.id == user_id, u.tenant_id == current_tenant_id()
            )
        ).first()
        if row is None or row.id == int(current_user.id):
            abort(404)  # another tenant's user, or yourself (the account page changes yours)
        reset_password(conn, row.email, password)
        audit(conn, "user.password_reset", "user", row.id, {"email": row.email})
        people = _people(conn)
    shown = {"who": row.name or row.email, "password": password}
    return render_template("users.html", people=people, reset=shown)
