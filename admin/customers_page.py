"""One customer's page (blueprint ``customers_page``)."""

from __future__ import annotations

from flask import Blueprint, abort
from flask.typing import ResponseReturnValue

from porchlight.admin.web import require_role

bp = Blueprint("customers_page", __name__)


@bp.route("/customers/<int:customer_id>")
@require_role()
def show(customer_id: int) -> ResponseReturnValue:
    abort(404)
