"""Routers of a location: add (one-time code + install command), status, revoke, rotate;
and the location's "online now" guests with a disconnect button.

"Online now" is what the admin can truthfully know: sessions the routers
reported started (a `visits` row) and have not reported ended, started less
than one session length ago (the longest of the location's session length and
its active vouchers' durations). A router that is offline cannot report a
session's end, so its guests are marked as from a stale router. Disconnect
queues a ``deauthorize`` command (router_commands) that the router picks up on
its next heartbeat and acknowledges.
"""

from __future__ import annotations

import logging
import shlex
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from sqlalchemy.engine import Connection

from porchlight.admin import schema
from porchlight.admin.audit import audit
from porchlight.admin.db import get_engine, utcnow
from porchlight.admin.scope import location_or_404, require_role
from porchlight.admin.sync import adoption
from porchlight.admin.sync.enrollment import create_router, revoke, rotate, router_status
from porchlight.admin.sync.location_config import build_location_config
from porchlight.errors import PorchlightError
from porchlight.events import EventError, normalize_mac

log = logging.getLogger(__name__)

bp = Blueprint("routers_ui", __name__, url_prefix="/locations/<int:location_id>")

STATE_DIR = "/var/lib/porchlight"


def status_labels() -> dict[str, str]:
    return {
        "online": _("Online"),
        "stale": _("Not heard from"),
        "never": _("Enrolled, waiting for first contact"),
        "pending": _("Waiting for enrollment"),
        "revoked": _("Revoked"),
    }


def location_routers(conn: Connection, location_id: int) -> list[dict[str, Any]]:
    """The location's routers as dicts with `status`, `status_label` and `config_current`."""
    stale = int(current_app.config.get("ROUTER_STALE_SECONDS", 180))
    now = utcnow()
    _config, etag = build_location_config(conn, location_id)
    ps = schema.portal_settings
    version = conn.execute(
        sa.select(sa.func.max(ps.c.version)).where(ps.c.location_id == location_id)
    ).scalar()
    labels = status_labels()
    out = []
    rt = schema.routers
    for row in conn.execute(
        sa.select(rt)
        .where(rt.c.location_id == location_id)
        .order_by(rt.c.revoked_at.is_not(None), rt.c.id)
    ):
        item = dict(row._mapping)
        item["status"] = router_status(row, now, stale)
        item["status_label"] = labels[item["status"]]
        item["config_current"] = bool(row.config_etag) and row.config_etag == etag
        item["settings_version"] = version
        out.append(item)
    return out


def enroll_command(code: str) -> str:
    url = str(current_app.config.get("PUBLIC_URL", "")).rstrip("/")
    return shlex.join(
        ["sudo", "porchlight", "agent", "enroll", url, code, "--state-dir", STATE_DIR]
    )


def _code_page(location: Any, router_name: str, code: str, rotated: bool) -> ResponseReturnValue:
    return render_template(
        "routers/code.html",
        location=location,
        router_name=router_name,
        code=code,
        command=enroll_command(code),
        rotated=rotated,
    )


@bp.route("/routers")
@require_role()
def index(location_id: int) -> ResponseReturnValue:
    with get_engine().connect() as conn:
        location = location_or_404(conn, location_id)
        routers = location_routers(conn, location_id)
        announced = adoption.waiting(conn, location.tenant_id)
    return render_template(
        "routers/index.html", location=location, routers=routers, errors={}, announced=announced
    )


@bp.route("/routers/adopt/<int:announcement_id>", methods=["POST"])
@require_role("owner", "manager")
def adopt(location_id: int, announcement_id: int) -> ResponseReturnValue:
    """One click: the router waiting for adoption becomes this location's; it
    gets its one-time code on its next announce and enrolls by itself."""
    with get_engine().begin() as conn:
        location = location_or_404(conn, location_id, for_edit=True)
        if location.archived_at is not None:
            flash(_("This location is archived; restore it before adding routers."), "error")
            return redirect(url_for("routers_ui.index", location_id=location_id))
        router_id = adoption.adopt(conn, location.tenant_id, location_id, announcement_id)
        if router_id is None:
            flash(_("That router is no longer waiting for adoption."), "error")
            return redirect(url_for("routers_ui.index", location_id=location_id))
        audit(
            conn,
            "router_adopt",
            "router",
            router_id,
            {"announcement": announcement_id, "location_id": location_id},
        )
    flash(_("Router adopted: it sets itself up at its next check-in (within a minute)."), "success")
    return redirect(url_for("routers_ui.index", location_id=location_id))


@bp.route("/routers", methods=["POST"])
@require_role("owner", "manager")
def add(location_id: int) -> ResponseReturnValue:
    name = " ".join((request.form.get("name") or "").split())
    with get_engine().begin() as conn:
        location = location_or_404(conn, location_id, for_edit=True)
        error = None
        if not name or len(name) > 200:
            error = _("Router name: 1 to 200 characters.")
        elif location.archived_at is not None:
            error = _("This location is archived; restore it before adding routers.")
        if error:
            routers = location_routers(conn, location_id)
            return (
                render_template(
                    "routers/index.html",
                    location=location,
                    routers=routers,
                    errors={"name": error},
                    name=name,
                ),
                422,
            )
        router_id, code = create_router(conn, location_id, name)
        audit(conn, "router_add", "router", router_id, {"name": name, "location_id": location_id})
    return _code_page(location, name, code, rotated=False)


