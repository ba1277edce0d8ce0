"""Guest-page settings: defaults, per-field validation, and saving as new versions.

The stored JSON (``portal_settings.settings``) has the top-level keys of the
location config (docs/protocols.md section 3) that belong to the venue:
``portal``, ``tags``, ``session`` and ``walled_garden``. The sync builds the
rest (``location``, ``logo_url``, ``vouchers``) around it.

Every save is a new row with ``version`` = newest + 1, written in one
transaction together with its audit row; a form with any error writes nothing.
A consent text that changes (in any language) gets a new text version
(``wifi-v2``...), numbered past every version the location ever had, so the
answers guests gave keep pointing at the text they saw.
"""

from __future__ import annotations

import copy
import logging
import re
from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.engine import Connection

from porchlight import events
from porchlight.admin import schema
from porchlight.admin.db import utcnow
from porchlight.admin.locations.chat_accounts import chat_values, clean_chat
from porchlight.admin.locations.field_checks import (
    MAX_URL,
    clean_color,
    clean_number,
    clean_ports,
    clean_text,
    clean_url,
    clean_walled_entry,
)
from porchlight.admin.sync.location_config import (
    SETTINGS_KEYS,
    build_location_config,
)

log = logging.getLogger(__name__)

LANGS = ("vi", "th", "en")
# Login channels a venue can offer (an "import" is not a way to log in).
CHANNELS = tuple(channel for channel in events.CHANNELS if channel != "import")
FIELDS = ("name", "phone", "email")
FIELD_MODES = ("required", "optional", "off")
PURPOSES = events.CONSENT_PURPOSES
LIMITS = {"venue_name": 100, "welcome": 500, "consent": 2000, "terms": 8000, "tag": 50}
LIMITS["url"] = MAX_URL
SESSION_MINUTES = (5, 30 * 24 * 60)  # 5 minutes .. 30 days
REMEMBER_DAYS = (0, 365)
BANDWIDTH_MBPS = (0.064, 10_000.0)
MAX_TAGS = 20
MAX_WALLED = 200

_VERSION = re.compile(r"-v(?P<n>\d+)$")
VERSION_PREFIX = {"wifi": "wifi", "marketing": "marketing"}


def consent_version(
    purpose: str, text: dict[str, str], previous: Any, highest: int, terms: Any = None
) -> str:
    """Keep the previous version when the text (and full terms) are unchanged, else the next."""
    for item in (previous or {}).get("portal", {}).get("consents", []):
        if item.get("purpose") != purpose:
            continue
        if item.get("text") == text and item.get("terms") == terms:
            return str(item["version"])
        match = _VERSION.search(str(item.get("version", "")))
        if match:
            highest = max(highest, int(match.group("n")))
    return f"{VERSION_PREFIX[purpose]}-v{highest + 1}"


def _langs(form: Mapping[str, str], prefix: str, limit: int, label: str, errors: dict[str, str]):
    texts: dict[str, str] = {}
    for lang in LANGS:
        key = f"{prefix}_{lang}"
        try:
            texts[lang] = clean_text(form.get(key, ""), limit, label=label)
        except ValueError as exc:
            errors[key] = str(exc)
            texts[lang] = ""
    filled = next((texts[lang] for lang in ("en", "vi", "th") if texts[lang]), "")
    return {lang: texts[lang] or filled for lang in LANGS}


