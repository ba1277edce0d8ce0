"""Zalo Official Account webhook: ``follow`` / ``unfollow`` -> the ``zalo_follow`` consent.

Zalo posts every OA event to the URL set in the OA's app (developers.zalo.me,
Webhook) as JSON with ``app_id``, ``oa_id``, ``event_name``, ``timestamp``
(milliseconds, a string), and for follows ``follower.id`` (the user's id for
the OA) and ``user_id_by_app`` (the same user's id for the app, which is what
Zalo Login gave the portal, when the app and the OA are linked). The header
``X-ZEvent-Signature`` is ``mac=`` + hex SHA-256 of
``app_id + raw body + timestamp + OA secret key`` (a plain hash with the
secret appended, Zalo's design, not an HMAC); the secret is the OA's, not the
app's.

A follow whose customer is known (social id ``zalo:<user_id_by_app>`` in the
location's tenant) becomes a consent at once; otherwise it waits in
``chat_pending`` until that customer's Zalo login arrives (admin/chat/linking.py).
Other events (messages, ...) are acknowledged and ignored.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from porchlight.admin.chat.accounts import Hook
from porchlight.admin.schema import chat_pending, consents, customers

ZALO_ID = re.compile(r"^[0-9]{1,30}$")
FOLLOW_EVENTS = {"follow": True, "unfollow": False}


class ZaloEventError(ValueError):
    """The body is not a follow event we can use (422, the field named)."""


@dataclass(frozen=True)
class FollowEvent:
    oa_id: str
    app_user: str | None  # user_id_by_app
    granted: bool
    at: datetime


def signature_ok(raw: bytes, body: dict[str, Any], header: str, secret: str) -> bool:
    """`header` is Zalo's ``mac=<sha256 hex>`` of app_id + body + timestamp + secret."""
    given = header.strip().removeprefix("mac=").strip().lower()
    app_id, timestamp = body.get("app_id"), body.get("timestamp")
    if not given or not isinstance(app_id, str | int) or not isinstance(timestamp, str | int):
        return False
    digest = hashlib.sha256(
        str(app_id).encode() + raw + str(timestamp).encode() + secret.encode()
    ).hexdigest()
    return hmac.compare_digest(given, digest)


def event_time(body: dict[str, Any]) -> datetime:
    raw = body.get("timestamp")
    text = str(raw) if isinstance(raw, str | int) and not isinstance(raw, bool) else ""
    if not text.isdigit() or len(text) > 15:
        raise ZaloEventError("timestamp: milliseconds since 1970 expected")
    return datetime.fromtimestamp(int(text) / 1000, UTC)


def follow_event(body: dict[str, Any]) -> FollowEvent | None:
    """The follow / unfollow in `body`, None for any other event."""
    name = body.get("event_name")
    if name not in FOLLOW_EVENTS:
        return None
    oa_id = body.get("oa_id")
    if not isinstance(oa_id, str) or not ZALO_ID.match(oa_id):
        raise ZaloEventError("oa_id: digits expected")
    follower = body.get("follower")
    if not isinstance(follower, dict) or not ZALO_ID.match(str(follower.get("id") or "")):
        raise ZaloEventError("follower.id: digits expected")
    app_user = body.get("user_id_by_app")
    if app_user in (None, ""):
        app_user = None
    elif not isinstance(app_user, str) or not ZALO_ID.match(app_user):
        raise ZaloEventError("user_id_by_app: digits expected")
    return FollowEvent(oa_id, app_user, FOLLOW_EVENTS[str(name)], event_time(body))


def apply_follow(conn: Connection, hook: Hook, event: FollowEvent, now: datetime) -> str:
    """Record the answer; "recorded", "pending" (customer not known yet) or "unlinked"."""
    if event.app_user is None:
        return "unlinked"  # the OA is not linked to the login app: nobody to name
    social_id = f"zalo:{event.app_user}"
    c = customers.c
    found = (
        conn.execute(
            sa.select(c.id).where(
                c.tenant_id == hook.tenant_id, c.social_provider == "zalo", c.social_id == social_id
            )
        )
        .scalars()
        .all()
    )
    if not found:
        conn.execute(
            chat_pending.insert().values(
                tenant_id=hook.tenant_id,
                location_id=hook.location_id,
                platform="zalo",
                link_key=social_id,
                value=event.oa_id,
                granted=event.granted,
                happened_at=event.at,
                received_at=now,
            )
        )
        return "pending"
    conn.execute(
        consents.insert(),
        [
            follow_consent(hook.tenant_id, int(customer_id), hook.location_id, event, now)
            for customer_id in found
        ],
    )
    return "recorded"


def follow_consent(
    tenant_id: int, customer_id: int, location_id: int, event: FollowEvent, now: datetime
) -> dict[str, Any]:
    return {
        "tenant_id": tenant_id,
        "customer_id": customer_id,
        "purpose": "zalo_follow",
        "granted": event.granted,
        "text_version": f"zalo-oa:{event.oa_id}",
        "location_id": location_id,
        "mac": None,
        "given_at": event.at,
        "received_at": now,
    }
