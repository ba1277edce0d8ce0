"""A location's chat webhook settings (table ``chat_webhooks``): read, save, config part.

The row is made on the first save of the location's Chat page with a random
token (the webhook URLs' last part), a random Meta verify token and a random
key that signs the guest page's m.me ``ref`` links. Secrets are stored sealed
(admin/chat/secret_box.py) and never shown again: the page says "set".
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from porchlight.admin.chat.secret_box import open_sealed, seal
from porchlight.admin.db import utcnow
from porchlight.admin.schema import chat_webhooks
from porchlight.admin.sync.location_config import latest_settings
from porchlight.chat_accounts import chat_settings


@dataclass(frozen=True)
class Hook:
    """One location's webhook settings, secrets opened."""

    location_id: int
    tenant_id: int
    token: str
    zalo_oa: str | None  # from the guest-page settings (portal.chat.zalo_oa)
    zalo_secret: str | None
    meta_app_secret: str | None
    meta_verify_token: str
    messenger_page: str | None
    messenger_page_id: str | None
    ref_key: str


def _zalo_oa(conn: Connection, location_id: int) -> str | None:
    row = latest_settings(conn, location_id)
    if row is None or not isinstance(row.settings, dict):
        return None
    return chat_settings(row.settings).get("zalo_oa")


def _hook(conn: Connection, row: Any, secret_key: str) -> Hook:
    return Hook(
        location_id=int(row.location_id),
        tenant_id=int(row.tenant_id),
        token=str(row.token),
        zalo_oa=_zalo_oa(conn, int(row.location_id)),
        zalo_secret=open_sealed(secret_key, row.zalo_secret),
        meta_app_secret=open_sealed(secret_key, row.meta_app_secret),
        meta_verify_token=str(row.meta_verify_token),
        messenger_page=row.messenger_page,
        messenger_page_id=row.messenger_page_id,
        ref_key=str(row.ref_key),
    )


def hook_by_token(conn: Connection, token: str, secret_key: str) -> Hook | None:
    if not token or len(token) > 64:
        return None
    row = conn.execute(sa.select(chat_webhooks).where(chat_webhooks.c.token == token)).first()
    return None if row is None else _hook(conn, row, secret_key)


def hook_for_location(conn: Connection, location_id: int, secret_key: str) -> Hook | None:
    row = conn.execute(
        sa.select(chat_webhooks).where(chat_webhooks.c.location_id == location_id)
    ).first()
    return None if row is None else _hook(conn, row, secret_key)


def stored_flags(conn: Connection, location_id: int) -> dict[str, Any]:
    """What the Chat page shows: token, verify token, page, and which secrets are set."""
    row = conn.execute(
        sa.select(chat_webhooks).where(chat_webhooks.c.location_id == location_id)
    ).first()
    if row is None:
        return {}
    return {
        "token": row.token,
        "meta_verify_token": row.meta_verify_token,
        "messenger_page": row.messenger_page or "",
        "messenger_page_id": row.messenger_page_id or "",
        "zalo_secret_set": bool(row.zalo_secret),
        "meta_app_secret_set": bool(row.meta_app_secret),
    }


def save(
    conn: Connection,
    location_id: int,
    tenant_id: int,
    values: dict[str, Any],
    secret_key: str,
    user_id: int | None,
) -> list[str]:
    """Store the cleaned form `values`; returns the names of what changed (for the audit)."""
    c = chat_webhooks.c
    row = conn.execute(sa.select(chat_webhooks).where(c.location_id == location_id)).first()
    update: dict[str, Any] = {}
    changed: list[str] = []
    for name in ("zalo_secret", "meta_app_secret"):
        if values.get(f"clear_{name}"):
            update[name] = None
        elif values.get(name):
            update[name] = seal(secret_key, values[name])
        if name in update and (row is None or bool(getattr(row, name)) or update[name]):
            changed.append(name)
    for name in ("messenger_page", "messenger_page_id"):
        new = values.get(name) or None
        if row is None or getattr(row, name) != new:
            update[name] = new
            if row is not None or new:
                changed.append(name)
    update.update(updated_by=user_id, updated_at=utcnow())
    if row is None:
        conn.execute(
            chat_webhooks.insert().values(
                location_id=location_id,
                tenant_id=tenant_id,
                token=secrets.token_urlsafe(24),
                meta_verify_token=secrets.token_urlsafe(24),
                ref_key=secrets.token_urlsafe(32),
                **update,
            )
        )
    else:
        conn.execute(chat_webhooks.update().where(c.location_id == location_id).values(update))
    return changed