def clean_form(
    form: Mapping[str, str],
    previous: dict[str, Any],
    highest_versions: Mapping[str, int] | None = None,
) -> tuple[dict[str, Any], dict[str, str]]:
    """The settings form -> (settings, errors by form field).

    Fields with errors keep the `previous` value, so the result can always be
    previewed; it must only be saved when `errors` is empty.
    """
    errors: dict[str, str] = {}
    out = copy.deepcopy(previous)
    portal = out["portal"]
    _clean_looks(form, portal, errors)
    highest = dict(highest_versions or {})
    portal["consents"] = _clean_consents(form, previous, portal["consents"], highest, errors)
    _clean_ways_in(form, portal, errors)
    try:
        out["tags"] = _clean_tags(form)
    except ValueError as exc:
        errors["tags"] = str(exc)
    _clean_session(form, out["session"], errors)
    if "returning" in portal["channels"] and out["session"]["remember_seconds"] == 0:
        errors["remember_days"] = _("“Welcome back” needs a remember window of at least 1 day.")
    _clean_walled_garden(form, out, errors)
    _clean_lan(form, out, errors)
    try:
        portal["success_url"] = clean_url(form.get("success_url", ""))
    except ValueError as exc:
        errors["success_url"] = str(exc)
    chat = clean_chat(form, errors)
    if chat or "chat" in portal:
        portal["chat"] = chat
    return out, errors


def _clean_looks(form: Mapping[str, str], portal: dict[str, Any], errors: dict[str, str]) -> None:
    """Venue name, colors and welcome text."""
    try:
        name = clean_text(form.get("venue_name", ""), LIMITS["venue_name"], label=_("Venue name"))
        if not name:
            raise ValueError(_("Venue name: required."))
        portal["venue_name"] = name
    except ValueError as exc:
        errors["venue_name"] = str(exc)

    for key, label in (("primary", _("Main color")), ("background", _("Background color"))):
        try:
            portal["colors"][key] = clean_color(form.get(f"color_{key}", ""), label=label)
        except ValueError as exc:
            errors[f"color_{key}"] = str(exc)

    welcome = _langs(form, "welcome", LIMITS["welcome"], _("Welcome text"), errors)
    if not any(k.startswith("welcome_") for k in errors):
        portal["welcome"] = welcome


def _clean_consents(
    form: Mapping[str, str],
    previous: dict[str, Any],
    kept: list[dict[str, Any]],
    highest: dict[str, int],
    errors: dict[str, str],
) -> list[dict[str, Any]]:
    """The consents asked, each text with its version (a purpose with errors `kept` as it was)."""
    consents = []
    for purpose in PURPOSES:
        label = _("Wi-Fi terms") if purpose == "wifi" else _("Marketing consent")
        text = _langs(form, f"consent_{purpose}", LIMITS["consent"], label, errors)
        full = _langs(form, f"terms_{purpose}", LIMITS["terms"], _("Full terms"), errors)
        terms = full if full["en"] and purpose == "wifi" else None  # none: the default terms
        if any(k.startswith((f"consent_{purpose}_", f"terms_{purpose}_")) for k in errors):
            consents += [c for c in kept if c["purpose"] == purpose]
            continue
        if not text["en"]:
            if purpose == "wifi":
                errors["consent_wifi_en"] = _(
                    "Wi-Fi terms: write the text in at least one language."
                )
                consents += [c for c in kept if c["purpose"] == purpose]
            continue  # no marketing text: marketing consent is not asked
        version = consent_version(purpose, text, previous, highest.get(purpose, 0), terms)
        item = {"purpose": purpose, "required": purpose == "wifi", "version": version, "text": text}
        consents.append({**item, "terms": terms} if terms else item)
    return consents


def _clean_ways_in(form: Mapping[str, str], portal: dict[str, Any], errors: dict[str, str]) -> None:
    """The login channels in their order, and the form's fields."""
    positions = []
    for index, channel in enumerate(CHANNELS):
        if form.get(f"channel_{channel}"):
            try:
                pos = clean_number(form.get(f"order_{channel}") or str(index + 1), label=_("Order"))
            except ValueError as exc:
                errors[f"order_{channel}"] = str(exc)
                pos = index + 1
            positions.append((pos, index, channel))
    if not positions:
        errors["channels"] = _("Turn on at least one way to log in.")
    else:
        portal["channels"] = [channel for _pos, _i, channel in sorted(positions)]

    fields = {}
    for name in FIELDS:
        mode = form.get(f"field_{name}", "off")
        if mode not in FIELD_MODES:
            errors[f"field_{name}"] = _("Choose required, optional or not asked.")
            mode = portal["fields"].get(name, "off")
        fields[name] = mode
    if "form" in portal["channels"] and fields["phone"] == "off" and fields["email"] == "off":
        errors["field_phone"] = _("The form must ask for a phone number or an email address.")
    portal["fields"] = fields


