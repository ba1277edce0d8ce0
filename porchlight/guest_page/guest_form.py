"""The guest's answers checked and cleaned into the `login` data the agent records.

Pure functions: a mapping of posted fields in, either the login data
(docs/protocols.md section 1, `authorize`) or per-field error keys out
(texts in `porchlight.guest_page.i18n`). The hypothesis fuzz test drives these.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from porchlight.events import CHANNELS, CONSENT_PURPOSES, SOCIAL_CHANNELS
from porchlight.phones import PhoneError, normalize_phone

MAX_NAME = 80
MAX_EMAIL = 200
MAX_VOUCHER = 64
MAX_RAW = 400  # anything longer than this is not typed by a guest
MAX_TAG = 50
MAX_TAGS = 20
FIELD_NAMES = ("name", "phone", "email")
FIELD_MODES = ("required", "optional", "hidden")  # anything else ("off") is hidden
DEFAULT_FIELDS = {"name": "required", "phone": "required", "email": "hidden"}

_SPACES = re.compile(r"\s+")
_VOUCHER_JUNK = re.compile(r"[\s\-\u2010-\u2015]+")
_EMAIL = re.compile(
    r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@"
    r"(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.[A-Za-z]{2,63}$"
)


@dataclass
class LoginResult:
    login: dict[str, Any] | None = None
    errors: dict[str, str] = field(default_factory=dict)
    values: dict[str, str] = field(default_factory=dict)  # what to put back in the form


def field_modes(config: Mapping[str, Any]) -> dict[str, str]:
    """`portal.fields` of the location config, with anything odd made safe."""
    portal = config.get("portal") or {}
    raw = portal.get("fields")
    if not isinstance(raw, Mapping):
        return dict(DEFAULT_FIELDS)
    return {
        name: mode if (mode := raw.get(name)) in FIELD_MODES else "hidden" for name in FIELD_NAMES
    }


def consent_items(config: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The configured consents we can record (known purposes, with a version)."""
    portal = config.get("portal") or {}
    items = []
    raw = portal.get("consents")
    for item in raw if isinstance(raw, list) else []:
        if (
            isinstance(item, Mapping)
            and item.get("purpose") in CONSENT_PURPOSES
            and isinstance(item.get("version"), str)
            and item["version"].strip()
        ):
            items.append(dict(item))
    return items


def channels(config: Mapping[str, Any]) -> list[str]:
    portal = config.get("portal") or {}
    wanted = portal.get("channels")
    if not isinstance(wanted, list | tuple) or not wanted:
        wanted = ["click"]
    return [c for c in CHANNELS if c in wanted and c not in ("returning", "import")]


def clean_name(raw: str) -> str:
    """NFC, no control or format characters, single spaces, trimmed."""
    text = unicodedata.normalize("NFC", raw)
    text = "".join(" " if unicodedata.category(ch)[0] in "CZ" else ch for ch in text)
    return _SPACES.sub(" ", text).strip()


def clean_email(raw: str) -> str | None:
    text = raw.strip()
    if len(text) > MAX_EMAIL or not _EMAIL.match(text):
        return None
    local, _, domain = text.rpartition("@")
    if local.startswith(".") or local.endswith(".") or ".." in local:
        return None
    return f"{local}@{domain.lower()}"


def clean_voucher(raw: str) -> str:
    """Codes are upper-case without separators (protocols.md section 3.2): guests type them
    on phones with spaces, dashes and lower case."""
    return _VOUCHER_JUNK.sub("", raw).upper()


def build_tags(config: Mapping[str, Any], channel: str) -> list[str]:
    tags: list[str] = []
    configured = config.get("tags")
    for tag in [*(configured if isinstance(configured, list) else []), channel]:
        if not isinstance(tag, str):
            continue
        tag = clean_name(tag)[:MAX_TAG]
        if tag and tag not in tags:
            tags.append(tag)
    return tags[:MAX_TAGS]


def _get(form: Mapping[str, Any], key: str) -> str:
    value = form.get(key)
    if not isinstance(value, str):
        return ""
    return value[: MAX_RAW + 1]


