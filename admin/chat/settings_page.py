"""A location's Chat tab (blueprint ``chat_ui``): the webhooks' secrets and addresses.

Owners and managers of the location set the Zalo OA secret key, the
Messenger Page (username and numeric id) and the Meta app secret; everyone
who sees the location sees the webhook URLs and Meta's verify token to paste
into Zalo's and Meta's consoles. Secrets are write-only (sealed, never shown);
an empty secret field keeps the stored one. Saves are audited by field name.
"""

from __future__ import annotations

import re
from typing import Any

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user

from porchlight.admin.audit import audit
from porchlight.admin.chat import accounts
from porchlight.admin.db import get_engine
from porchlight.admin.scope import can_edit, current_tenant_id, location_or_404, require_role
from porchlight.admin.sync.location_config import latest_settings
from porchlight.chat_accounts import MESSENGER_PAGE, chat_settings

bp = Blueprint("chat_ui", __name__, url_prefix="/locations")

ZALO_SECRET = re.compile(r"^[\x21-\x7e]{8,100}$")  # printable ASCII, no spaces
META_SECRET = re.compile(r"^[0-9a-f]{32}$")
PAGE_ID = re.compile(r"^[0-9]{5,30}$")
PAGE_URL = re.compile(r"^(https?://)?(www\.)?(m\.me|facebook\.com)/")  # a pasted link


def clean_form(form: Any) -> tuple[dict[str, Any], dict[str, str]]:
    """The Chat form -> (values for `accounts.save`, errors by field)."""
    values: dict[str, Any] = {}
    errors: dict[str, str] = {}
    zalo = (form.get("zalo_secret") or "").strip()
    if zalo and not ZALO_SECRET.match(zalo):
        errors["zalo_secret"] = _(
            "The OA secret key is 8 to 100 letters, digits or signs, without spaces."
        )
    meta = (form.get("meta_app_secret") or "").strip().lower()
    if meta and not META_SECRET.match(meta):
        errors["meta_app_secret"] = _("The app secret is 32 letters a–f and digits.")
    values.update(zalo_secret=zalo, meta_app_secret=meta)
    values["clear_zalo_secret"] = bool(form.get("clear_zalo_secret"))
    values["clear_meta_app_secret"] = bool(form.get("clear_meta_app_secret"))
    page = PAGE_URL.sub("", (form.get("messenger_page") or "").strip()).strip("/")
    page_id = (form.get("messenger_page_id") or "").strip()
    if page and not MESSENGER_PAGE.match(page):
        errors["messenger_page"] = _(
            "Write the Page's username (as in m.me/username) or its number."
        )
    if page_id and not PAGE_ID.match(page_id):
        errors["messenger_page_id"] = _("The Page ID is a number (Page, About, Page transparency).")
    if bool(page) != bool(page_id) and not errors:
        errors["messenger_page_id" if page else "messenger_page"] = _(
            "Give both the Page's username and its ID, or neither."
        )
    values.update(messenger_page=page, messenger_page_id=page_id)
    return values, errors


def _render(location: Any, form: dict[str, Any], errors: dict[str, str], status: int = 200) -> Any:
    with get_engine().connect() as conn:
        stored = accounts.stored_flags(conn, int(location.id))
        row = latest_settings(conn, int(location.id))
    settings = row.settings if row is not None and isinstance(row.settings, dict) else {}
    base = str(current_app.config.get("PUBLIC_URL") or request.host_url).rstrip("/")
    token = stored.get("token")
    urls = {}
    if token:
        urls = {
            "zalo": f"{base}/api/v1/webhooks/zalo-oa/{token}",
            "messenger": f"{base}/api/v1/webhooks/messenger/{token}",
        }
    typed = {k: v for k, v in form.items() if k in ("messenger_page", "messenger_page_id")}
    values = {**stored, **typed}
    return (
        render_template(
            "locations/chat.html",
            location=location,
            stored=stored,
            values=values,
            errors=errors,
            urls=urls,
            zalo_oa=chat_settings(settings).get("zalo_oa"),
            editable=can_edit(),
        ),
        status,
    )


@bp.get("/<int:location_id>/chat")
@require_role()
def edit(location_id: int) -> ResponseReturnValue:
    with get_engine().connect() as conn:
        location = location_or_404(conn, location_id)
    return _render(location, {}, {})


@bp.post("/<int:location_id>/chat")
@require_role("owner", "manager")
def save(location_id: int) -> ResponseReturnValue:
    values, errors = clean_form(request.form)
    with get_engine().connect() as conn:
        location = location_or_404(conn, location_id, for_edit=True)
    if errors:
        return _render(location, dict(request.form), errors, 422)
    with get_engine().begin() as conn:
        changed = accounts.save(
            conn,
            location_id,
            current_tenant_id(),
            values,
            str(current_app.config["SECRET_KEY"]),
            int(current_user.id),
        )
        audit(conn, "chat_webhooks_edit", "location", location_id, {"changed": sorted(changed)})
    flash(_("Chat settings saved."), "success")
    return redirect(url_for("chat_ui.edit", location_id=location_id))