def _clean_tags(form: Mapping[str, str]) -> list[str]:
    tags: list[str] = []
    for tag in (form.get("tags") or "").split(","):
        tag = clean_text(tag, LIMITS["tag"], label=_("Tags"))
        if tag and tag not in tags:
            tags.append(tag)
    if len(tags) > MAX_TAGS:
        raise ValueError(_("Tags: at most %(n)d.", n=MAX_TAGS))
    return tags


def _clean_lan(form: Mapping[str, str], out: dict[str, Any], errors: dict[str, str]) -> None:
    """The router's ports opened to guests (TCP, UDP) and client isolation."""
    lan = dict(out.get("lan") or {})
    for key, label in (
        ("router_tcp_ports", _("Router ports open to guests (TCP)")),
        ("router_udp_ports", _("Router ports open to guests (UDP)")),
    ):
        try:
            lan[key] = clean_ports(form.get(key, ""), label=label)
        except ValueError as exc:
            errors[key] = str(exc)
            lan.setdefault(key, [])
    lan["client_isolation"] = bool(form.get("client_isolation"))
    out["lan"] = lan


def _clean_walled_garden(
    form: Mapping[str, str], out: dict[str, Any], errors: dict[str, str]
) -> None:
    domains: list[str] = []
    cidrs: list[str] = []
    bad = []
    lines = [line for line in (form.get("walled_garden") or "").splitlines() if line.strip()]
    for line in lines:
        try:
            kind, value = clean_walled_entry(line)
        except ValueError as exc:
            bad.append(str(exc))
            continue
        target = domains if kind == "domain" else cidrs
        if value not in target:
            target.append(value)
    if bad:
        errors["walled_garden"] = " ".join(bad[:3])
    elif len(domains) + len(cidrs) > MAX_WALLED:
        errors["walled_garden"] = _("At most %(n)d entries.", n=MAX_WALLED)
    else:
        out["walled_garden"] = {"domains": domains, "cidrs": cidrs}


def _clean_session(form: Mapping[str, str], session: dict[str, Any], errors: dict[str, str]):
    try:
        minutes = clean_number(form.get("session_minutes", ""), label=_("Session length"))
        low, high = SESSION_MINUTES
        if not low <= minutes <= high:
            raise ValueError(_("Session length: between 5 minutes and 30 days (43200 minutes)."))
        session["length_seconds"] = int(minutes) * 60
    except ValueError as exc:
        errors["session_minutes"] = str(exc)
    try:
        idle = clean_number(form.get("idle_minutes") or "0", label=_("Idle timeout"))
        if idle < 0 or idle * 60 > session["length_seconds"]:
            raise ValueError(_("Idle timeout: from 0 (off) up to the session length."))
        session["idle_seconds"] = int(idle) * 60 or None
    except ValueError as exc:
        errors["idle_minutes"] = str(exc)
    try:
        days = clean_number(form.get("remember_days") or "0", label=_("Remember devices"))
        if not REMEMBER_DAYS[0] <= days <= REMEMBER_DAYS[1]:
            raise ValueError(_("Remember devices: from 0 (off) to 365 days."))
        session["remember_seconds"] = int(days) * 86400
    except ValueError as exc:
        errors["remember_days"] = str(exc)
    try:
        raw = (form.get("bandwidth_mbps") or "").strip()
        if not raw:
            session["bandwidth_kbps"] = None
        else:
            mbps = clean_number(raw, label=_("Bandwidth limit"), integer=False)
            if not BANDWIDTH_MBPS[0] <= mbps <= BANDWIDTH_MBPS[1]:
                raise ValueError(_("Bandwidth limit: between 0.064 and 10000 Mbit/s, or empty."))
            session["bandwidth_kbps"] = round(mbps * 1000)
    except ValueError as exc:
        errors["bandwidth_mbps"] = str(exc)


