"""Voucher batches per location: generate, print as cards, see who used them, void.

Codes are 8 symbols from an alphabet without look-alikes (no 0/O, 1/I/L), made
with `secrets`, unique per tenant. Batches reach the routers in the location
config (`vouchers`, built by location_config from the non-voided, unexpired
batches); a voided batch drops out of the next config the routers pull.
"""

from __future__ import annotations

import logging
import secrets
from datetime import datetime, time
from typing import Any

import sqlalchemy as sa
from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy.engine import Connection

from porchlight.admin import schema
from porchlight.admin.audit import audit
from porchlight.admin.db import get_engine, utcnow
from porchlight.admin.i18n import zone
from porchlight.admin.scope import location_or_404, require_role
from porchlight.admin.sync.location_config import build_location_config

log = logging.getLogger(__name__)

bp = Blueprint("vouchers", __name__, url_prefix="/locations/<int:location_id>/vouchers")

ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
CODE_LENGTH = 8
MAX_COUNT = 500
UNITS = {"minutes": 60, "hours": 3600, "days": 86400}
DURATION_SECONDS = (5 * 60, 30 * 86400)
MAX_USES = 1000
MAX_DEVICES = 10
MAX_EXPIRY_DAYS = 2 * 366


def new_code() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))


def unique_codes(conn: Connection, tenant_id: int, count: int) -> list[str]:
    """`count` new codes that no voucher of the tenant has."""
    codes: set[str] = set()
    vt = schema.vouchers
    while len(codes) < count:
        wanted = {new_code() for _ in range(count - len(codes))} - codes
        taken = {
            row[0]
            for row in conn.execute(
                sa.select(vt.c.code).where(vt.c.tenant_id == tenant_id, vt.c.code.in_(wanted))
            )
        }
        codes |= wanted - taken
    return sorted(codes)


def _int(form: Any, key: str, low: int, high: int, message: str, errors: dict[str, str]) -> int:
    try:
        value = int((form.get(key) or "").strip())
    except ValueError:
        value = low - 1
    if not low <= value <= high:
        errors[key] = message
    return value


def clean_batch(form: Any, tz: str, now: datetime) -> tuple[dict[str, Any], dict[str, str]]:
    """The generate form -> (voucher_batches values, errors by field)."""
    errors: dict[str, str] = {}
    count = _int(
        form, "count", 1, MAX_COUNT, _("Number of codes: 1 to %(n)d.", n=MAX_COUNT), errors
    )
    unit = form.get("unit") if form.get("unit") in UNITS else "hours"
    amount = _int(form, "duration", 1, 100000, _("Duration: a whole number."), errors)
    duration = amount * UNITS[unit]
    if "duration" not in errors and not DURATION_SECONDS[0] <= duration <= DURATION_SECONDS[1]:
        errors["duration"] = _("Duration: between 5 minutes and 30 days.")
    uses = _int(form, "max_uses", 1, MAX_USES, _("Uses per code: 1 to %(n)d.", n=MAX_USES), errors)
    devices = _int(
        form,
        "max_devices",
        1,
        MAX_DEVICES,
        _("Devices per code: 1 to %(n)d.", n=MAX_DEVICES),
        errors,
    )
    expires_at = None
    raw = (form.get("expires_on") or "").strip()
    if raw:
        try:
            day = datetime.strptime(raw, "%Y-%m-%d").date()  # noqa: DTZ007 - a date
        except ValueError:
            errors["expires_on"] = _("Valid until: pick a date.")
        else:
            local_today = now.astimezone(zone(tz)).date()
            if day < local_today:
                errors["expires_on"] = _("Valid until: a date in the past.")
            elif (day - local_today).days > MAX_EXPIRY_DAYS:
                errors["expires_on"] = _("Valid until: at most two years ahead.")
            else:
                expires_at = datetime.combine(day, time(23, 59, 59), tzinfo=zone(tz))
    note = " ".join((form.get("note") or "").split())
    if len(note) > 200:
        errors["note"] = _("Note: at most 200 characters.")
    values = {
        "count": count,
        "duration_seconds": duration,
        "max_uses": uses,
        "max_devices": devices,
        "expires_at": expires_at,
        "note": note or None,
    }
    return values, errors


