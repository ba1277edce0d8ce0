"""The guest pages as pure functions: location config + language in, HTML out.

`render_login` is what phones see; the admin's settings preview calls the
same function with the config it is editing. Output is escaped by Jinja's
autoescape; colors are checked so a config cannot inject CSS.
"""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape

from porchlight.chat_accounts import SESSION_ID, chat_settings, messenger_ref
from porchlight.guest_page import guest_form
from porchlight.guest_page.i18n import LANGUAGE_NAMES, LANGUAGES, localized, text, translations

DEFAULT_COLORS = {"primary": "#0f766e", "background": "#f8fafc"}
SOCIAL_LABELS = {"zalo": "Zalo", "facebook": "Facebook", "google": "Google", "line": "LINE"}
_COLOR = re.compile(r"^#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})$")


@lru_cache(maxsize=len(LANGUAGES))
def _environment(lang: str) -> Environment:
    """One Jinja environment per language, its catalog installed for ``_()``."""
    env = Environment(
        loader=PackageLoader("porchlight.guest_page", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
        extensions=["jinja2.ext.i18n"],
    )
    env.install_gettext_translations(translations(lang), newstyle=True)  # type: ignore[attr-defined]
    return env


def venue_name(config: Mapping[str, Any]) -> str:
    portal = config.get("portal") or {}
    location = config.get("location") or {}
    name = portal.get("venue_name") or location.get("name") or "Wi-Fi"
    return str(name)[:120]


def colors(config: Mapping[str, Any]) -> dict[str, str]:
    portal = config.get("portal") or {}
    raw = portal.get("colors") if isinstance(portal.get("colors"), Mapping) else {}
    out = dict(DEFAULT_COLORS)
    for key in out:
        value = raw.get(key) if raw else None
        if isinstance(value, str) and _COLOR.match(value):
            out[key] = value
    return out


def _common(
    config: Mapping[str, Any], lang: str, logo_src: str | None, base_path: str
) -> dict[str, Any]:
    lang = lang if lang in LANGUAGES else "en"

    def t(key: str, **values: object) -> str:
        return text(lang, key, **values)

    return {
        "lang": lang,
        "t": t,
        "venue": venue_name(config),
        "colors": colors(config),
        "logo_src": logo_src,
        "languages": [(code, LANGUAGE_NAMES[code]) for code in LANGUAGES],
        "base_path": base_path,
        "refresh": None,
    }


def render_login(
    config: Mapping[str, Any],
    lang: str,
    *,
    csrf_token: str = "",
    values: Mapping[str, str] | None = None,
    errors: Mapping[str, str] | None = None,
    notice: str | None = None,
    remembered: Mapping[str, Any] | None = None,
    social: Sequence[str] | None = None,
    logo_src: str | None = None,
    action: str = "/login",
    base_path: str = "/",
    config_tag: str = "",
) -> str:
    """The login page for `config` (protocols.md section 3) in `lang`.

    `errors` maps a field (``name``, ``phone``, ``email``, ``voucher``,
    ``consent_wifi``...) to an i18n key shown next to it; `notice` is an i18n
    key shown at the top. `social` lists the providers that can be used (by
    default every social channel in the config). `remembered` is the agent's
    ``{name, channel}`` for a returning device.
    """
    context = _common(config, lang, logo_src, base_path)
    lang = context["lang"]
    portal = config.get("portal") or {}
    enabled = guest_form.channels(config)
    if social is None:
        social = [c for c in enabled if c in guest_form.SOCIAL_CHANNELS]
    welcome = localized(portal.get("welcome"), lang) or text(
        lang, "welcome_default", venue=context["venue"]
    )
    consents = [
        {
            "purpose": item["purpose"],
            "required": bool(item.get("required")),
            "label": localized(item.get("text"), lang) or item["purpose"],
        }
        for item in guest_form.consent_items(config)
    ]
    field_errors = {
        key: text(lang, code, max=guest_form.MAX_NAME) for key, code in (errors or {}).items()
    }
    order = ["phone_tail", *guest_form.FIELD_NAMES]
    order += [f"consent_{c['purpose']}" for c in consents] + ["voucher"]
    context.update(
        page_title=text(lang, "title"),
        welcome=welcome,
        csrf_token=csrf_token,
        config_tag=config_tag,
        values=dict(values or {}),
        errors=field_errors,
        notice=text(lang, notice, max=guest_form.MAX_NAME) if notice else field_errors.get("_page"),
        remembered=remembered,
        channels=enabled,
        fields=guest_form.field_modes(config),
        consents=consents,
        # the page opens scrolled to this one (the form's #error fragment, autofocus)
        first_error=next((key for key in order if key in field_errors), None),
        terms=terms_text(config, lang),
        social=[(p, SOCIAL_LABELS[p]) for p in social if p in SOCIAL_LABELS and p in enabled],
        line_offer="line_oa" in chat_settings(config),
        action=action,
    )
    return _environment(lang).get_template("login.html").render(context)


def terms_text(config: Mapping[str, Any], lang: str) -> list[str]:
    """The Wi-Fi terms behind the required consent's "Read the terms", as paragraphs:
    the venue's own (the consent's `terms`), else the short default ones."""
    wifi = next((c for c in guest_form.consent_items(config) if c["purpose"] == "wifi"), {})
    own = localized(wifi.get("terms"), lang)
    if own:
        return [line.strip() for line in own[:8000].splitlines() if line.strip()]
    months = (config.get("privacy") or {}).get("customer_months")
    if isinstance(months, bool) or not isinstance(months, int) or not 1 <= months <= 1200:
        months = 24
    lines = [
        text(lang, "terms_kept", venue=venue_name(config)),
        text(lang, "terms_how_long", months=months),
    ]
    if any(item["purpose"] == "marketing" for item in guest_form.consent_items(config)):
        lines.append(text(lang, "terms_offers"))
    return [*lines, text(lang, "terms_rights"), text(lang, "terms_use")]


def render_message(
    config: Mapping[str, Any],
    lang: str,
    *,
    heading: str,
    lines: Sequence[str] = (),
    link: Mapping[str, str] | None = None,
    refresh: Mapping[str, Any] | None = None,
    logo_src: str | None = None,
    base_path: str = "/",
    follow: Sequence[Mapping[str, str]] = (),
    my_data: bool = False,
) -> str:
    """A short page (success, an error without a form): already-translated texts.

    `follow` lists the venue's chat accounts to offer (``{platform, url}``).
    """
    context = _common(config, lang, logo_src, base_path)
    context.update(
        page_title=heading,
        heading=heading,
        lines=list(lines),
        link=link,
        refresh=refresh,
        follow=list(follow),
        my_data=my_data,
    )
    return _environment(context["lang"]).get_template("message.html").render(context)


def render_success(
    config: Mapping[str, Any],
    lang: str,
    *,
    seconds_remaining: int | None = None,
    already: bool = False,
    logo_src: str | None = None,
    session_id: str | None = None,
) -> str:
    """ "You're online", then the venue's `success_url` (http/https only) after 3 s.

    When the page offers the venue's chat accounts (the only place a guest is offered
    them), it does not forward by itself: the Continue button leads to `success_url`.
    """
    portal = config.get("portal") or {}
    venue = venue_name(config)
    lines = [text(lang, "already_online")] if already else []
    lines.append(text(lang, "success_body", venue=venue))
    if seconds_remaining:
        minutes = max(1, (int(seconds_remaining) + 59) // 60)
        lines.append(text(lang, "minutes_left", minutes=minutes))
    target = safe_external_url(portal.get("success_url"))
    link = {"url": target, "label": text(lang, "continue")} if target else None
    follow = follow_links(config, session_id)
    refresh = {"seconds": 3, "url": target} if target and not follow else None
    return render_message(
        config,
        lang,
        heading=text(lang, "success_title"),
        lines=lines,
        link=link,
        refresh=refresh,
        logo_src=logo_src,
        follow=follow,
        my_data=True,
    )


def follow_links(config: Mapping[str, Any], session_id: str | None = None) -> list[dict[str, str]]:
    """Links to follow the venue's LINE / Zalo Official Account (offered, never required),
    and with a login's `session_id` its Facebook Page on Messenger (``ref`` names the login,
    signed: docs/protocols.md section 2.9)."""
    chat = chat_settings(config)
    links = []
    if "line_oa" in chat:
        links.append({"platform": "line", "url": f"https://line.me/R/ti/p/{chat['line_oa']}"})
    if "zalo_oa" in chat:
        links.append({"platform": "zalo", "url": f"https://zalo.me/{chat['zalo_oa']}"})
    location_id = (config.get("location") or {}).get("id")
    if "messenger_page" in chat and session_id and isinstance(location_id, int):
        if SESSION_ID.match(session_id):
            ref = messenger_ref(chat["messenger_ref_key"], location_id, session_id)
            url = f"https://m.me/{chat['messenger_page']}?ref={urllib.parse.quote(ref)}"
            links.append({"platform": "messenger", "url": url})
    return links


def safe_external_url(value: object) -> str | None:
    """An absolute http(s) URL from the venue's config, or None (no javascript: etc.)."""
    if not isinstance(value, str) or len(value) > 2000:
        return None
    if not re.match(r"^https?://[^\s/\\@]+(?:[/?#][^\s\\]*)?$", value):
        return None
    return value