def form_values(settings: dict[str, Any]) -> dict[str, str]:
    """Stored settings -> the form's initial values (the inverse of clean_form)."""
    portal = settings["portal"]
    session = settings["session"]
    lan = settings.get("lan") or {}
    values: dict[str, str] = {
        "venue_name": portal["venue_name"],
        "color_primary": portal["colors"]["primary"],
        "color_background": portal["colors"]["background"],
        "tags": ", ".join(settings.get("tags", [])),
        "session_minutes": str(session["length_seconds"] // 60),
        "idle_minutes": str((session.get("idle_seconds") or 0) // 60),
        "remember_days": str((session.get("remember_seconds") or 0) // 86400),
        "bandwidth_mbps": (
            f"{session['bandwidth_kbps'] / 1000:g}" if session.get("bandwidth_kbps") else ""
        ),
        "walled_garden": "\n".join(
            settings["walled_garden"].get("domains", [])
            + settings["walled_garden"].get("cidrs", [])
        ),
        "success_url": portal.get("success_url") or "",
        "router_tcp_ports": ", ".join(str(p) for p in lan.get("router_tcp_ports", [])),
        "router_udp_ports": ", ".join(str(p) for p in lan.get("router_udp_ports", [])),
        "client_isolation": "on" if lan.get("client_isolation", True) else "",
        **chat_values(portal),
    }
    for lang in LANGS:
        values[f"welcome_{lang}"] = portal["welcome"].get(lang, "")
        for purpose in PURPOSES:
            item = next((c for c in portal["consents"] if c["purpose"] == purpose), None)
            values[f"consent_{purpose}_{lang}"] = item["text"].get(lang, "") if item else ""
            values[f"terms_{purpose}_{lang}"] = ((item or {}).get("terms") or {}).get(lang, "")
    for index, channel in enumerate(portal["channels"]):
        values[f"channel_{channel}"] = "on"
        values[f"order_{channel}"] = str(index + 1)
    for index, channel in enumerate(CHANNELS):
        values.setdefault(f"order_{channel}", str(len(portal["channels"]) + index + 1))
    for name in FIELDS:
        values[f"field_{name}"] = portal["fields"].get(name, "off")
    return values


# --- the store ---


def current_settings(conn: Connection, location_id: int) -> dict[str, Any]:
    """The settings the routers get now: the newest version, or the defaults."""
    config, _etag = build_location_config(conn, location_id)
    return {key: copy.deepcopy(config[key]) for key in SETTINGS_KEYS}


def highest_consent_versions(conn: Connection, location_id: int) -> dict[str, int]:
    """The highest text version number each purpose ever had at this location."""
    table = schema.portal_settings
    highest: dict[str, int] = {}
    for (settings,) in conn.execute(
        sa.select(table.c.settings).where(table.c.location_id == location_id)
    ):
        for item in (settings or {}).get("portal", {}).get("consents", []):
            match = _VERSION.search(str(item.get("version", "")))
            purpose = str(item.get("purpose", ""))
            if match:
                highest[purpose] = max(highest.get(purpose, 0), int(match.group("n")))
    return highest


def save_version(
    conn: Connection,
    location_id: int,
    settings: dict[str, Any],
    *,
    logo: bytes | None,
    logo_type: str | None,
    user_id: int | None,
) -> int:
    """Insert the next version in the caller's transaction; return its number."""
    table = schema.portal_settings
    current = conn.execute(
        sa.select(sa.func.max(table.c.version)).where(table.c.location_id == location_id)
    ).scalar()
    version = int(current or 0) + 1
    conn.execute(
        table.insert().values(
            location_id=location_id,
            version=version,
            settings=settings,
            logo=logo,
            logo_type=logo_type,
            created_by=user_id,
            created_at=utcnow(),
        )
    )
    log.info("location %s guest page settings version %s saved", location_id, version)
    return version
