"""Locations: list, create, edit, archive (pages check scope with admin/scope.py).

Owners see and change every location of their tenant; managers see and edit
only their assigned ones (others answer 404, as if they did not exist);
viewers read. Creating and archiving are the owner's.
"""

from __future__ import annotations

import logging
import re
import zoneinfo
from functools import lru_cache
from typing import Any

import sqlalchemy as sa
from babel import Locale
from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy.engine import Connection

from porchlight.admin import schema
from porchlight.admin.audit import audit
from porchlight.admin.customers.filter_words import channel_words
from porchlight.admin.db import get_engine, utcnow
from porchlight.admin.locations.routers import location_routers
from porchlight.admin.locations.wifi_card import clean_wifi
from porchlight.admin.scope import (
    current_tenant_id,
    location_or_404,
    require_role,
    visible_location_ids,
)
from porchlight.admin.sync.enrollment import router_status
from porchlight.admin.sync.location_config import build_location_config
from porchlight.phones import country_for_zone

log = logging.getLogger(__name__)

bp = Blueprint("locations", __name__, url_prefix="/locations")

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
COUNTRY_ZONES = {"VN": "Asia/Ho_Chi_Minh", "TH": "Asia/Bangkok"}
_TIME = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")
_POSTAL = re.compile(r"^[0-9A-Za-z][0-9A-Za-z \-]{0,19}$")
LIMITS = {"name": 200, "address": 500, "province": 100}


@lru_cache(maxsize=1)
def timezones() -> list[str]:
    return sorted(z for z in zoneinfo.available_timezones() if "/" in z and "Etc" not in z)


def countries(locale: str) -> list[tuple[str, str]]:
    names = Locale.parse(locale).territories
    return sorted(
        ((code, name) for code, name in names.items() if len(code) == 2 and code.isalpha()),
        key=lambda item: item[1],
    )


def day_names() -> dict[str, str]:
    return {
        "mon": _("Monday"),
        "tue": _("Tuesday"),
        "wed": _("Wednesday"),
        "thu": _("Thursday"),
        "fri": _("Friday"),
        "sat": _("Saturday"),
        "sun": _("Sunday"),
    }


def channel_names() -> dict[str, str]:
    """The ways in a guest page offers (the list's channel names, without "import")."""
    return {key: name for key, name in channel_words().items() if key != "import"}


def clean_location(form: Any, locale: str = "en") -> tuple[dict[str, Any], dict[str, str]]:
    """The location form -> (column values, errors by field)."""
    errors: dict[str, str] = {}
    values: dict[str, Any] = {}
    for key, label in (("name", _("Name")), ("address", _("Address")), ("province", _("Province"))):
        text = " ".join((form.get(key) or "").split())
        if len(text) > LIMITS[key]:
            errors[key] = _("%(label)s: at most %(n)d characters.", label=label, n=LIMITS[key])
        values[key] = text or None
    if not values["name"]:
        errors["name"] = _("Name: required.")
    postal = (form.get("postal_code") or "").strip()
    if postal and not _POSTAL.match(postal):
        errors["postal_code"] = _("Postal code: letters, digits, spaces or dashes, at most 20.")
    values["postal_code"] = postal or None
    country = (form.get("country") or "").strip().upper()
    if not country and (form.get("timezone") or "").strip():
        country = country_for_zone(str(form.get("timezone")).strip())
    if country not in dict(countries("en")):
        errors["country"] = _("Choose a country.")
    values["country"] = country
    zone = (form.get("timezone") or "").strip() or COUNTRY_ZONES.get(country, "")
    if zone not in zoneinfo.available_timezones():
        errors["timezone"] = _("Choose a time zone from the list, like Asia/Ho_Chi_Minh.")
    values["timezone"] = zone
    hours: dict[str, list[list[str]]] = {}
    for day in DAYS:
        if form.get(f"closed_{day}"):
            hours[day] = []
            continue
        opens = (form.get(f"open_{day}") or "").strip()
        closes = (form.get(f"close_{day}") or "").strip()
        if not opens and not closes:
            continue
        if not (_TIME.match(opens) and _TIME.match(closes)) or opens == closes:
            errors[f"hours_{day}"] = _(
                "%(day)s: enter opening and closing times like 08:00 and 22:00, or tick Closed.",
                day=day_names()[day],
            )
            continue
        hours[day] = [[opens, closes]]
    values["opening_hours"] = hours or None
    wifi, wifi_errors = clean_wifi(form)
    values.update(wifi)
    errors.update(wifi_errors)
    return values, errors


def form_from_row(row: Any) -> dict[str, str]:
    values = {
        key: str(getattr(row, key) or "")
        for key in (
            "name",
            "address",
            "province",
            "postal_code",
            "country",
            "timezone",
            "wifi_ssid",
            "wifi_password",
        )
    }
    for day, spans in (row.opening_hours or {}).items():
        if not spans:
            values[f"closed_{day}"] = "on"
        else:
            values[f"open_{day}"], values[f"close_{day}"] = spans[0]
    return values


def _name_taken(conn: Connection, name: str, exclude: int | None = None) -> bool:
    loc = schema.locations
    query = sa.select(loc.c.id).where(loc.c.tenant_id == current_tenant_id(), loc.c.name == name)
    if exclude is not None:
        query = query.where(loc.c.id != exclude)
    return conn.execute(query).first() is not None


