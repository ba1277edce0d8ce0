"""What a voucher card says: the venue's Wi-Fi, three steps, the code, a QR code to join.

The QR code holds a `WIFI:` URI, the format phone cameras read to join a
network (ZXing's "Wi-Fi network config"): ``WIFI:S:<ssid>;T:WPA;P:<password>;;``,
or ``WIFI:S:<ssid>;T:nopass;;`` for an open network; ``\\ ; , : "`` in the name
or password are escaped with a backslash. segno (pure Python, no Pillow) makes
the symbol: an inline SVG for the printable page, its module matrix drawn as
rectangles in the PDF.

A card speaks the location's language (its country: VN Vietnamese, TH Thai,
else English), whoever prints it: the guests read it, not the manager.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import segno
from flask import g
from flask_babel import force_locale
from flask_babel import gettext as _
from markupsafe import Markup

from porchlight.admin.i18n import fmt_date, fmt_duration_long
from porchlight.guest_page.i18n import COUNTRY_LANGUAGE, text

MAX_SSID_BYTES = 32  # IEEE 802.11
PASSPHRASE = (8, 63)  # WPA/WPA2/WPA3-Personal: 8..63 printable ASCII, or 64 hex digits
_HEX64 = re.compile(r"^[0-9A-Fa-f]{64}$")
_SPECIAL = re.compile(r'([\\;,:"])')


def escape_wifi(value: str) -> str:
    return _SPECIAL.sub(r"\\\1", value)


def wifi_uri(ssid: str, password: str | None) -> str:
    """The `WIFI:` URI that joins `ssid` (WPA with `password`, or open without)."""
    if password:
        return f"WIFI:S:{escape_wifi(ssid)};T:WPA;P:{escape_wifi(password)};;"
    return f"WIFI:S:{escape_wifi(ssid)};T:nopass;;"


def qr_code(uri: str) -> segno.QRCode:
    # UTF-8, as SSIDs are (segno would pick ISO 8859-1 for "Café", which phones misread)
    return segno.make(uri, error="m", micro=False, encoding="utf-8")


def qr_svg(uri: str) -> Markup:
    """An inline <svg> of the QR code (no style attributes: the admin's CSP allows it)."""
    svg = qr_code(uri).svg_inline(scale=1, border=2, omitsize=True, svgclass="vc-qr")
    return Markup(svg)  # noqa: S704 - segno's own markup, the URI inside is path data


def qr_runs(uri: str) -> tuple[int, list[tuple[int, int, int]]]:
    """(modules per side, [(row, first column, length)] of dark runs) without a border."""
    matrix = qr_code(uri).matrix
    runs = []
    for y, row in enumerate(matrix):
        x = 0
        while x < len(row):
            if row[x] & 1:
                start = x
                while x < len(row) and row[x] & 1:
                    x += 1
                runs.append((y, start, x - start))
            else:
                x += 1
    return len(matrix), runs


def clean_wifi(form: Mapping[str, Any]) -> tuple[dict[str, str | None], dict[str, str]]:
    """The location form's Wi-Fi name and password -> (column values, errors by field)."""
    errors: dict[str, str] = {}
    ssid = (form.get("wifi_ssid") or "").strip()
    password = form.get("wifi_password") or ""
    if ssid and (len(ssid.encode()) > MAX_SSID_BYTES or not ssid.isprintable()):
        errors["wifi_ssid"] = _("Wi-Fi name: at most 32 bytes (about 32 letters), no tabs.")
    if password:
        ascii_ok = password.isascii() and password.isprintable()
        if not (
            (ascii_ok and PASSPHRASE[0] <= len(password) <= PASSPHRASE[1]) or _HEX64.match(password)
        ):
            errors["wifi_password"] = _(
                "Wi-Fi password: 8 to 63 letters, digits or signs without accents, "
                "or empty for an open network."
            )
        elif not ssid:
            errors["wifi_ssid"] = _("Wi-Fi name: required when a password is given.")
    return {"wifi_ssid": ssid or None, "wifi_password": password or None}, errors


def card_language(country: str | None) -> str:
    return COUNTRY_LANGUAGE.get((country or "").upper(), "en")


@contextmanager
def in_language(lang: str) -> Iterator[None]:
    """Texts and formats in `lang` for a moment (the admin caches the user's per request)."""
    keys = ("_porchlight_translations", "_porchlight_locale")
    saved = {key: g.pop(key, None) for key in keys}
    try:
        with force_locale(lang):
            yield
    finally:
        for key, value in saved.items():
            g.pop(key, None)
            if value is not None:
                setattr(g, key, value)


@dataclass(frozen=True)
class CardWords:
    lang: str
    venue: str
    label: str  # "Wi-Fi · Voucher code"
    steps: tuple[str, str, str]
    terms: str  # "2 hours · 3 devices · until 31/12/2026"
    network: str | None  # "Wi-Fi: Café Q1", under the QR code
    uri: str | None  # the QR code's WIFI: URI, None without a Wi-Fi name


def card_terms(batch: Any, location: Any) -> str:
    """The terms line of a card, in the current language."""
    parts = [fmt_duration_long(batch.duration_seconds)]
    if batch.max_devices > 1:
        parts.append(_("%(n)s devices", n=batch.max_devices))
    if batch.max_uses > 1:
        parts.append(_("%(n)s logins", n=batch.max_uses))
    if batch.expires_at:
        parts.append(_("until %(d)s", d=fmt_date(batch.expires_at, location.timezone)))
    return " · ".join(parts)


def card_words(location: Any, batch: Any, venue: str) -> CardWords:
    """Every word of the location's cards, in the location's language."""
    lang = card_language(location.country)
    ssid = location.wifi_ssid
    password = location.wifi_password
    with in_language(lang):
        if ssid and password:
            join = _(
                "Join the Wi-Fi “%(ssid)s” (password: %(password)s), or scan the QR code.",
                ssid=ssid,
                password=password,
            )
        elif ssid:
            join = _("Join the Wi-Fi “%(ssid)s”, or scan the QR code.", ssid=ssid)
        else:
            join = _("Join this venue's Wi-Fi.")
        steps = (
            "1. " + join,
            "2. " + _("The login page opens by itself (if not, open any website)."),
            "3. " + _("Type the code and tap “%(button)s”.", button=text(lang, "use_voucher")),
        )
        return CardWords(
            lang=lang,
            venue=venue,
            label="Wi-Fi · " + text(lang, "voucher"),
            steps=steps,
            terms=card_terms(batch, location),
            network=_("Wi-Fi: %(ssid)s", ssid=ssid) if ssid else None,
            uri=wifi_uri(ssid, password) if ssid else None,
        )
