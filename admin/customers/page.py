"""One customer's page (blueprint ``customers_page``): see, edit, erase, download.

A manager may open only customers seen at their locations; anything else is
a 404 (logged and audited), the same answer as for an id that does not exist.
Visits, devices and consents shown to a manager are those of their locations.
"""

from __future__ import annotations

import json
import logging
import re
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy.engine import Connection

from porchlight.admin import schema
from porchlight.admin.audit import audit
from porchlight.admin.customers import channel_rollup, customer_rollup, visit_rollup
from porchlight.admin.customers.chat_links import links_for
from porchlight.admin.customers.contact_fields import read_contact
from porchlight.admin.customers.filter_words import channel_words
from porchlight.admin.customers.groups import assign_group, tenant_groups
from porchlight.admin.customers.list_page import location_scope, tenant_region
from porchlight.admin.db import get_engine, inserted_id, utcnow
from porchlight.admin.scope import current_tenant_id, require_role
from porchlight.phones import display_phone

log = logging.getLogger(__name__)

bp = Blueprint("customers_page", __name__)
HISTORY = 200
MAX_NOTES = 5000
MAX_TAG = 50

c = schema.customers


def load_customer(conn: Connection, customer_id: int) -> tuple[Any, list[int] | None]:
    """The customer row if this user may see it, else 404 (logged and audited)."""
    tenant_id = current_tenant_id()
    scope = location_scope(conn)
    row = conn.execute(
        sa.select(c).where(c.c.id == customer_id, c.c.tenant_id == tenant_id)
    ).first()
    if row is None or not in_scope(conn, customer_id, scope):
        log.warning(
            "user %s (%s) asked for customer %s outside their scope",
            current_user.id,
            current_user.role,
            customer_id,
        )
        with get_engine().begin() as log_conn:
            audit(log_conn, "customer_denied", "customer", customer_id, {"path": request.path})
        abort(404)
    return row, scope


def in_scope(conn: Connection, customer_id: int, scope: list[int] | None) -> bool:
    """True when a user with this location scope may see the customer."""
    if scope is None:
        return True
    cl = schema.customer_locations
    found = conn.execute(
        sa.select(cl.c.location_id).where(
            cl.c.customer_id == customer_id, cl.c.location_id.in_(scope)
        )
    ).first()
    return found is not None


def customer_tags(conn: Connection, customer_id: int) -> list[str]:
    ct, t = schema.customer_tags, schema.tags
    return list(
        conn.execute(
            sa.select(t.c.name)
            .join(ct, ct.c.tag_id == t.c.id)
            .where(ct.c.customer_id == customer_id)
            .order_by(t.c.name)
        ).scalars()
    )


def _visits_query(customer_id: int, scope: list[int] | None) -> sa.Select[Any]:
    v, loc = schema.visits, schema.locations
    query = (
        sa.select(v, loc.c.name.label("location_name"), loc.c.timezone)
        .join(loc, loc.c.id == v.c.location_id)
        .where(v.c.customer_id == customer_id)
    )
    if scope is not None:
        query = query.where(v.c.location_id.in_(scope))
    return query


def _consents_query(customer_id: int, scope: list[int] | None) -> sa.Select[Any]:
    k, loc = schema.consents, schema.locations
    query = (
        sa.select(k, loc.c.name.label("location_name"), loc.c.timezone)
        .outerjoin(loc, loc.c.id == k.c.location_id)
        .where(k.c.customer_id == customer_id)
        .order_by(k.c.given_at.desc())
    )
    if scope is not None:
        query = query.where(sa.or_(k.c.location_id.in_(scope), k.c.location_id.is_(None)))
    return query


def _visit_history(
    conn: Connection, customer_id: int, scope: list[int] | None
) -> tuple[list[Any], int]:
    """The newest HISTORY visits in scope, and how many there are in all."""
    v = schema.visits
    visits = list(
        conn.execute(
            _visits_query(customer_id, scope).order_by(v.c.started_at.desc()).limit(HISTORY)
        )
    )
    count_query = sa.select(sa.func.count()).select_from(v).where(v.c.customer_id == customer_id)
    if scope is not None:
        count_query = count_query.where(v.c.location_id.in_(scope))
    return visits, conn.execute(count_query).scalar_one()