def check_consents(
    form: Mapping[str, Any], config: Mapping[str, Any], errors: dict[str, str]
) -> list[dict[str, Any]]:
    """One answer per configured purpose; a missing required one is an error."""
    answers = []
    for item in consent_items(config):
        purpose = item["purpose"]
        granted = _get(form, f"consent_{purpose}") == "yes"
        if item.get("required") and not granted:
            errors[f"consent_{purpose}"] = "err_consent_required"
        answers.append(
            {"purpose": purpose, "granted": granted, "text_version": item["version"].strip()}
        )
    return answers


def _check_fields(
    form: Mapping[str, Any], config: Mapping[str, Any], region: str, result: LoginResult
) -> dict[str, str | None]:
    modes = field_modes(config)
    errors = result.errors
    out: dict[str, str | None] = {"name": None, "phone": None, "email": None}

    if modes["name"] != "hidden":
        raw = _get(form, "name")
        name = clean_name(raw)
        result.values["name"] = name[: MAX_NAME + 20]
        if not name:
            if modes["name"] == "required":
                errors["name"] = "err_name_required"
        elif len(name) > MAX_NAME:
            errors["name"] = "err_name_too_long"
        elif not any(ch.isalpha() for ch in name):
            errors["name"] = "err_name_invalid"
        else:
            out["name"] = name

    if modes["phone"] != "hidden":
        raw = _get(form, "phone").strip()
        result.values["phone"] = raw[:40]
        if not raw:
            if modes["phone"] == "required":
                errors["phone"] = "err_phone_required"
        else:
            try:
                out["phone"] = normalize_phone(raw, region)
            except PhoneError:
                errors["phone"] = "err_phone_invalid"

    if modes["email"] != "hidden":
        raw = _get(form, "email").strip()
        result.values["email"] = raw[:MAX_EMAIL]
        if not raw:
            if modes["email"] == "required":
                errors["email"] = "err_email_required"
        else:
            out["email"] = clean_email(raw)
            if out["email"] is None:
                errors["email"] = "err_email_invalid"

    contact_shown = [f for f in ("phone", "email") if modes[f] != "hidden"]
    if (
        contact_shown
        and all(modes[f] == "optional" for f in contact_shown)
        and not any(out[f] for f in contact_shown)
        and not any(f in errors for f in contact_shown)
    ):
        errors[contact_shown[0]] = "err_contact_required"
    return out


def validate_login(
    form: Mapping[str, Any],
    channel: str,
    config: Mapping[str, Any],
    *,
    social: Mapping[str, Any] | None = None,
) -> LoginResult:
    """Check what the guest sent for `channel`; return login data or errors.

    `social` is the identity a provider returned (``{"id", "name", "email"}``)
    for the zalo/facebook/google channels.
    """
    result = LoginResult()
    if channel not in channels(config) and channel != "returning":
        result.errors["_page"] = "err_channel_unavailable"
        return result
    location = config.get("location") or {}
    region = str(location.get("country") or "VN")
    person: dict[str, str | None] = {"name": None, "phone": None, "email": None}
    social_id = None
    voucher = None
    consents: list[dict[str, Any]] = []

    if channel == "form":
        person = _check_fields(form, config, region, result)
    elif channel == "voucher":
        voucher = clean_voucher(_get(form, "voucher"))
        result.values["voucher"] = voucher[:MAX_VOUCHER]
        if not voucher:
            result.errors["voucher"] = "err_voucher_required"
        elif len(voucher) > MAX_VOUCHER or not voucher.isprintable():
            result.errors["voucher"] = "err_voucher_invalid"
    elif channel in SOCIAL_CHANNELS:
        if not social or not social.get("id"):
            result.errors["_page"] = "err_internal"
            return result
        social_id = f"{channel}:{str(social['id'])[:150]}"
        name = clean_name(str(social.get("name") or ""))[:MAX_NAME]
        person["name"] = name or None
        person["email"] = clean_email(str(social.get("email") or ""))

    if channel != "returning":
        consents = check_consents(form, config, result.errors)

    if result.errors:
        return result
    result.login = {
        "channel": channel,
        "name": person["name"],
        "phone": person["phone"],
        "email": person["email"],
        "social_id": social_id,
        "tags": build_tags(config, channel),
        "consents": consents,
        "voucher": voucher,
    }
    return result
