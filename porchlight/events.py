"""The sync event schema shared by the agent (producer) and the admin (consumer).

An event is a JSON object::

    {"id": "<uuid4>", "type": "login" | "session_start" | "session_end",
     "occurred_at": "2026-11-25T10:00:00.123Z",   # the router's clock, UTC
     "mac": "aa:bb:cc:dd:ee:ff",
     "data": {...}}                                 # per type, see below

`login.data`: ``session_id`` (str), ``channel`` (one of CHANNELS), ``name``,
``phone`` (E.164 or null), ``email`` (or null), ``social_id`` (or null),
``tags`` (list of str), ``consents`` (list of ``{"purpose", "granted",
"text_version"}``; a purpose of CONSENT_PURPOSES is the guest's answer to a
consent text, one of FOLLOW_PURPOSES says whether the guest follows the
venue's chat account, ``text_version`` then names the account, e.g.
``line-oa:@porchcafe``), ``device`` (``{"ip", "hostname", "vendor_class",
"randomized"}``), ``voucher`` (code or null).

`session_start.data`: ``session_id``, ``expires_at``.
`session_end.data`: ``session_id``, ``started_at``, ``ended_at``,
``dwell_seconds``, ``bytes_in``, ``bytes_out``, ``reason``.

From the portal's "My data" (the guest's own say; no name or phone travels):
`consent.data`: ``session_id`` (the login that made the customer),
``purpose``, ``granted``, ``text_version`` — a withdrawal is ``granted: false``.
`erasure_request.data`: ``session_id``.

`validate_event` is the one check both sides run: the agent before it queues,
the admin before it stores. It returns a cleaned copy or raises `EventError`.
Every field is bounded (`porchlight.bounds`): text without control characters
but tab and newline, at most MAX_TEXT characters (fewer where the admin's
column is smaller: `TEXT_LIMITS`); whole numbers from 0 to 2^53 - 1
(`dwell_seconds` to `MAX_DWELL`); times with a zone and, given the admin's
clock (`now=`), within `porchlight.bounds.MAX_PAST` before it and
`MAX_AHEAD` after it.
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime
from typing import Any

from porchlight import bounds
from porchlight.errors import PorchlightError

EVENT_TYPES = ("login", "session_start", "session_end", "consent", "erasure_request")
CHANNELS = (
    "form",
    "click",
    "voucher",
    "returning",
    "zalo",
    "facebook",
    "google",
    "line",
    "import",
)
SOCIAL_CHANNELS = ("zalo", "facebook", "google", "line")  # OAuth logins; carry a social_id
CONSENT_PURPOSES = ("wifi", "marketing")
# Whether the guest follows the venue's chat account (LINE OA friend, Zalo OA
# follower), recorded where the provider tells it; never asked by the venue.
FOLLOW_PURPOSES = ("line_follow", "zalo_follow")
MAX_BATCH = 500
MAX_TEXT = 200
MAX_TAGS = 20
MAX_DWELL = 400 * 86400  # seconds (visits.dwell_seconds is a 32-bit column)
# Shorter than MAX_TEXT where the admin stores the value in a shorter column.
TEXT_LIMITS = {"session_id": 64, "ip": 45, "phone": 40, "voucher": 40, "reason": 40}

_MAC = re.compile(r"^[0-9a-f]{2}(:[0-9a-f]{2}){5}$")


class EventError(PorchlightError, ValueError):
    """An event that does not follow the schema."""


def new_event_id() -> str:
    return str(uuid.uuid4())


def utc_now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_time(value: Any, field: str = "time") -> datetime:
    """An ISO-8601 time with a zone (``Z`` or an offset) as an aware UTC datetime."""
    if not isinstance(value, str) or len(value) > 40:
        raise EventError(f"{field}: expected an ISO-8601 time")
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise EventError(f"{field}: expected an ISO-8601 time") from exc
    if parsed.tzinfo is None:
        raise EventError(f"{field}: time needs a zone (Z or an offset)")
    try:
        return parsed.astimezone(UTC)
    except OverflowError as exc:  # 0001-01-01T00:00:00+14:00 is before year 1 in UTC
        raise EventError(f"{field}: {value[:40]} is out of range") from exc


def _time(value: Any, field: str, now: datetime | None) -> datetime:
    """`parse_time`, and within the admin's window when `now` (its clock) is given."""
    when = parse_time(value, field)
    if now is not None:
        try:
            bounds.in_window(when, field, now)
        except bounds.BoundsError as exc:
            raise EventError(str(exc)) from exc
    return when


def normalize_mac(value: Any) -> str:
    """``AA-BB-CC-DD-EE-FF`` / ``aabb.ccdd.eeff`` -> ``aa:bb:cc:dd:ee:ff``."""
    if not isinstance(value, str):
        raise EventError("mac: expected a string")
    hexdigits = re.sub(r"[^0-9a-fA-F]", "", value)
    if len(hexdigits) != 12 or len(value) > 17:
        raise EventError(f"mac: {value[:20]!r} is not a MAC address")
    mac = ":".join(hexdigits[i : i + 2] for i in range(0, 12, 2)).lower()
    if not _MAC.match(mac):
        raise EventError(f"mac: {value[:20]!r} is not a MAC address")
    return mac


def is_randomized_mac(mac: str) -> bool:
    """True when the locally-administered bit is set (phones' private addresses)."""
    return bool(int(mac[:2], 16) & 0x02)


