"""Vietnamese, Thai and English for the admin: locale choice and formatting.

The locale is the signed-in user's (`users.locale`), else the one picked on
the sign-in page (kept in the session), else the browser's best match, else
Vietnamese. Catalogs live in ``admin/translations/<lang>/LC_MESSAGES/``: the
domain ``messages`` is the core's; an area may ship its own domain next to it
(``exports.po``/``exports.mo``) and it is merged in automatically.

Templates get `fmt_number`, `fmt_money`, `fmt_dt` (a time in a given
timezone), `fmt_date` and `fmt_duration`.
"""

from __future__ import annotations

import logging
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel import dates as babel_dates
from babel import numbers as babel_numbers
from flask import Flask, request, session
from flask_babel import Babel, get_locale
from flask_login import current_user

log = logging.getLogger(__name__)

LOCALES = ("vi", "th", "en")
LOCALE_NAMES = {"vi": "Tiếng Việt", "th": "ไทย", "en": "English"}
DEFAULT_LOCALE = "vi"
TRANSLATIONS = Path(__file__).parent / "translations"

babel = Babel()


def select_locale() -> str:
    try:
        if current_user and current_user.is_authenticated and current_user.locale in LOCALES:
            return str(current_user.locale)
    except AttributeError:
        pass
    chosen = session.get("locale")
    if chosen in LOCALES:
        return str(chosen)
    return request.accept_languages.best_match(LOCALES) or DEFAULT_LOCALE


def _domains() -> tuple[str, str]:
    """BABEL_DOMAIN and BABEL_TRANSLATION_DIRECTORIES: core first, then areas."""
    names = ["messages"]
    folder = TRANSLATIONS / "vi" / "LC_MESSAGES"
    if folder.is_dir():
        names += sorted(p.stem for p in folder.glob("*.mo") if p.stem != "messages")
    return ";".join(names), ";".join(str(TRANSLATIONS) for _ in names)


def init_app(app: Flask) -> None:
    domain, directories = _domains()
    app.config.setdefault("BABEL_DEFAULT_LOCALE", DEFAULT_LOCALE)
    app.config.setdefault("BABEL_DOMAIN", domain)
    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", directories)
    babel.init_app(app, locale_selector=select_locale)
    app.jinja_env.globals.update(
        fmt_number=fmt_number,
        fmt_money=fmt_money,
        fmt_dt=fmt_dt,
        fmt_date=fmt_date,
        fmt_duration=fmt_duration,
        LOCALES=LOCALES,
        LOCALE_NAMES=LOCALE_NAMES,
        current_locale=lambda: str(get_locale() or DEFAULT_LOCALE),
    )


def _locale() -> str:
    return str(get_locale() or DEFAULT_LOCALE)


def zone(name: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def fmt_number(value: int | float | Decimal | None) -> str:
    if value is None:
        return ""
    return babel_numbers.format_decimal(value, locale=_locale())


def fmt_money(value: int | float | Decimal | None) -> str:
    if value is None:
        return ""
    return babel_numbers.format_decimal(value, format="#,##0.##", locale=_locale())


def fmt_dt(value: datetime | None, tz: str | None = None, fmt: str = "short") -> str:
    """A UTC time shown in timezone `tz` (a location's) in the user's locale."""
    if value is None:
        return ""
    return babel_dates.format_datetime(value, fmt, tzinfo=zone(tz), locale=_locale())


def fmt_date(value: date | datetime | None, tz: str | None = None) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = value.astimezone(zone(tz)).date()
    return babel_dates.format_date(value, "medium", locale=_locale())


def fmt_duration(seconds: int | None) -> str:
    if seconds is None:
        return ""
    return babel_dates.format_timedelta(seconds, threshold=1.5, format="short", locale=_locale())
