"""Guest-page settings per location: the form, the live phone preview, saving versions.

The preview is the portal's own `render_login` (the page phones get) fed with
the draft settings, rendered into a sandboxed iframe. With JavaScript the
preview follows every keystroke; without, the "Update preview" button does it.
A save checks every field, and either writes one new `portal_settings` version
with its audit row, or nothing at all.
"""

from __future__ import annotations

import base64
import logging
from typing import Any

import sqlalchemy as sa
from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy.engine import Connection
from werkzeug.exceptions import RequestEntityTooLarge

from porchlight.admin import schema
from porchlight.admin.audit import audit
from porchlight.admin.db import get_engine
from porchlight.admin.locations import guest_page_settings as ps
from porchlight.admin.locations.logo import MAX_UPLOAD_BYTES, LogoError, check_size, process_logo
from porchlight.admin.scope import location_or_404, require_role
from porchlight.admin.sync.location_config import build_location_config, latest_settings
from porchlight.guest_page.page import render_login
from porchlight.walled_garden import SOCIAL_DOMAINS

log = logging.getLogger(__name__)

bp = Blueprint("settings_ui", __name__, url_prefix="/locations/<int:location_id>/guest-page")

MAX_REQUEST = MAX_UPLOAD_BYTES + 512 * 1024  # the logo plus the text fields
PREVIEW_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
    "form-action 'none'; frame-ancestors 'self'; base-uri 'none'"
)


def data_uri(logo: bytes | None, logo_type: str | None) -> str | None:
    if not logo or not logo_type:
        return None
    return f"data:{logo_type};base64,{base64.b64encode(logo).decode('ascii')}"


def _state(conn: Connection, location_id: int) -> tuple[dict[str, Any], Any]:
    """(current settings, newest row or None)."""
    return ps.current_settings(conn, location_id), latest_settings(conn, location_id)


def _page(
    location: Any,
    values: dict[str, str],
    errors: dict[str, str],
    row: Any,
    *,
    status: int = 200,
) -> ResponseReturnValue:
    has_logo = bool(row is not None and row.logo)
    with get_engine().connect() as conn:
        versions = history(conn, location.id)
    return (
        render_template(
            "locations/guest_page.html",
            location=location,
            values=values,
            errors=errors,
            version=row.version if row is not None else 0,
            saved_at=row.created_at if row is not None else None,
            has_logo=has_logo,
            channels=ps.CHANNELS,
            langs=ps.LANGS,
            max_logo=MAX_UPLOAD_BYTES,
            editable=current_user.can_edit and location.archived_at is None,
            versions=versions,
            preview_lang={"VN": "vi", "TH": "th"}.get(location.country, "en"),
            social_walled=[
                (channel, domains)
                for channel, domains in SOCIAL_DOMAINS.items()
                if values.get(f"channel_{channel}")
            ],
        ),
        status,
    )


def history(conn: Connection, location_id: int, limit: int = 10) -> list[Any]:
    """The newest versions with who saved them."""
    table, users = schema.portal_settings, schema.users
    return list(
        conn.execute(
            sa.select(table.c.version, table.c.created_at, users.c.name, users.c.email)
            .outerjoin(users, users.c.id == table.c.created_by)
            .where(table.c.location_id == location_id)
            .order_by(table.c.version.desc())
            .limit(limit)
        )
    )


def _read_form() -> tuple[dict[str, str], Any, str | None]:
    """(form fields, uploaded logo or None, error) — a too-large request is an error."""
    request.max_content_length = MAX_REQUEST
    try:
        form = request.form.to_dict()
        upload = request.files.get("logo")
    except RequestEntityTooLarge:
        size = request.content_length or 0
        return (
            {},
            None,
            _(
                "The logo file is %(size)s MB; the most is %(max)s MB. Nothing was saved.",
                size=f"{size / 1048576:.1f}",
                max=f"{MAX_UPLOAD_BYTES / 1048576:.1f}",
            ),
        )
    if upload is not None and not upload.filename:
        upload = None
    return form, upload, None


def _read_logo(upload: Any) -> tuple[bytes, str]:
    data = upload.stream.read(MAX_UPLOAD_BYTES + 1)
    check_size(len(data))
    return process_logo(data)


@bp.errorhandler(RequestEntityTooLarge)
def too_large(error: RequestEntityTooLarge) -> ResponseReturnValue:
    """A request over the app's limit stops before any view (the CSRF check reads
    the form): answer on the settings page with the logo field's message."""
    location_id = int((request.view_args or {}).get("location_id", 0))
    if request.endpoint != "settings_ui.save" or not current_user.is_authenticated:
        return error
    size = request.content_length or 0
    message = _(
        "The logo file is %(size)s MB; the most is %(max)s MB. Nothing was saved.",
        size=f"{size / 1048576:.1f}",
        max=f"{MAX_UPLOAD_BYTES / 1048576:.1f}",
    )
    with get_engine().connect() as conn:
        location = location_or_404(conn, location_id)
        previous, row = _state(conn, location_id)
    return _page(location, ps.form_values(previous), {"logo": message}, row, status=413)


