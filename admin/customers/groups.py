"""Customer groups by visit-count thresholds (Member, Silver, VIP ...).

A customer falls in the group with the highest `min_visits` they reach,
unless their group was fixed by hand (`customers.group_fixed`). Groups with
no threshold are manual-only. Ingest and import call `assign_group` (one
customer) or `recompute_groups` (set-based, a whole tenant or a list of ids)
after they change visit counts.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable

import sqlalchemy as sa
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from sqlalchemy.engine import Connection

from porchlight.admin import schema
from porchlight.admin.audit import audit
from porchlight.admin.db import get_engine, inserted_id
from porchlight.admin.scope import current_tenant_id, require_role

log = logging.getLogger(__name__)

bp = Blueprint("groups", __name__)

DEFAULT_GROUPS = (("Member", 1, "#64748b"), ("Silver", 5, "#0ea5e9"), ("VIP", 10, "#d97706"))
_COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")


def ensure_default_groups(conn: Connection, tenant_id: int) -> None:
    """Member (1 visit), Silver (5), VIP (10) for a new tenant."""
    g = schema.groups
    if conn.execute(sa.select(g.c.id).where(g.c.tenant_id == tenant_id).limit(1)).first():
        return
    conn.execute(
        g.insert(),
        [
            {"tenant_id": tenant_id, "name": n, "min_visits": v, "color": c}
            for n, v, c in DEFAULT_GROUPS
        ],
    )


def _group_for_visits(tenant_id: object, visit_count: object) -> sa.ScalarSelect[int]:
    g = schema.groups
    return (
        sa.select(g.c.id)
        .where(
            g.c.tenant_id == tenant_id,
            g.c.min_visits.is_not(None),
            g.c.min_visits <= visit_count,
        )
        .order_by(g.c.min_visits.desc(), g.c.id)
        .limit(1)
        .scalar_subquery()
    )


def recompute_groups(
    conn: Connection, tenant_id: int, customer_ids: Iterable[int] | None = None
) -> int:
    """Set the threshold group of the tenant's customers (not the fixed ones).

    One UPDATE; `customer_ids` narrows it (in chunks). Returns rows touched.
    """
    c = schema.customers
    base = (
        c.update()
        .where(c.c.tenant_id == tenant_id, c.c.group_fixed == sa.false())
        .values(group_id=_group_for_visits(c.c.tenant_id, c.c.visit_count))
    )
    if customer_ids is None:
        return int(conn.execute(base).rowcount or 0)
    ids = list(customer_ids)
    touched = 0
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        touched += int(conn.execute(base.where(c.c.id.in_(chunk))).rowcount or 0)
    return touched


def assign_group(conn: Connection, tenant_id: int, customer_id: int) -> None:
    """Set one customer's group from their visit count (unless fixed by hand)."""
    recompute_groups(conn, tenant_id, [customer_id])


def tenant_groups(conn: Connection, tenant_id: int) -> list[sa.Row[tuple[object, ...]]]:
    g = schema.groups
    return list(
        conn.execute(
            sa.select(g)
            .where(g.c.tenant_id == tenant_id)
            .order_by(g.c.min_visits.is_(None), g.c.min_visits, g.c.name)
        )
    )


# --- pages -------------------------------------------------------------------


@bp.route("/groups")
@require_role()
def index() -> ResponseReturnValue:
    tenant_id = current_tenant_id()
    c = schema.customers
    with get_engine().connect() as conn:
        groups = tenant_groups(conn, tenant_id)
        counts: dict[int, int] = {
            row[0]: row[1]
            for row in conn.execute(
                sa.select(c.c.group_id, sa.func.count())
                .where(c.c.tenant_id == tenant_id, c.c.group_id.is_not(None))
                .group_by(c.c.group_id)
            )
        }
    return render_template("groups.html", groups=groups, counts=counts)


def _form_values() -> tuple[str, int | None, str | None]:
    name = (request.form.get("name") or "").strip()[:100]
    raw_min = (request.form.get("min_visits") or "").strip()
    color = (request.form.get("color") or "").strip() or None
    if not name:
        raise ValueError(_("A group needs a name."))
    min_visits: int | None = None
    if raw_min:
        if not raw_min.isdigit() or int(raw_min) > 1_000_000:
            raise ValueError(_("The visit threshold must be a whole number, 0 or more."))
        min_visits = int(raw_min)
    if color and not _COLOR.match(color):
        color = None
    return name, min_visits, color


@bp.route("/groups", methods=["POST"])
@require_role("owner")
def save() -> ResponseReturnValue:
    tenant_id = current_tenant_id()
    g = schema.groups
    raw_id = request.form.get("id") or ""
    try:
        name, min_visits, color = _form_values()
    except ValueError as exc:
        flash(str(exc), "error")
        return redirect(url_for("groups.index"))
    with get_engine().begin() as conn:
        clash = conn.execute(
            sa.select(g.c.id).where(g.c.tenant_id == tenant_id, g.c.name == name)
        ).first()
        if raw_id:
            if not raw_id.isdigit():
                abort(404)
            row = conn.execute(
                sa.select(g).where(g.c.id == int(raw_id), g.c.tenant_id == tenant_id)
            ).first()
            if row is None:
                abort(404)
            if clash and clash.id != row.id:
                flash(_("A group with this name exists already."), "error")
                return redirect(url_for("groups.index"))
            conn.execute(
                g.update()
                .where(g.c.id == row.id)
                .values(name=name, min_visits=min_visits, color=color)
            )
            audit(conn, "group_edit", "group", row.id, {"name": name, "min_visits": min_visits})
        else:
            if clash:
                flash(_("A group with this name exists already."), "error")
                return redirect(url_for("groups.index"))
            new_id = inserted_id(
                conn.execute(
                    g.insert().values(
                        tenant_id=tenant_id, name=name, min_visits=min_visits, color=color
                    )
                )
            )
            audit(conn, "group_add", "group", new_id, {"name": name, "min_visits": min_visits})
        recompute_groups(conn, tenant_id)
    flash(_("Groups saved. Customers were re-grouped by their visits."), "success")
    return redirect(url_for("groups.index"))


@bp.route("/groups/<int:group_id>/delete", methods=["POST"])
@require_role("owner")
def delete(group_id: int) -> ResponseReturnValue:
    tenant_id = current_tenant_id()
    g, c = schema.groups, schema.customers
    with get_engine().begin() as conn:
        row = conn.execute(
            sa.select(g).where(g.c.id == group_id, g.c.tenant_id == tenant_id)
        ).first()
        if row is None:
            abort(404)
        conn.execute(
            c.update()
            .where(c.c.tenant_id == tenant_id, c.c.group_id == group_id)
            .values(group_id=None, group_fixed=False)
        )
        conn.execute(g.delete().where(g.c.id == group_id))
        audit(conn, "group_delete", "group", group_id, {"name": row.name})
        recompute_groups(conn, tenant_id)
    flash(_("Group deleted."), "success")
    return redirect(url_for("groups.index"))