def _form_page(values: dict[str, str], errors: dict[str, str], location: Any = None) -> Any:
    status = 422 if errors else 200
    return (
        render_template(
            "locations/form.html",
            values=values,
            errors=errors,
            location=location,
            countries=countries(str(get_locale() or "en")),
            timezones=timezones(),
            days=DAYS,
            day_names=day_names(),
        ),
        status,
    )


@bp.route("/")
@require_role()
def index() -> ResponseReturnValue:
    show_archived = request.args.get("archived") == "1"
    loc, rt = schema.locations, schema.routers
    with get_engine().connect() as conn:
        ids = visible_location_ids(current_user, conn)
        query = (
            sa.select(
                loc,
                sa.select(sa.func.count())
                .where(rt.c.location_id == loc.c.id, rt.c.revoked_at.is_(None))
                .scalar_subquery()
                .label("router_count"),
            )
            .where(loc.c.id.in_(ids))
            .order_by(loc.c.name)
        )
        query = query.where(
            loc.c.archived_at.is_not(None) if show_archived else loc.c.archived_at.is_(None)
        )
        rows = conn.execute(query).all()
    return render_template("locations/index.html", rows=rows, show_archived=show_archived)


@bp.route("/new", methods=["GET", "POST"])
@require_role("owner")
def create() -> ResponseReturnValue:
    if request.method == "GET":
        return _form_page({"country": "VN", "timezone": COUNTRY_ZONES["VN"]}, {})
    values, errors = clean_location(request.form)
    with get_engine().begin() as conn:
        if "name" not in errors and _name_taken(conn, values["name"]):
            errors["name"] = _("Another location already has this name.")
        if errors:
            return _form_page(dict(request.form), errors)
        now = utcnow()
        location_id = conn.execute(
            schema.locations.insert().values(
                tenant_id=current_tenant_id(), created_at=now, updated_at=now, **values
            )
        ).inserted_primary_key[0]  # type: ignore[index]
        audit(conn, "location_create", "location", location_id, {"name": values["name"]})
    flash(_("Location “%(name)s” created.", name=values["name"]), "success")
    return redirect(url_for("locations.show", location_id=location_id))


@bp.route("/<int:location_id>")
@require_role()
def show(location_id: int) -> ResponseReturnValue:
    with get_engine().connect() as conn:
        location = location_or_404(conn, location_id)
        routers = location_routers(conn, location_id)
        batches = conn.execute(
            sa.select(sa.func.count()).where(
                schema.voucher_batches.c.location_id == location_id,
                schema.voucher_batches.c.voided_at.is_(None),
            )
        ).scalar()
        guest_version = conn.execute(
            sa.select(sa.func.max(schema.portal_settings.c.version)).where(
                schema.portal_settings.c.location_id == location_id
            )
        ).scalar()
        channels = build_location_config(conn, location_id)[0]["portal"]["channels"]
    names = channel_names()
    return render_template(
        "locations/show.html",
        location=location,
        routers=routers,
        batches=batches,
        guest_version=guest_version,
        channels=channels,
        ways_in=[names.get(c, c) for c in channels],
        day_names=day_names(),
        days=DAYS,
        countries=dict(countries(str(get_locale() or "en"))),
    )


@bp.route("/<int:location_id>/edit", methods=["GET", "POST"])
@require_role("owner", "manager")
def edit(location_id: int) -> ResponseReturnValue:
    with get_engine().begin() as conn:
        location = location_or_404(conn, location_id, for_edit=True)
        if request.method == "GET":
            return _form_page(form_from_row(location), {}, location)
        values, errors = clean_location(request.form)
        if "name" not in errors and _name_taken(conn, values["name"], exclude=location_id):
            errors["name"] = _("Another location already has this name.")
        if errors:
            return _form_page(dict(request.form), errors, location)
        changed = {k: v for k, v in values.items() if getattr(location, k) != v}
        conn.execute(
            schema.locations.update()
            .where(schema.locations.c.id == location_id)
            .values(updated_at=utcnow(), **values)
        )
        audit(conn, "location_edit", "location", location_id, {"changed": sorted(changed)})
    flash(_("Location saved."), "success")
    return redirect(url_for("locations.show", location_id=location_id))


@bp.route("/<int:location_id>/archive", methods=["POST"])
@require_role("owner")
def archive(location_id: int) -> ResponseReturnValue:
    restore = request.form.get("restore") == "1"
    with get_engine().begin() as conn:
        location = location_or_404(conn, location_id, for_edit=True)
        conn.execute(
            schema.locations.update()
            .where(schema.locations.c.id == location_id)
            .values(archived_at=None if restore else utcnow(), updated_at=utcnow())
        )
        audit(conn, "location_restore" if restore else "location_archive", "location", location_id)
    if restore:
        flash(_("Location “%(name)s” restored.", name=location.name), "success")
    else:
        flash(
            _(
                "Location “%(name)s” archived. Its customers and visits are kept; "
                "its routers keep their last settings.",
                name=location.name,
            ),
            "success",
        )
    return redirect(url_for("locations.show", location_id=location_id))


@bp.route("/assets/locations.css")
def stylesheet() -> Response:
    response = Response(render_template("locations/locations.css"), mimetype="text/css")
    response.headers["Cache-Control"] = "public, max-age=300"
    return response


@bp.route("/assets/<name>.js")
def script(name: str) -> Response:
    if name not in ("settings", "copy"):
        abort(404)
    response = Response(render_template(f"locations/{name}.js"), mimetype="application/javascript")
    response.headers["Cache-Control"] = "public, max-age=300"
    return response


def status_of(row: Any, stale_seconds: int) -> str:
    return router_status(row, utcnow(), stale_seconds)
