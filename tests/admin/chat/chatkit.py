"""Helpers for the chat webhook tests: a location set up as a manager would, signed deliveries."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any

import sqlalchemy as sa

from porchlight.admin import schema
from porchlight.admin.locations.guest_page_settings import current_settings, save_version

OA_ID = "4318563487655219012"
OA_SECRET = "Zq9sK2oa-secret"
APP_ID = "1430082917362018"
META_SECRET = "0123456789abcdef0123456789abcdef"
PAGE = "porchcafe"
PAGE_ID = "104857600123456"


def set_zalo_oa(engine: sa.Engine, location_id: int, oa_id: str = OA_ID) -> None:
    with engine.begin() as conn:
        settings = current_settings(conn, location_id)
        settings["portal"]["chat"] = {"zalo_oa": oa_id}
        save_version(conn, location_id, settings, logo=None, logo_type=None, user_id=None)


def save_chat_page(client: Any, csrf: Any, location_id: int, **fields: str) -> Any:
    path = f"/locations/{location_id}/chat"
    return client.post(path, data={"csrf_token": csrf(client, path), **fields})


def hook_token(engine: sa.Engine, location_id: int) -> str:
    with engine.connect() as conn:
        return str(
            conn.execute(
                sa.select(schema.chat_webhooks.c.token).where(
                    schema.chat_webhooks.c.location_id == location_id
                )
            ).scalar_one()
        )


def zalo_body(event: str = "follow", app_user: str | None = "8912345678901234", **kw: Any) -> bytes:
    body: dict[str, Any] = {
        "app_id": APP_ID,
        "oa_id": OA_ID,
        "event_name": event,
        "timestamp": str(int(time.time() * 1000)),
        "source": "oa_profile",
        "follower": {"id": "5555123412341234"},
        "user_id_by_app": app_user,
        **kw,
    }
    return json.dumps(body).encode()


def zalo_signature(raw: bytes, secret: str = OA_SECRET) -> str:
    body = json.loads(raw)
    digest = hashlib.sha256(
        str(body["app_id"]).encode() + raw + str(body["timestamp"]).encode() + secret.encode()
    )
    return "mac=" + digest.hexdigest()


def post_zalo(client: Any, token: str, raw: bytes, signature: str | None = None) -> Any:
    return client.post(
        f"/api/v1/webhooks/zalo-oa/{token}",
        data=raw,
        content_type="application/json",
        headers={"X-ZEvent-Signature": signature or zalo_signature(raw)},
    )


def messenger_body(ref: str, psid: str = "7001002003004005", kind: str = "referral") -> bytes:
    item: dict[str, Any] = {
        "sender": {"id": psid},
        "recipient": {"id": PAGE_ID},
        "timestamp": int(time.time() * 1000),
    }
    referral = {"ref": ref, "source": "SHORTLINK", "type": "OPEN_THREAD"}
    if kind == "referral":
        item["referral"] = referral
    else:
        item["postback"] = {"title": "Get Started", "payload": "GET_STARTED", "referral": referral}
    body = {
        "object": "page",
        "entry": [{"id": PAGE_ID, "time": item["timestamp"], "messaging": [item]}],
    }
    return json.dumps(body).encode()


def post_messenger(client: Any, token: str, raw: bytes, secret: str = META_SECRET) -> Any:
    signature = "sha256=" + hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()
    return client.post(
        f"/api/v1/webhooks/messenger/{token}",
        data=raw,
        content_type="application/json",
        headers={"X-Hub-Signature-256": signature},
    )


def rows(engine: sa.Engine, table: sa.Table, **where: Any) -> list[Any]:
    query = sa.select(table)
    for key, value in where.items():
        query = query.where(table.c[key] == value)
    with engine.connect() as conn:
        return list(conn.execute(query).all())


def router_token(engine: sa.Engine, location_id: int) -> str:
    from porchlight.admin.sync.enrollment import create_router, enroll

    with engine.begin() as conn:
        _router_id, code = create_router(conn, location_id, "front desk")
        _identity, token = enroll(conn, code)
    return token


def send_login(
    client: Any,
    token: str,
    *,
    session_id: str,
    channel: str = "form",
    phone: str | None = "0912345678",
    social_id: str | None = None,
) -> Any:
    from porchlight.events import new_event_id, utc_now_iso

    event = {
        "id": new_event_id(),
        "type": "login",
        "occurred_at": utc_now_iso(),
        "mac": "aa:bb:cc:dd:ee:01",
        "data": {
            "session_id": session_id,
            "channel": channel,
            "name": "Lan",
            "phone": phone,
            "email": None,
            "social_id": social_id,
            "tags": ["wifi"],
            "consents": [{"purpose": "wifi", "granted": True, "text_version": "wifi-v1"}],
            "device": {"ip": "10.0.0.5", "hostname": "phone", "randomized": True},
        },
    }
    answer = client.post(
        "/api/v1/events",
        json={"events": [event]},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert answer.status_code == 200, answer.get_data(as_text=True)
    return answer