def _batch_or_404(conn: Connection, location_id: int, batch_id: int) -> Any:
    vb = schema.voucher_batches
    row = conn.execute(
        sa.select(vb).where(vb.c.id == batch_id, vb.c.location_id == location_id)
    ).first()
    if row is None:
        abort(404)
    return row


def _batches(conn: Connection, location_id: int) -> list[Any]:
    vb, vt = schema.voucher_batches, schema.vouchers
    used = (
        sa.select(sa.func.count())
        .where(vt.c.batch_id == vb.c.id, vt.c.uses > 0)
        .scalar_subquery()
        .label("used")
    )
    return list(
        conn.execute(
            sa.select(vb, used).where(vb.c.location_id == location_id).order_by(vb.c.id.desc())
        )
    )


def _index_page(location: Any, batches: list[Any], values: Any, errors: dict[str, str]) -> Any:
    with get_engine().connect() as conn:
        channels = build_location_config(conn, location.id)[0]["portal"]["channels"]
    return (
        render_template(
            "vouchers/index.html",
            location=location,
            voucher_on="voucher" in channels,
            batches=batches,
            values=values,
            errors=errors,
            now=utcnow(),
        ),
        422 if errors else 200,
    )


@bp.route("", methods=["GET"])
@require_role()
def index(location_id: int) -> ResponseReturnValue:
    with get_engine().connect() as conn:
        location = location_or_404(conn, location_id)
        batches = _batches(conn, location_id)
    defaults = {
        "count": "20",
        "duration": "2",
        "unit": "hours",
        "max_uses": "1",
        "max_devices": "1",
    }
    return _index_page(location, batches, defaults, {})


@bp.route("", methods=["POST"])
@require_role("owner", "manager")
def generate(location_id: int) -> ResponseReturnValue:
    with get_engine().begin() as conn:
        location = location_or_404(conn, location_id, for_edit=True)
        values, errors = clean_batch(request.form, location.timezone, utcnow())
        if location.archived_at is not None:
            errors["count"] = _("This location is archived; restore it to make vouchers.")
        if errors:
            return _index_page(location, _batches(conn, location_id), request.form, errors)
        batch_id = conn.execute(
            schema.voucher_batches.insert().values(
                tenant_id=location.tenant_id,
                location_id=location_id,
                created_by=current_user.id,
                created_at=utcnow(),
                **values,
            )
        ).inserted_primary_key[0]  # type: ignore[index]
        codes = unique_codes(conn, location.tenant_id, values["count"])
        conn.execute(
            schema.vouchers.insert(),
            [{"batch_id": batch_id, "tenant_id": location.tenant_id, "code": c} for c in codes],
        )
        audit(
            conn,
            "voucher_batch_create",
            "voucher_batch",
            batch_id,
            {**values, "expires_at": str(values["expires_at"])},
        )
    flash(_("%(n)s voucher codes created.", n=values["count"]), "success")
    return redirect(url_for("vouchers.batch", location_id=location_id, batch_id=batch_id))


def _codes(conn: Connection, batch_id: int) -> list[dict[str, Any]]:
    vt, vu, c = schema.vouchers, schema.voucher_uses, schema.customers
    codes = {
        row.id: {"code": row.code, "uses": row.uses, "used_by": []}
        for row in conn.execute(
            sa.select(vt.c.id, vt.c.code, vt.c.uses)
            .where(vt.c.batch_id == batch_id)
            .order_by(vt.c.code)
        )
    }
    for row in conn.execute(
        sa.select(vu.c.voucher_id, vu.c.mac, vu.c.used_at, c.c.id, c.c.name, c.c.phone, c.c.email)
        .join(vt, vt.c.id == vu.c.voucher_id)
        .outerjoin(c, c.c.id == vu.c.customer_id)
        .where(vt.c.batch_id == batch_id)
        .order_by(vu.c.used_at)
    ):
        codes[row.voucher_id]["used_by"].append(dict(row._mapping))
    return list(codes.values())


