"""The config a router pulls (docs/protocols.md section 3) and its ETag.

Built from the location row, the location's newest `portal_settings` row
(defaults when there is none) and the location's active vouchers. The ETag is
the SHA-256 of the canonical JSON, so the same config always has the same ETag
on every worker and after restarts.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import json
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from porchlight.admin.db import utcnow
from porchlight.admin.privacy import settings as privacy_settings
from porchlight.admin.schema import (
    chat_webhooks,
    locations,
    portal_settings,
    voucher_batches,
    vouchers,
)
from porchlight.errors import PorchlightError
from porchlight.guest_page.i18n import in_every_language

SETTINGS_KEYS = ("portal", "tags", "session", "walled_garden", "lan")
# A new location's texts in every language, from the guest page's catalog.
WELCOME = in_every_language("default_welcome")
WIFI_TERMS = in_every_language("default_wifi_terms")
MARKETING = in_every_language("default_marketing")
# A new location asks for the form (and welcomes devices back); click-through,
# vouchers and social logins are turned on by the venue. Locations made before
# migration 0012 keep what they had in `locations.default_channels`.
NEW_LOCATION_CHANNELS = ("form", "returning")


def default_settings(venue_name: str, channels: Any = None) -> dict[str, Any]:
    """What a location without saved settings gets (the `SETTINGS_KEYS` part).

    `channels` is the location's `default_channels` (None: a new location's).
    """
    if not isinstance(channels, list) or not all(isinstance(c, str) for c in channels):
        channels = list(NEW_LOCATION_CHANNELS)
    return {
        "portal": {
            "venue_name": venue_name[:100],
            "logo_url": None,
            "colors": {"primary": "#0f766e", "background": "#f8fafc"},
            "welcome": dict(WELCOME),
            "channels": list(channels),
            "fields": {"name": "required", "phone": "required", "email": "optional"},
            "consents": [
                {
                    "purpose": "wifi",
                    "required": True,
                    "version": "wifi-v1",
                    "text": dict(WIFI_TERMS),
                },
                {
                    "purpose": "marketing",
                    "required": False,
                    "version": "marketing-v1",
                    "text": dict(MARKETING),
                },
            ],
            "success_url": None,
        },
        "tags": ["wifi"],
        "session": {
            "length_seconds": 3600,
            "idle_seconds": 900,
            "remember_seconds": 7 * 86400,
            "bandwidth_kbps": None,
        },
        "walled_garden": {"domains": [], "cidrs": []},
        # the router's ports opened to guests, and whether guests are kept apart
        "lan": {"router_tcp_ports": [], "router_udp_ports": [], "client_isolation": True},
    }


MAX_LOGO_BYTES = 512 * 1024


def config_etag(config: dict[str, Any]) -> str:
    canonical = json.dumps(config, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()[:40]


def _merge(base: dict[str, Any], override: Any) -> dict[str, Any]:
    """`override` on top of `base`, one level of nested dicts deep."""
    out = copy.deepcopy(base)
    if not isinstance(override, dict):
        return out
    for key, value in override.items():
        if isinstance(out.get(key), dict) and isinstance(value, dict):
            out[key] = {**out[key], **value}
        else:
            out[key] = value
    return out


def _iso(value: Any) -> str | None:
    if value is None:
        return None
    return str(value.isoformat(timespec="seconds").replace("+00:00", "Z"))


def active_vouchers(conn: Connection, location_id: int) -> list[dict[str, Any]]:
    now = utcnow()
    rows = conn.execute(
        sa.select(
            vouchers.c.code,
            voucher_batches.c.duration_seconds,
            voucher_batches.c.max_uses,
            voucher_batches.c.max_devices,
            voucher_batches.c.expires_at,
        )
        .join(voucher_batches, voucher_batches.c.id == vouchers.c.batch_id)
        .where(
            voucher_batches.c.location_id == location_id,
            voucher_batches.c.voided_at.is_(None),
            sa.or_(voucher_batches.c.expires_at.is_(None), voucher_batches.c.expires_at > now),
        )
        .order_by(vouchers.c.code)
    ).all()
    return [
        {
            "code": row.code,
            "duration_seconds": int(row.duration_seconds),
            "max_uses": int(row.max_uses),
            "max_devices": int(row.max_devices),
            "expires_at": _iso(row.expires_at),
        }
        for row in rows
    ]


def latest_settings(conn: Connection, location_id: int) -> sa.Row[Any] | None:
    """The location's newest guest-page settings version, or None before the first save."""
    return conn.execute(
        sa.select(portal_settings)
        .where(portal_settings.c.location_id == location_id)
        .order_by(portal_settings.c.version.desc())
        .limit(1)
    ).first()


def messenger_chat(conn: Connection, location_id: int) -> dict[str, str]:
    """``portal.chat``'s Messenger part, from the location's Chat page (admin/chat)."""
    c = chat_webhooks.c
    row = conn.execute(
        sa.select(c.messenger_page, c.messenger_page_id, c.ref_key).where(
            c.location_id == location_id
        )
    ).first()
    if row is None or not row.messenger_page or not row.messenger_page_id:
        return {}
    return {"messenger_page": str(row.messenger_page), "messenger_ref_key": str(row.ref_key)}


def build_location_config(conn: Connection, location_id: int) -> tuple[dict[str, Any], str]:
    """(config, etag) for the location, as the agent applies it."""
    location = conn.execute(
        sa.select(
            locations.c.id,
            locations.c.name,
            locations.c.country,
            locations.c.timezone,
            locations.c.tenant_id,
            locations.c.default_channels,
        ).where(locations.c.id == location_id)
    ).first()
    if location is None:
        raise PorchlightError(f"no location with id {location_id}")
    retention = privacy_settings.load(conn, int(location.tenant_id))
    row = latest_settings(conn, location_id)
    defaults = default_settings(location.name, location.default_channels)
    settings = row.settings if row is not None and isinstance(row.settings, dict) else {}
    portal = _merge(defaults["portal"], settings.get("portal"))
    if not portal.get("venue_name"):
        portal["venue_name"] = location.name
    messenger = messenger_chat(conn, location_id)
    if messenger:
        chat = portal.get("chat")
        portal["chat"] = {**(chat if isinstance(chat, dict) else {}), **messenger}
    if row is not None and row.logo and not portal.get("logo_url"):
        # The guest page is self-contained: the logo travels inside the config.
        if len(row.logo) <= MAX_LOGO_BYTES and str(row.logo_type or "").startswith("image/"):
            encoded = base64.b64encode(row.logo).decode()
            portal["logo_url"] = f"data:{row.logo_type};base64,{encoded}"
    tags = settings.get("tags")
    config = {
        "location": {
            "id": int(location.id),
            "name": location.name,
            "country": location.country,
            "timezone": location.timezone,
        },
        "portal": portal,
        "tags": [str(t) for t in tags] if isinstance(tags, list) else list(defaults["tags"]),
        "session": _merge(defaults["session"], settings.get("session")),
        "walled_garden": _merge(defaults["walled_garden"], settings.get("walled_garden")),
        "lan": _merge(defaults["lan"], settings.get("lan")),
        "vouchers": active_vouchers(conn, location_id),
        # The router prunes its own store by the tenant's device window.
        "privacy": {
            "device_days": retention.device_days,
            "customer_months": retention.customer_months,
        },
    }
    return config, config_etag(config)