def _places(conn: Connection, customer_id: int, scope: list[int] | None) -> list[Any]:
    """The customer's locations in scope (counters and names), latest visit first."""
    cl, loc = schema.customer_locations, schema.locations
    places_query = (
        sa.select(cl, loc.c.name, loc.c.timezone)
        .join(loc, loc.c.id == cl.c.location_id)
        .where(cl.c.customer_id == customer_id)
        .order_by(cl.c.last_visit_at.desc())
    )
    if scope is not None:
        places_query = places_query.where(cl.c.location_id.in_(scope))
    return list(conn.execute(places_query))


def _channels(conn: Connection, customer_id: int, scope: list[int] | None) -> list[str]:
    """The ways the customer logged in (at the locations in scope), sorted."""
    if scope is None:
        cc = schema.customer_channels
        channel_query = sa.select(cc.c.channel).where(cc.c.customer_id == customer_id)
    else:
        v = schema.visits
        channel_query = (
            sa.select(v.c.channel)
            .where(v.c.customer_id == customer_id, v.c.location_id.in_(scope))
            .distinct()
        )
    return sorted(conn.execute(channel_query).scalars())


@bp.route("/customers/<int:customer_id>")
@require_role()
def show(customer_id: int) -> ResponseReturnValue:
    tenant_id = current_tenant_id()
    d = schema.devices
    with get_engine().connect() as conn:
        row, scope = load_customer(conn, customer_id)
        visits, visit_total = _visit_history(conn, customer_id, scope)
        places = _places(conn, customer_id, scope)
        devices = list(
            conn.execute(
                sa.select(d).where(d.c.customer_id == customer_id).order_by(d.c.last_seen_at.desc())
            )
        )
        consents = list(conn.execute(_consents_query(customer_id, scope)))
        gr = schema.guest_requests
        erasure_requests = list(
            conn.execute(
                sa.select(gr.c.id, gr.c.requested_at, gr.c.due_at).where(
                    gr.c.customer_id == customer_id, gr.c.status == "open"
                )
            )
        )
        tags = customer_tags(conn, customer_id)
        all_tags = list(
            conn.execute(
                sa.select(schema.tags.c.name)
                .where(schema.tags.c.tenant_id == tenant_id)
                .order_by(schema.tags.c.name)
                .limit(300)
            ).scalars()
        )
        groups = tenant_groups(conn, tenant_id)
        channels = _channels(conn, customer_id, scope)
        chat = links_for(conn, row, channels, scope)
    return render_template(
        "customer.html",
        c=row,
        phone=display_phone(row.phone) if row.phone else "",
        visits=visits,
        visit_total=visit_total,
        places=places,
        devices=devices,
        consents=consents,
        erasure_requests=erasure_requests,
        now=utcnow(),
        tags=tags,
        all_tags=[t for t in all_tags if t not in tags],
        groups=groups,
        group_by_id={g.id: g for g in groups},
        channels=channels,
        chat=chat,
        channel_labels=channel_words(),
        scoped=scope is not None,
        first_visit=min((p.first_visit_at for p in places if p.first_visit_at), default=None)
        if scope is not None
        else row.first_visit_at,
        last_visit=max((p.last_visit_at for p in places if p.last_visit_at), default=None)
        if scope is not None
        else row.last_visit_at,
        history_limit=HISTORY,
    )


def _split_tags(raw: str) -> list[str]:
    out = []
    for part in re.split(r"[,;\n]", raw):
        name = " ".join(part.split())[:MAX_TAG]
        if name and name not in out:
            out.append(name)
    return out[:20]


