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
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel import numbers as babel_numbers
from flask import Flask, g, request, session
from flask_babel import Babel, get_locale, get_translations
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
    """BABEL_DOMAIN and BABEL_TRANSLATION_DIRECTORIES: the areas', then the core's."""
    names: list[str] = []
    folder = TRANSLATIONS / "vi" / "LC_MESSAGES"
    if folder.is_dir():
        names += sorted(p.stem for p in folder.glob("*.mo") if p.stem != "messages")
    names.append("messages")  # merged last: the core's wording wins for shared strings
    return ";".join(names), ";".join(str(TRANSLATIONS) for _ in names)


def init_app(app: Flask) -> None:
    domain, directories = _domains()
    app.config.setdefault("BABEL_DEFAULT_LOCALE", DEFAULT_LOCALE)
    app.config.setdefault("BABEL_DOMAIN", domain)
    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", directories)
    babel.init_app(app, locale_selector=select_locale)
    # One catalog lookup per request instead of one per string in templates.
    app.jinja_env.install_gettext_callables(  # type: ignore[attr-defined]
        lambda text: _request_translations().ugettext(text),
        lambda one, many, n: _request_translations().ungettext(one, many, n),
        newstyle=True,
    )
    app.jinja_env.globals.update(
        fmt_number=fmt_number,
        fmt_money=fmt_money,
        fmt_dt=fmt_dt,
        fmt_date=fmt_date,
        fmt_duration=fmt_duration,
        fmt_duration_long=fmt_duration_long,
        LOCALES=LOCALES,
        LOCALE_NAMES=LOCALE_NAMES,
        current_locale=_locale,
    )


def _request_translations() -> Any:
    cached = g.get("_porchlight_translations")
    if cached is None:
        cached = g._porchlight_translations = get_translations()
    return cached


def _locale() -> str:
    cached = g.get("_porchlight_locale")
    if cached is None:
        cached = g._porchlight_locale = str(get_locale() or DEFAULT_LOCALE)
    return str(cached)


@lru_cache(maxsize=64)
def zone(name: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


# strftime patterns per locale: babel's are right but slow for 50-row tables.
_DT = {"vi": "%H:%M %d/%m/%Y", "th": "%d/%m/%Y %H:%M", "en": "%d %b %Y, %H:%M"}
_DATE = {"vi": "%d/%m/%Y", "th": "%d/%m/%Y", "en": "%d %b %Y"}


@lru_cache(maxsize=8)
def _separators(locale: str) -> tuple[str, str]:
    return (
        babel_numbers.get_group_symbol(locale),
        babel_numbers.get_decimal_symbol(locale),
    )


def fmt_number(value: int | float | Decimal | None) -> str:
    if value is None:
        return ""
    group, decimal = _separators(_locale())
    if isinstance(value, int) or (isinstance(value, Decimal | float) and value == int(value)):
        return f"{int(value):,}".replace(",", group)
    text = f"{value:,.2f}".rstrip("0").rstrip(".")
    return text.replace(",", "\0").replace(".", decimal).replace("\0", group)


# The tenant's currency: (symbol before, symbol after, decimals). Đồng have none.
CURRENCIES = {"VN": ("", " ₫", 0), "TH": ("฿", "", 2)}


def _tenant_country() -> str:
    """The signed-in user's tenant's country (read with the session, admin/sessions.py)."""
    return str(getattr(current_user, "tenant_country", None) or "VN")


def fmt_money(value: int | float | Decimal | None, country: str | None = None) -> str:
    """Money in the tenant's currency: ``2.500.000 ₫`` (vi), ``฿1,250.50``."""
    if value is None:
        return ""
    before, after, places = CURRENCIES.get(country or _tenant_country(), CURRENCIES["VN"])
    if places == 0:
        number = fmt_number(int(Decimal(str(value)).quantize(Decimal(1))))
    else:
        group, decimal = _separators(_locale())
        text = f"{Decimal(str(value)):,.{places}f}"
        number = text.replace(",", "\0").replace(".", decimal).replace("\0", group)
    return f"{before}{number}{after}"


def fmt_dt(value: datetime | None, tz: str | None = None, fmt: str = "short") -> str:
    """A UTC time shown in timezone `tz` (a location's) in the user's locale."""
    if value is None:
        return ""
    return value.astimezone(zone(tz)).strftime(_DT.get(_locale(), _DT["en"]))


def fmt_date(value: date | datetime | None, tz: str | None = None) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = value.astimezone(zone(tz)).date()
    return value.strftime(_DATE.get(_locale(), _DATE["en"]))


def fmt_duration(seconds: int | None) -> str:
    """A stay like "42 min" or "1 h 5 min" (babel's is too slow for long tables)."""
    if seconds is None:
        return ""
    words = _request_translations()
    hours_unit = words.pgettext("duration", "h")
    minutes_unit = words.pgettext("duration", "min")
    minutes = max(int(seconds) // 60, 0)
    hours, minutes = divmod(minutes, 60)
    if hours and minutes:
        return f"{hours} {hours_unit} {minutes} {minutes_unit}"
    if hours:
        return f"{hours} {hours_unit}"
    return f"{minutes} {minutes_unit}"


def _long_units(words: Any) -> tuple[Callable[[int], str], ...]:
    return (
        lambda n: words.npgettext("duration", "%(num)s day", "%(num)s days", n),
        lambda n: words.npgettext("duration", "%(num)s hour", "%(num)s hours", n),
        lambda n: words.npgettext("duration", "%(num)s minute", "%(num)s minutes", n),
    )


def fmt_duration_long(seconds: int | None) -> str:
    """A length in words for guests and settings ("3 hours", "2 ngày", "1 ชั่วโมง 30 นาที")."""
    if seconds is None:
        return ""
    minutes = max(int(seconds) // 60, 0)
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    units = _long_units(_request_translations())
    parts = [
        unit(value) % {"num": fmt_number(value)}
        for value, unit in zip((days, hours, minutes), units, strict=True)
        if value
    ]
    return " ".join(parts) or units[2](0) % {"num": fmt_number(0)}