@bp.route("", methods=["GET"])
@require_role()
def edit(location_id: int) -> ResponseReturnValue:
    with get_engine().connect() as conn:
        location = location_or_404(conn, location_id)
        settings, row = _state(conn, location_id)
    return _page(location, ps.form_values(settings), {}, row)


@bp.route("", methods=["POST"])
@require_role("owner", "manager")
def save(location_id: int) -> ResponseReturnValue:
    form, upload, too_large = _read_form()
    with get_engine().begin() as conn:
        location = location_or_404(conn, location_id, for_edit=True)
        previous, row = _state(conn, location_id)
        if too_large:
            return _page(location, ps.form_values(previous), {"logo": too_large}, row, status=413)
        if location.archived_at is not None:
            flash(_("This location is archived; restore it to change its guest page."), "error")
            return redirect(url_for("settings_ui.edit", location_id=location_id))
        current_version = row.version if row is not None else 0
        settings, errors = ps.clean_form(
            form, previous, ps.highest_consent_versions(conn, location_id)
        )
        logo = row.logo if row is not None else None
        logo_type = row.logo_type if row is not None else None
        if form.get("remove_logo"):
            logo = logo_type = None
        if upload is not None:
            try:
                logo, logo_type = _read_logo(upload)
            except LogoError as exc:
                errors["logo"] = str(exc) + " " + _("Nothing was saved.")
        if str(current_version) != form.get("base_version", str(current_version)):
            errors["_page"] = _(
                "Someone saved version %(v)s while you were editing. Nothing was saved: "
                "reload the page to see their changes.",
                v=current_version,
            )
        if errors:
            log.info("guest page settings for location %s refused: %s", location_id, sorted(errors))
            return _page(location, form, errors, row, status=422)
        settings["portal"]["logo_url"] = None  # location_config embeds the stored logo
        if row is not None and settings == row.settings and logo == row.logo:
            flash(
                _("Nothing changed; version %(v)s is still the newest.", v=current_version),
                "success",
            )
            return redirect(url_for("settings_ui.edit", location_id=location_id))
        version = ps.save_version(
            conn, location_id, settings, logo=logo, logo_type=logo_type, user_id=current_user.id
        )
        consents = {c["purpose"]: c["version"] for c in settings["portal"]["consents"]}
        audit(
            conn,
            "guest_page_save",
            "location",
            location_id,
            {"version": version, "consents": consents, "logo_changed": upload is not None},
        )
    flash(
        _(
            "Saved as version %(v)s. Routers show it after their next check-in (about a minute).",
            v=version,
        ),
        "success",
    )
    return redirect(url_for("settings_ui.edit", location_id=location_id))


@bp.route("/restore/<int:version>", methods=["POST"])
@require_role("owner", "manager")
def restore(location_id: int, version: int) -> ResponseReturnValue:
    """Save an older version's settings (and logo) again, as the newest version."""
    table = schema.portal_settings
    with get_engine().begin() as conn:
        location = location_or_404(conn, location_id, for_edit=True)
        old = conn.execute(
            sa.select(table).where(table.c.location_id == location_id, table.c.version == version)
        ).first()
        if old is None:
            abort(404)
        if location.archived_at is not None:
            flash(_("This location is archived; restore it to change its guest page."), "error")
            return redirect(url_for("settings_ui.edit", location_id=location_id))
        new = ps.save_version(
            conn,
            location_id,
            old.settings,
            logo=old.logo,
            logo_type=old.logo_type,
            user_id=current_user.id,
        )
        details = {"from": version, "version": new}
        audit(conn, "guest_page_restore", "location", location_id, details)
    flash(_("Version %(old)s is back, saved as version %(new)s.", old=version, new=new))
    return redirect(url_for("settings_ui.edit", location_id=location_id))


@bp.route("/preview", methods=["GET", "POST"])
@require_role()
def preview(location_id: int) -> ResponseReturnValue:
    lang = request.values.get("preview_lang") or request.args.get("lang") or "vi"
    lang = lang if lang in ps.LANGS else "vi"
    with get_engine().connect() as conn:
        location_or_404(conn, location_id)
        config, _etag = build_location_config(conn, location_id)
        row = latest_settings(conn, location_id)
        logo_src = data_uri(row.logo, row.logo_type) if row is not None else None
        if request.method == "POST":
            form, upload, _too_large = _read_form()
            if form:
                draft, _errors = ps.clean_form(form, {k: config[k] for k in ps.SETTINGS_KEYS})
                config.update(draft)
            if form.get("remove_logo"):
                logo_src = None
            if upload is not None:
                try:
                    logo_src = data_uri(*_read_logo(upload))
                except LogoError:
                    pass
    html = render_login(config, lang, logo_src=logo_src, action="#")
    response = Response(html, mimetype="text/html")
    response.headers["Content-Security-Policy"] = PREVIEW_CSP
    response.headers["X-Frame-Options"] = "SAMEORIGIN"
    return response