def _text(data: dict[str, Any], key: str, *, required: bool = False) -> str | None:
    value = data.get(key)
    if value is None or value == "":
        if required:
            raise EventError(f"{key}: required")
        return None
    try:
        clean = bounds.text(value, key, TEXT_LIMITS.get(key, MAX_TEXT)).strip()
    except bounds.BoundsError as exc:
        raise EventError(str(exc)) from exc
    if not clean and required:
        raise EventError(f"{key}: required")
    return clean or None


def _int(data: dict[str, Any], key: str, maximum: int = bounds.MAX_SAFE_INT) -> int:
    try:
        return bounds.whole(data.get(key, 0), key, maximum)
    except bounds.BoundsError as exc:
        raise EventError(str(exc)) from exc


def _login(data: dict[str, Any], now: datetime | None) -> dict[str, Any]:
    channel = data.get("channel")
    if channel not in CHANNELS:
        raise EventError(f"channel: expected one of {', '.join(CHANNELS)}")
    tags = data.get("tags") or []
    if not isinstance(tags, list) or len(tags) > MAX_TAGS:
        raise EventError(f"tags: expected a list of at most {MAX_TAGS}")
    clean_tags = []
    for tag in tags:
        if not isinstance(tag, str) or not tag.strip() or len(tag) > 50:
            raise EventError("tags: each tag is a non-empty string of at most 50 characters")
        if (char := bounds.bad_character(tag)) is not None:
            raise EventError(f"tags: control character U+{ord(char):04X} is not allowed")
        clean_tags.append(tag.strip())
    consents = data.get("consents") or []
    if not isinstance(consents, list) or len(consents) > 10:
        raise EventError("consents: expected a list")
    clean_consents = []
    for item in consents:
        if not isinstance(item, dict) or item.get("purpose") not in CONSENT_PURPOSES + (
            FOLLOW_PURPOSES
        ):
            known = ", ".join(CONSENT_PURPOSES + FOLLOW_PURPOSES)
            raise EventError(f"consents: purpose must be one of {known}")
        if not isinstance(item.get("granted"), bool):
            raise EventError("consents: granted must be true or false")
        clean_consents.append(
            {
                "purpose": item["purpose"],
                "granted": item["granted"],
                "text_version": _text(item, "text_version", required=True),
            }
        )
    device = data.get("device") or {}
    if not isinstance(device, dict):
        raise EventError("device: expected an object")
    return {
        "session_id": _text(data, "session_id", required=True),
        "channel": channel,
        "name": _text(data, "name"),
        "phone": _text(data, "phone"),
        "email": _text(data, "email"),
        "social_id": _text(data, "social_id"),
        "tags": clean_tags,
        "consents": clean_consents,
        "device": {
            "ip": _text(device, "ip"),
            "hostname": _text(device, "hostname"),
            "vendor_class": _text(device, "vendor_class"),
            "randomized": bool(device.get("randomized", False)),
        },
        "voucher": _text(data, "voucher"),
    }


def _session_start(data: dict[str, Any], now: datetime | None) -> dict[str, Any]:
    return {
        "session_id": _text(data, "session_id", required=True),
        "expires_at": _time(data.get("expires_at"), "expires_at", now).isoformat(),
    }


def _session_end(data: dict[str, Any], now: datetime | None) -> dict[str, Any]:
    return {
        "session_id": _text(data, "session_id", required=True),
        "started_at": _time(data.get("started_at"), "started_at", now).isoformat(),
        "ended_at": _time(data.get("ended_at"), "ended_at", now).isoformat(),
        "dwell_seconds": _int(data, "dwell_seconds", MAX_DWELL),
        "bytes_in": _int(data, "bytes_in"),
        "bytes_out": _int(data, "bytes_out"),
        "reason": _text(data, "reason") or "ended",
    }


def _consent(data: dict[str, Any], now: datetime | None) -> dict[str, Any]:
    if data.get("purpose") not in CONSENT_PURPOSES:
        raise EventError(f"purpose: expected one of {', '.join(CONSENT_PURPOSES)}")
    if not isinstance(data.get("granted"), bool):
        raise EventError("granted: expected true or false")
    return {
        "session_id": _text(data, "session_id", required=True),
        "purpose": data["purpose"],
        "granted": data["granted"],
        "text_version": _text(data, "text_version", required=True),
    }


def _erasure_request(data: dict[str, Any], now: datetime | None) -> dict[str, Any]:
    return {"session_id": _text(data, "session_id", required=True)}


_DATA = {
    "login": _login,
    "session_start": _session_start,
    "session_end": _session_end,
    "consent": _consent,
    "erasure_request": _erasure_request,
}


def validate_event(event: Any, *, now: datetime | None = None) -> dict[str, Any]:
    """Check one event against the schema; return a cleaned copy.

    `now` is the admin's clock: times must then lie in its window
    (`porchlight.bounds.in_window`). The agent checks without it: a router
    whose clock is wrong still queues its guests' events, and the admin's
    refusal (422) parks them where the Routers page shows the clock's skew.
    """
    if not isinstance(event, dict):
        raise EventError("event: expected an object")
    event_id = event.get("id")
    try:
        parsed_id = uuid.UUID(str(event_id))
    except ValueError as exc:
        raise EventError("id: expected a UUID") from exc
    if event.get("type") not in EVENT_TYPES:
        raise EventError(f"type: expected one of {', '.join(EVENT_TYPES)}")
    data = event.get("data")
    if not isinstance(data, dict):
        raise EventError("data: expected an object")
    return {
        "id": str(parsed_id),
        "type": event["type"],
        "occurred_at": _time(event.get("occurred_at"), "occurred_at", now)
        .isoformat(timespec="milliseconds")
        .replace("+00:00", "Z"),
        "mac": normalize_mac(event.get("mac")),
        "data": _DATA[event["type"]](data, now),
    }