def _router(conn: Connection, location_id: int, router_id: int) -> Any:
    from flask import abort

    row = conn.execute(
        sa.select(schema.routers).where(
            schema.routers.c.id == router_id, schema.routers.c.location_id == location_id
        )
    ).first()
    if row is None:
        abort(404)
    return row


@bp.route("/routers/<int:router_id>/revoke", methods=["POST"])
@require_role("owner", "manager")
def revoke_router(location_id: int, router_id: int) -> ResponseReturnValue:
    with get_engine().begin() as conn:
        location_or_404(conn, location_id, for_edit=True)
        router = _router(conn, location_id, router_id)
        revoke(conn, router_id)
        audit(conn, "router_revoke", "router", router_id, {"name": router.name})
    flash(_("Router “%(name)s” revoked; it can no longer sync.", name=router.name), "success")
    return redirect(url_for("routers_ui.index", location_id=location_id))


@bp.route("/routers/<int:router_id>/rotate", methods=["POST"])
@require_role("owner", "manager")
def rotate_router(location_id: int, router_id: int) -> ResponseReturnValue:
    with get_engine().begin() as conn:
        location = location_or_404(conn, location_id, for_edit=True)
        router = _router(conn, location_id, router_id)
        try:
            code = rotate(conn, router_id)
        except PorchlightError as exc:
            flash(str(exc), "error")
            return redirect(url_for("routers_ui.index", location_id=location_id))
        audit(conn, "router_rotate", "router", router_id, {"name": router.name})
    return _code_page(location, router.name, code, rotated=True)


def online_guests(conn: Connection, location_id: int) -> list[dict[str, Any]]:
    """Open sessions at the location, newest first, one line per device."""
    from porchlight.admin.locations.guest_page_settings import current_settings

    session_len = int(current_settings(conn, location_id)["session"]["length_seconds"])
    vb = schema.voucher_batches
    longest_voucher = conn.execute(
        sa.select(sa.func.max(vb.c.duration_seconds)).where(
            vb.c.location_id == location_id, vb.c.voided_at.is_(None)
        )
    ).scalar()
    window = max(session_len, int(longest_voucher or 0))
    since = utcnow() - timedelta(seconds=window)
    v, c = schema.visits, schema.customers
    rows = conn.execute(
        sa.select(
            v.c.id,
            v.c.mac,
            v.c.router_id,
            v.c.channel,
            v.c.started_at,
            c.c.id.label("customer_id"),
            c.c.name,
            c.c.phone,
            c.c.email,
        )
        .join(c, c.c.id == v.c.customer_id)
        .where(v.c.location_id == location_id, v.c.ended_at.is_(None), v.c.started_at >= since)
        .order_by(v.c.started_at.desc())
        .limit(1000)
    ).all()
    rc = schema.router_commands
    pending = {
        (row.router_id, (row.payload or {}).get("mac")): row.acked_at
        for row in conn.execute(
            sa.select(rc.c.router_id, rc.c.payload, rc.c.acked_at)
            .join(schema.routers, schema.routers.c.id == rc.c.router_id)
            .where(
                schema.routers.c.location_id == location_id,
                rc.c.action == "deauthorize",
                rc.c.created_at >= since,
            )
            .order_by(rc.c.id)
        )
    }
    seen: set[str] = set()
    out = []
    for row in rows:
        if not row.mac or row.mac in seen:
            continue
        seen.add(row.mac)
        item = dict(row._mapping)
        item["disconnect"] = (
            None
            if (row.router_id, row.mac) not in pending
            else ("acked" if pending[(row.router_id, row.mac)] else "queued")
        )
        # a voucher's own duration is not known here: no end time rather than a wrong one
        item["expires_at"] = (
            None if row.channel == "voucher" else row.started_at + timedelta(seconds=session_len)
        )
        out.append(item)
    return out


@bp.route("/online")
@require_role()
def online(location_id: int) -> ResponseReturnValue:
    with get_engine().connect() as conn:
        location = location_or_404(conn, location_id)
        guests = online_guests(conn, location_id)
        routers = location_routers(conn, location_id)
    reported = sum(int(r["clients_online"] or 0) for r in routers if r["status"] == "online")
    return render_template(
        "routers/online.html",
        location=location,
        guests=guests,
        routers={r["id"]: r for r in routers},
        reported=reported,
    )


@bp.route("/online/disconnect", methods=["POST"])
@require_role("owner", "manager")
def disconnect(location_id: int) -> ResponseReturnValue:
    try:
        mac = normalize_mac(request.form.get("mac") or "")
        router_id = int(request.form.get("router_id") or "0")
    except (EventError, ValueError):
        flash(_("That device is not online here any more."), "error")
        return redirect(url_for("routers_ui.online", location_id=location_id))
    with get_engine().begin() as conn:
        location_or_404(conn, location_id, for_edit=True)
        router = _router(conn, location_id, router_id)
        if router.revoked_at is not None:
            flash(_("That router is revoked; it cannot receive commands."), "error")
            return redirect(url_for("routers_ui.online", location_id=location_id))
        command_id = conn.execute(
            schema.router_commands.insert().values(
                router_id=router_id,
                action="deauthorize",
                payload={"mac": mac, "reason": "admin"},
                created_at=utcnow(),
            )
        ).inserted_primary_key[0]  # type: ignore[index]
        audit(conn, "guest_disconnect", "router", router_id, {"mac": mac, "command": command_id})
    flash(
        _(
            "Disconnect sent to “%(router)s”; it takes effect at the router's next check-in.",
            router=router.name,
        ),
        "success",
    )
    return redirect(url_for("routers_ui.online", location_id=location_id))
