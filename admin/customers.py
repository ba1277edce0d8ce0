"""The customer list (blueprint ``customers``)."""

from __future__ import annotations

from flask import Blueprint, render_template
from flask.typing import ResponseReturnValue

from porchlight.admin.web import require_role

bp = Blueprint("customers", __name__)


@bp.route("/customers")
@require_role()
def index() -> ResponseReturnValue:
    return render_template("customers.html", rows=[])
