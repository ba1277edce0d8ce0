"""The guest's language: Vietnamese, Thai or English, and every text the portal shows.

The language comes from `?lang=` (the switcher), then the `pl_lang` cookie,
then the browser's Accept-Language, then the location's country. Texts live in
Babel catalogs (``translations/<lang>/LC_MESSAGES/messages.po``, compiled to
``.mo`` beside them), extracted with pybabel from this package and ``portal/``;
the admin's settings preview renders the same words.
"""

from __future__ import annotations

import gettext
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path

LANGUAGES = ("vi", "th", "en")
LANGUAGE_NAMES = {"vi": "Tiếng Việt", "th": "ภาษาไทย", "en": "English"}
COUNTRY_LANGUAGE = {"VN": "vi", "TH": "th"}

TRANSLATIONS = Path(__file__).parent / "translations"
DOMAIN = "messages"


def N_(message: str) -> str:  # pybabel extracts it (-k N_)
    """Mark a text for the catalog without translating it yet."""
    return message


# Codes the form rules, the portal and the agent's answers use, and their English
# source texts (the msgids of translations/<lang>/LC_MESSAGES/messages.po).
MESSAGES: dict[str, str] = {
    "title": N_("Wi-Fi login"),
    "welcome_default": N_("Welcome to %(venue)s! Connect to our free Wi-Fi."),
    "details": N_("Your details"),
    "name": N_("Name"),
    "phone": N_("Phone number"),
    "email": N_("Email"),
    "optional": N_("optional"),
    "connect": N_("Connect"),
    "or": N_("or"),
    "voucher": N_("Voucher code"),
    "use_voucher": N_("Use code"),
    "click": N_("Just connect"),
    "social": N_("Continue with %(provider)s"),
    "welcome_back": N_("Welcome back, %(name)s!"),
    "welcome_back_anon": N_("Welcome back!"),
    "connect_again": N_("Connect again"),
    "language": N_("Language"),
    "success_title": N_("You're online"),
    "success_body": N_("Enjoy the Wi-Fi at %(venue)s."),
    "already_online": N_("You're already connected."),
    "minutes_left": N_("Time left: %(minutes)s min."),
    "continue": N_("Continue"),
    "back": N_("Back to the login page"),
    "try_again": N_("Try again"),
    "open_link": N_("You're online. Open %(url)s"),
    "err_name_required": N_("Please enter your name."),
    "err_name_too_long": N_("Name is too long (at most %(max)s characters)."),
    "err_name_invalid": N_("Please enter a real name."),
    "err_phone_required": N_("Please enter your phone number."),
    "err_phone_invalid": N_("This phone number does not look right."),
    "err_email_required": N_("Please enter your email."),
    "err_email_invalid": N_("This email address does not look right."),
    "err_contact_required": N_("Please enter a phone number or an email."),
    "err_consent_required": N_("Please accept to use the Wi-Fi."),
    "err_voucher_required": N_("Please enter your voucher code."),
    "err_voucher_invalid": N_("This voucher code is not valid."),
    "err_voucher_used_up": N_("This voucher has already been used up."),
    "err_voucher_expired": N_("This voucher has expired."),
    "err_voucher_device_limit": N_("This voucher is already in use on too many devices."),
    "err_agent_down": N_("Wi-Fi login is briefly unavailable. Please try again in a minute."),
    "err_mac_not_found": N_(
        "We can't see your device on the Wi-Fi yet. Wait a few seconds and try again."
    ),
    "err_blocked": N_("This device can't use the Wi-Fi here. Please ask the staff."),
    "err_csrf": N_("This page expired. Please try again."),
    "err_form_reused": N_("This form was already sent. Please check and send it again."),
    "err_rate_limited": N_("Too many attempts. Please wait a minute and try again."),
    "err_channel_unavailable": N_("This way of logging in is not available here."),
    "err_returning_proof": N_(
        "These are not the last 3 digits of the phone number you used here before."
    ),
    "err_social_failed": N_(
        "The social login did not finish. Please try again or use another way."
    ),
    "err_internal": N_("Something went wrong. Please try again."),
    "err_not_found": N_("This page does not exist."),
    "terms_kept": N_(
        "To give you Wi-Fi, %(venue)s keeps what you type here (name, phone number or "
        "email), your device's network address and when you use the Wi-Fi."
    ),
    "terms_how_long": N_("It is erased at the latest %(months)s months after your last visit."),
    "terms_offers": N_(
        "Offers are sent only if you tick the box for them; you can withdraw that at any time."
    ),
    "terms_rights": N_(
        "Once you are online, “My data” shows what is kept about you, lets you withdraw "
        "consent and ask for it to be erased."
    ),
    "terms_use": N_("Use the Wi-Fi lawfully: no attacks on others, spam or illegal content."),
    # a new location's texts until its venue writes its own (the config carries all three)
    "default_welcome": N_("Welcome! Enjoy free Wi-Fi."),
    "default_wifi_terms": N_("I accept the Wi-Fi terms of use."),
    "default_marketing": N_("I would like to receive offers and news."),
}


@lru_cache(maxsize=8)
def translations(lang: str) -> gettext.NullTranslations:
    """The compiled catalog for `lang` (English is the source: no catalog)."""
    if lang not in LANGUAGES or lang == "en":
        return gettext.NullTranslations()
    return gettext.translation(DOMAIN, TRANSLATIONS, languages=[lang], fallback=True)


def translate(lang: str, message: str, **values: object) -> str:
    """`message` (an English msgid) in `lang`, with `%(name)s` values filled in."""
    found = translations(lang).gettext(message)
    return found % values if values else found


def text(lang: str, key: str, **values: object) -> str:
    """The text for code `key` in `lang`, with `%(values)s` filled in (unknown: the key)."""
    message = MESSAGES.get(key)
    if message is None:
        return key
    return translate(lang, message, **values)


def in_every_language(key: str) -> dict[str, str]:
    """``{"vi": .., "th": .., "en": ..}`` for code `key`: a config text's default."""
    return {lang: text(lang, key) for lang in LANGUAGES}


def localized(value: object, lang: str) -> str:
    """A config text that is either a plain string or ``{"vi": .., "th": .., "en": ..}``."""
    if isinstance(value, str):
        return value
    if isinstance(value, Mapping):
        for candidate in (lang, "en", *LANGUAGES):
            found = value.get(candidate)
            if isinstance(found, str) and found.strip():
                return found
    return ""


def parse_accept_language(header: str | None) -> list[str]:
    """Languages we speak from an Accept-Language header, best first."""
    if not header:
        return []
    ranked: list[tuple[float, int, str]] = []
    for index, part in enumerate(header[:500].split(",")):
        pieces = part.strip().split(";")
        tag = pieces[0].strip().lower()
        quality = 1.0
        for param in pieces[1:]:
            name, _, raw = param.strip().partition("=")
            if name == "q":
                try:
                    quality = float(raw)
                except ValueError:
                    quality = 0.0
        primary = tag.split("-")[0]
        if primary in LANGUAGES and quality > 0:
            ranked.append((-quality, index, primary))
    ranked.sort()
    seen: list[str] = []
    for _, _, lang in ranked:
        if lang not in seen:
            seen.append(lang)
    return seen


def choose_language(
    requested: str | None,
    cookie: str | None,
    accept_language: str | None,
    country: str | None,
) -> str:
    for candidate in (requested, cookie):
        if candidate in LANGUAGES:
            return str(candidate)
    ranked = parse_accept_language(accept_language)
    if ranked:
        return ranked[0]
    return COUNTRY_LANGUAGE.get((country or "").upper(), "en")
