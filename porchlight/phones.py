"""Phone numbers to E.164, one customer per number whatever form it was typed in.

Used by the portal (guest form), the admin (search, import) and the sync
ingest. Vietnam's 2018 renumbering of 11-digit mobiles (01xx + 7 digits) to
10-digit ones (03x/05x/07x/08x) is applied so old and new forms of one number
are one customer. A cell that lost its leading zero in Excel (912345678)
still parses with the location's default region.
"""

from __future__ import annotations

import re
from functools import lru_cache

import phonenumbers

from porchlight.errors import PorchlightError

# Old 3-digit mobile prefix (after the trunk 0) -> new 2-digit prefix, from the
# Ministry of Information and Communications' 2018 conversion.
VN_OLD_TO_NEW: dict[str, str] = {
    # Viettel
    "162": "32", "163": "33", "164": "34", "165": "35",
    "166": "36", "167": "37", "168": "38", "169": "39",
    # MobiFone
    "120": "70", "121": "79", "122": "77", "126": "76", "128": "78",
    # VinaPhone
    "123": "83", "124": "84", "125": "85", "127": "81", "129": "82",
    # Vietnamobile
    "186": "56", "188": "58",
    # Gmobile
    "199": "59",
}  # fmt: skip

MAX_INPUT = 40
# A location's country (its phone region) when none is given: from its time zone.
ZONE_COUNTRIES = {"Asia/Bangkok": "TH", "Asia/Ho_Chi_Minh": "VN", "Asia/Saigon": "VN"}
_JUNK = re.compile(r"[\s.\-()/\u00a0\u200b]+")


class PhoneError(PorchlightError, ValueError):
    """A phone number that cannot be a real number. `code` names why."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def _vn_national(digits: str) -> str | None:
    """Vietnamese national significant number (no trunk 0) from digits, or None."""
    if digits.startswith("84") and len(digits) in (11, 12):
        return digits[2:]
    if digits.startswith("0"):
        return digits[1:]
    if len(digits) in (9, 10):  # Excel dropped the leading zero
        return digits
    return None


def _renumber_vn(national: str) -> str:
    if len(national) == 10 and national[:3] in VN_OLD_TO_NEW:
        return VN_OLD_TO_NEW[national[:3]] + national[3:]
    return national


def normalize_phone(raw: object, region: str = "VN") -> str:
    """Return `raw` as E.164 (``+84912345678``) or raise `PhoneError`.

    `raw` may be a str, an int or a float (a spreadsheet cell). `region` is the
    ISO country of the location, used when the number has no country code.
    """
    if raw is None:
        raise PhoneError("empty", "phone number is empty")
    if isinstance(raw, bool):
        raise PhoneError("invalid", "not a phone number")
    if isinstance(raw, float):
        if not raw.is_integer():
            raise PhoneError("invalid", "not a phone number")
        raw = int(raw)
    text = str(raw).strip()
    if not text:
        raise PhoneError("empty", "phone number is empty")
    if len(text) > MAX_INPUT:
        raise PhoneError("too_long", "phone number is too long")
    text = _JUNK.sub("", text)
    plus = text.startswith("+")
    if text.startswith("00"):
        plus, text = True, text[2:]
    digits = text.lstrip("+")
    if not digits.isdigit():
        raise PhoneError("invalid", "phone number may contain only digits, spaces, dots and +")
    region = (region or "VN").upper()

    if (plus and digits.startswith("84")) or (not plus and region == "VN"):
        national = digits[2:] if plus else _vn_national(digits)
        if national is not None:
            national = _renumber_vn(national)
            return _fast("VN", national) or _checked("+84" + national, None)
    if not plus and digits.startswith("0") and (found := _fast(region, digits[1:])):
        return found
    return _checked(("+" + digits) if plus else digits, region)


@lru_cache(maxsize=64)
def _patterns(region: str) -> tuple[str, re.Pattern[str]] | None:
    """The region's country code and its mobile and fixed-line patterns, from phonenumbers'
    own metadata (so a number they match is one `is_valid_number` accepts)."""
    meta = phonenumbers.PhoneMetadata.metadata_for_region(region)
    if meta is None or meta.mobile is None or meta.fixed_line is None:
        return None
    parts = [
        desc.national_number_pattern
        for desc in (meta.mobile, meta.fixed_line)
        if desc.national_number_pattern
    ]
    return f"+{meta.country_code}", re.compile("|".join(f"(?:{p})" for p in parts))


def _fast(region: str, national: str) -> str | None:
    """E.164 for a national number of `region` in its common mobile or fixed form,
    without a full parse (~2 µs instead of ~140 µs); None: ask phonenumbers."""
    found = _patterns(region)
    if found is None or not national.isdigit() or national.startswith("0"):
        return None
    prefix, pattern = found
    return prefix + national if pattern.fullmatch(national) else None


def _checked(text: str, region: str | None) -> str:
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException as exc:
        raise PhoneError("invalid", "not a phone number") from exc
    if not phonenumbers.is_valid_number(number):
        raise PhoneError("invalid", "not a valid phone number")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def country_for_zone(zone: str) -> str:
    """'Asia/Bangkok' -> 'TH'; any zone we do not know -> 'VN'."""
    return ZONE_COUNTRIES.get(zone, "VN")


def try_normalize_phone(raw: object, region: str = "VN") -> str | None:
    """`normalize_phone` that returns None instead of raising (search boxes)."""
    try:
        return normalize_phone(raw, region)
    except PhoneError:
        return None


def display_phone(e164: str) -> str:
    """A readable national form for screens (``0912 345 678``)."""
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return e164
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