@bp.route("/<int:batch_id>")
@require_role()
def batch(location_id: int, batch_id: int) -> ResponseReturnValue:
    with get_engine().connect() as conn:
        location = location_or_404(conn, location_id)
        row = _batch_or_404(conn, location_id, batch_id)
        codes = _codes(conn, batch_id)
    return render_template(
        "vouchers/batch.html", location=location, batch=row, codes=codes, now=utcnow()
    )


def _card_setup(conn: Connection, location: Any, row: Any) -> tuple[Any, bool]:
    """(the cards' words in the location's language, whether guests can use codes now)."""
    from porchlight.admin.locations.guest_page_settings import current_settings
    from porchlight.admin.locations.wifi_card import card_words

    portal = current_settings(conn, location.id)["portal"]
    words = card_words(location, row, portal.get("venue_name") or location.name)
    return words, "voucher" in portal.get("channels", [])


@bp.route("/<int:batch_id>/print")
@require_role()
def cards(location_id: int, batch_id: int) -> ResponseReturnValue:
    from porchlight.admin.locations.wifi_card import qr_svg

    with get_engine().connect() as conn:
        location = location_or_404(conn, location_id)
        row = _batch_or_404(conn, location_id, batch_id)
        codes = _codes(conn, batch_id)
        words, voucher_on = _card_setup(conn, location, row)
    unused = [c for c in codes if request.args.get("all") or c["uses"] < row.max_uses]
    return render_template(
        "vouchers/cards.html",
        location=location,
        batch=row,
        codes=unused,
        words=words,
        qr=qr_svg(words.uri) if words.uri else None,
        voucher_on=voucher_on,
    )


@bp.route("/<int:batch_id>/cards.pdf")
@require_role()
def cards_pdf(location_id: int, batch_id: int) -> ResponseReturnValue:
    """The cards page as a PDF (A4, 10 cards a page); the download is audited."""
    from porchlight.admin.locations.vouchers_pdf import render_cards

    with get_engine().begin() as conn:
        location = location_or_404(conn, location_id)
        row = _batch_or_404(conn, location_id, batch_id)
        codes = _codes(conn, batch_id)
        words, _voucher_on = _card_setup(conn, location, row)
        every = bool(request.args.get("all"))
        unused = [c["code"] for c in codes if every or c["uses"] < row.max_uses]
        notice = _("This batch is voided: these codes no longer work.") if row.voided_at else None
        pdf = render_cards(
            unused,
            words,
            title=_("Voucher cards") + f" · {location.name} · #{batch_id}",
            notice=notice,
            empty=_("Every code of this batch is used up."),
        )
        audit(conn, "voucher_batch_pdf", "voucher_batch", batch_id, {"cards": len(unused)})
    return Response(
        pdf,
        mimetype="application/pdf",
        headers={
            "Content-Disposition": f'attachment; filename="vouchers-{location_id}-{batch_id}.pdf"',
            "Cache-Control": "private, no-store",
        },
    )


@bp.route("/<int:batch_id>/void", methods=["POST"])
@require_role("owner", "manager")
def void(location_id: int, batch_id: int) -> ResponseReturnValue:
    with get_engine().begin() as conn:
        location_or_404(conn, location_id, for_edit=True)
        row = _batch_or_404(conn, location_id, batch_id)
        if row.voided_at is None:
            conn.execute(
                schema.voucher_batches.update()
                .where(schema.voucher_batches.c.id == batch_id)
                .values(voided_at=utcnow())
            )
            audit(conn, "voucher_batch_void", "voucher_batch", batch_id, {"count": row.count})
    flash(_("Batch voided: its codes stop working after the routers' next check-in."), "success")
    return redirect(url_for("vouchers.batch", location_id=location_id, batch_id=batch_id))