@bp.route("/customers/<int:customer_id>/edit", methods=["POST"])
@require_role("owner", "manager")
def edit(customer_id: int) -> ResponseReturnValue:
    tenant_id = current_tenant_id()
    t, ct = schema.tags, schema.customer_tags
    with get_engine().begin() as conn:
        row, _scope = load_customer(conn, customer_id)
        name = " ".join((request.form.get("name") or "").split())[:200]
        notes = (request.form.get("notes") or "").replace("\r\n", "\n")
        if len(notes) > MAX_NOTES:
            flash(_("Notes can be at most %(n)s characters.", n=MAX_NOTES), "error")
            return redirect(url_for("customers_page.show", customer_id=customer_id))
        contact, refused = read_contact(conn, request.form, row, tenant_region(conn, tenant_id))
        if refused:
            for message in refused:
                flash(message, "error")
            return redirect(url_for("customers_page.show", customer_id=customer_id))
        keep = [n[:MAX_TAG] for n in request.form.getlist("tag") if n.strip()]
        wanted = list(dict.fromkeys(keep + _split_tags(request.form.get("new_tags") or "")))
        before_tags = customer_tags(conn, customer_id)
        values: dict[str, Any] = {"name": name, "notes": notes, "updated_at": utcnow()}
        values.update(contact)
        raw_group = request.form.get("group", "auto")
        if raw_group == "auto":
            values["group_fixed"] = False
        elif raw_group == "none":
            values.update(group_id=None, group_fixed=True)
        elif raw_group.isdigit() and int(raw_group) in {
            g.id for g in tenant_groups(conn, tenant_id)
        }:
            values.update(group_id=int(raw_group), group_fixed=True)
        conn.execute(c.update().where(c.c.id == customer_id).values(**values))
        ids = []
        for tag in wanted:
            tag_id = conn.execute(
                sa.select(t.c.id).where(t.c.tenant_id == tenant_id, t.c.name == tag)
            ).scalar()
            if tag_id is None:
                tag_id = inserted_id(conn.execute(t.insert().values(tenant_id=tenant_id, name=tag)))
            ids.append(tag_id)
        conn.execute(ct.delete().where(ct.c.customer_id == customer_id))
        if ids:
            conn.execute(ct.insert(), [{"customer_id": customer_id, "tag_id": i} for i in ids])
        if not values.get("group_fixed"):
            assign_group(conn, tenant_id, customer_id)
        changes: dict[str, Any] = {}
        if name != row.name:
            changes["name"] = [row.name, name]
        if notes != row.notes:
            changes["notes"] = "changed"
        changes.update({k: "changed" for k in contact})
        if sorted(before_tags) != sorted(wanted):
            changes["tags"] = [before_tags, wanted]
        if "group_id" in values or values.get("group_fixed") != row.group_fixed:
            changes["group"] = raw_group
        audit(conn, "customer_edit", "customer", customer_id, changes)
    flash(_("Saved."), "success")
    return redirect(url_for("customers_page.show", customer_id=customer_id))


@bp.route("/customers/<int:customer_id>/delete", methods=["POST"])
@require_role("owner", "manager")
def delete(customer_id: int) -> ResponseReturnValue:
    """Erase the customer and everything about them (a data-subject request)."""
    with get_engine().begin() as conn:
        row, _scope = load_customer(conn, customer_id)
        if request.form.get("confirm") != "yes":
            flash(_("Tick the box to confirm the erasure."), "error")
            return redirect(url_for("customers_page.show", customer_id=customer_id))
        visits = row.visit_count
        visit_rollup.remove_customer(conn, customer_id)  # their visits go by cascade
        channel_rollup.subtract(conn, [customer_id])  # and their channels
        customer_rollup.subtract(conn, [customer_id])  # and first/last visits
        conn.execute(c.delete().where(c.c.id == customer_id))
        # No personal data in the log: only that an erasure happened.
        audit(conn, "customer_erase", "customer", customer_id, {"visits": visits})
    flash(_("The customer and all their data were erased."), "success")
    return redirect(url_for("customers.index"))


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, bytes):
        return None
    return value


def _rows(conn: Connection, query: sa.Select[Any]) -> list[dict[str, Any]]:
    return [{k: _jsonable(v) for k, v in r._mapping.items()} for r in conn.execute(query)]


@bp.route("/customers/<int:customer_id>/data.json")
@require_role("owner", "manager")
def download(customer_id: int) -> ResponseReturnValue:
    """Everything stored about the customer (data-subject access request)."""
    v, d = schema.visits, schema.devices
    with get_engine().begin() as conn:
        row, scope = load_customer(conn, customer_id)
        data = {
            "customer": {k: _jsonable(val) for k, val in row._mapping.items()},
            "tags": customer_tags(conn, customer_id),
            "visits": _rows(conn, _visits_query(customer_id, scope).order_by(v.c.started_at)),
            "devices": _rows(conn, sa.select(d).where(d.c.customer_id == customer_id)),
            "consents": _rows(conn, _consents_query(customer_id, scope)),
            "messenger_contacts": _rows(
                conn,
                sa.select(schema.messenger_contacts).where(
                    schema.messenger_contacts.c.customer_id == customer_id
                ),
            ),
            "exported_at": _jsonable(utcnow()),
        }
        audit(conn, "customer_download", "customer", customer_id, {})
    body = json.dumps(data, ensure_ascii=False, indent=2, sort_keys=True)
    return Response(
        body,
        mimetype="application/json",
        headers={"Content-Disposition": f'attachment; filename="customer-{customer_id}.json"'},
    )
