"""Privacy pages (blueprint ``privacy``, owners): retention settings, guests' requests.

``/privacy``: the retention window for customers and for device data, with
what a pass would do now ("this would erase 1,204 customers") before it can
be turned on; why each guest-form field is asked and where. ``/privacy/
requests``: erasure requests guests sent from the portal's "My data", each
with the time left to answer (`guest_events.ERASURE_DEADLINE`), to confirm
(the customer is erased) or decline. Every change is audited.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext
from flask_login import current_user
from sqlalchemy.engine import Connection

from porchlight.admin import schema
from porchlight.admin.audit import audit
from porchlight.admin.customers import channel_rollup, customer_rollup, visit_rollup
from porchlight.admin.db import get_engine, utcnow
from porchlight.admin.privacy import retention, schedule
from porchlight.admin.privacy import settings as privacy_settings
from porchlight.admin.privacy.guest_events import ERASURE_DEADLINE
from porchlight.admin.scope import current_tenant_id, require_role
from porchlight.admin.sync.location_config import default_settings, latest_settings

bp = Blueprint("privacy", __name__)

# Why the guest form asks each field (the settings page says it next to where it is asked).
FIELD_REASONS = {
    "name": lazy_gettext(
        "To greet the guest by name and to tell customers apart on your list. "
        "A returning device is shown a first name at most."
    ),
    "phone": lazy_gettext(
        "To recognise the same customer across visits and phones (never by the "
        "device's address) and, only with marketing consent, to send offers."
    ),
    "email": lazy_gettext(
        "Another way to recognise a customer without a phone and, only with "
        "marketing consent, to send news."
    ),
}
REQ = schema.guest_requests


def _field_modes(conn: Connection, tenant_id: int) -> list[dict[str, Any]]:
    """Per location, how each guest-form field is asked (required / optional / hidden)."""
    loc = schema.locations
    out = []
    for row in conn.execute(
        sa.select(loc.c.id, loc.c.name)
        .where(loc.c.tenant_id == tenant_id, loc.c.archived_at.is_(None))
        .order_by(loc.c.name)
    ):
        saved = latest_settings(conn, int(row.id))
        fields = dict(default_settings(row.name)["portal"]["fields"])
        if saved is not None and isinstance(saved.settings, dict):
            fields.update((saved.settings.get("portal") or {}).get("fields") or {})
        out.append({"name": row.name, "fields": fields})
    return out


def _number(raw: str | None, low: int, high: int) -> int | None:
    raw = (raw or "").strip()
    if not raw.isdigit() or len(raw) > 6:
        return None
    value = int(raw)
    return value if low <= value <= high else None


def _render(conn: Connection, r: privacy_settings.Retention, **extra: Any) -> str:
    tenant_id = current_tenant_id()
    now = utcnow()
    open_requests = conn.execute(
        sa.select(sa.func.count())
        .select_from(REQ)
        .where(REQ.c.tenant_id == tenant_id, REQ.c.status == "open")
    ).scalar_one()
    return render_template(
        "privacy.html",
        r=r,
        preview=extra.pop("preview", None) or retention.preview(conn, tenant_id, r, now),
        locations=_field_modes(conn, tenant_id),
        reasons=FIELD_REASONS,
        open_requests=open_requests,
        running=schedule.pending(conn, tenant_id),
        months_range=privacy_settings.CUSTOMER_MONTHS_RANGE,
        days_range=privacy_settings.DEVICE_DAYS_RANGE,
        **extra,
    )


@bp.route("/privacy")
@require_role("owner")
def index() -> ResponseReturnValue:
    with get_engine().connect() as conn:
        return _render(conn, privacy_settings.load(conn, current_tenant_id()))


@bp.route("/privacy/retention", methods=["POST"])
@require_role("owner")
def save() -> ResponseReturnValue:
    tenant_id = current_tenant_id()
    months = _number(request.form.get("customer_months"), *privacy_settings.CUSTOMER_MONTHS_RANGE)
    days = _number(request.form.get("device_days"), *privacy_settings.DEVICE_DAYS_RANGE)
    enabled = request.form.get("enabled") == "1"
    with get_engine().begin() as conn:
        before = privacy_settings.load(conn, tenant_id)
        errors = []
        if months is None:
            errors.append(_("Customers: write a number of months from 1 to 120."))
        if days is None:
            errors.append(_("Device data: write a number of days from 1 to 3650."))
        if errors or months is None or days is None:
            for message in errors:
                flash(message, "error")
            return redirect(url_for("privacy.index"))
        wanted = privacy_settings.Retention(
            enabled=enabled,
            customer_months=months,
            device_days=days,
            devices_pruned_before=before.devices_pruned_before,
            last_run_at=before.last_run_at,
            last_result=before.last_result,
        )
        preview = retention.preview(conn, tenant_id, wanted, utcnow())
        turning_on = enabled and not before.enabled
        changed = (months, days) != (before.customer_months, before.device_days)
        confirmed = request.form.get("confirm") == str(preview["customers"])
        if enabled and (turning_on or changed) and not confirmed:
            # Show what it would do first; the owner turns it on from there.
            return _render(conn, before, preview=preview, confirm=wanted)
        privacy_settings.save(
            conn,
            tenant_id,
            {"retention_enabled": enabled, "customer_months": months, "device_days": days},
            int(current_user.id),
        )
        audit(
            conn,
            "privacy_retention_settings",
            "tenant",
            tenant_id,
            {
                "enabled": [before.enabled, enabled],
                "customer_months": [before.customer_months, months],
                "device_days": [before.device_days, days],
                "would_erase": preview["customers"],
            },
        )
    flash(_("Retention settings saved."), "success")
    return redirect(url_for("privacy.index"))


@bp.route("/privacy/retention/run", methods=["POST"])
@require_role("owner")
def run_now() -> ResponseReturnValue:
    tenant_id = current_tenant_id()
    with get_engine().begin() as conn:
        if not privacy_settings.load(conn, tenant_id).enabled:
            flash(_("Turn retention on first."), "error")
            return redirect(url_for("privacy.index"))
        job_id = schedule.queue(conn, tenant_id, int(current_user.id))
        if job_id is not None:
            audit(conn, "privacy_retention_queued", "job", job_id, {})
    flash(_("A retention pass is queued; the worker runs it in the background."), "success")
    return redirect(url_for("privacy.index"))


@bp.route("/privacy/requests")
@require_role("owner")
def requests() -> ResponseReturnValue:
    tenant_id = current_tenant_id()
    loc = schema.locations
    with get_engine().connect() as conn:
        rows = list(
            conn.execute(
                sa.select(REQ, loc.c.name.label("location_name"))
                .outerjoin(loc, loc.c.id == REQ.c.location_id)
                .where(REQ.c.tenant_id == tenant_id)
                .order_by((REQ.c.status == "open").desc(), REQ.c.due_at, REQ.c.id.desc())
                .limit(200)
            )
        )
    now = utcnow()
    return render_template(
        "privacy_requests.html",
        rows=rows,
        left=lambda due: time_left(due, now),
        deadline_hours=int(ERASURE_DEADLINE.total_seconds() // 3600),
    )


def time_left(due: datetime, now: datetime) -> dict[str, Any]:
    """The countdown to `due`: hours and minutes left, or how late."""
    seconds = int((due - now).total_seconds())
    late = seconds < 0
    minutes = abs(seconds) // 60
    return {"late": late, "hours": minutes // 60, "minutes": minutes % 60}


def _open_request(conn: Connection, request_id: int) -> Any:
    row = conn.execute(
        sa.select(REQ).where(REQ.c.id == request_id, REQ.c.tenant_id == current_tenant_id())
    ).first()
    return row if row is not None and row.status == "open" else None


@bp.route("/privacy/requests/<int:request_id>/<any(confirm, decline):decision>", methods=["POST"])
@require_role("owner")
def decide(request_id: int, decision: str) -> ResponseReturnValue:
    with get_engine().begin() as conn:
        row = _open_request(conn, request_id)
        if row is None:
            flash(_("That request is already answered."), "error")
            return redirect(url_for("privacy.requests"))
        customer_id = row.customer_id
        visits = 0
        if decision == "confirm" and customer_id is not None:
            c = schema.customers
            visits = int(
                conn.execute(sa.select(c.c.visit_count).where(c.c.id == customer_id)).scalar() or 0
            )
            visit_rollup.remove_customer(conn, customer_id)  # their visits go by cascade
            channel_rollup.subtract(conn, [customer_id])  # and their channels
            customer_rollup.subtract(conn, [customer_id])  # and first/last visits
            conn.execute(c.delete().where(c.c.id == customer_id))
        status = "erased" if decision == "confirm" else "declined"
        conn.execute(
            REQ.update()
            .where(REQ.c.id == request_id)
            .values(status=status, decided_at=utcnow(), decided_by=int(current_user.id))
        )
        late = utcnow() > row.due_at
        audit(
            conn,
            "guest_erasure_" + status,
            "customer",
            customer_id,
            {"request": request_id, "visits": visits, "late": late},
        )
    if decision == "confirm":
        flash(_("The customer and all their data were erased."), "success")
    else:
        flash(_("The request was declined; say why to the guest if they ask."), "success")
    return redirect(url_for("privacy.requests"))
