"""Replays, and answers that arrived before their customer.

- `first_delivery`: a webhook body is applied once per location (its SHA-256
  in ``chat_webhook_seen``, kept two days; older bodies are refused as stale
  before this, so a replay never applies twice);
- `link_logins`: called by the sync ingest for each batch's logins: a Zalo
  follow waiting for ``zalo:<id>`` or a Messenger referral waiting for a
  session of that login becomes the customer's consent / contact, and leaves
  ``chat_pending``. Waiting rows older than `PENDING_DAYS` are dropped (a
  follower who never logs in on the Wi-Fi is nobody's customer).
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from porchlight.admin.chat.messenger import keep_contact
from porchlight.admin.chat.zalo_oa import FollowEvent, follow_consent
from porchlight.admin.schema import chat_pending, chat_webhook_seen, consents
from porchlight.admin.sync.ingest_rows import dialect_insert

SEEN_DAYS = 2
PENDING_DAYS = 30
PURGE_EVERY = 200  # about one delivery in this many prunes old rows


def first_delivery(conn: Connection, location_id: int, raw: bytes, now: datetime) -> bool:
    """True the first time this body reaches this location; False for a replay."""
    digest = hashlib.sha256(raw).hexdigest()
    ins = dialect_insert(conn, chat_webhook_seen).values(
        location_id=location_id, digest=digest, received_at=now
    )
    stored = conn.execute(ins.on_conflict_do_nothing().returning(chat_webhook_seen.c.id)).first()
    if random.randrange(PURGE_EVERY) == 0:
        prune(conn, now)
    return stored is not None


def prune(conn: Connection, now: datetime) -> None:
    s, p = chat_webhook_seen.c, chat_pending.c
    conn.execute(chat_webhook_seen.delete().where(s.received_at < now - timedelta(days=SEEN_DAYS)))
    conn.execute(chat_pending.delete().where(p.received_at < now - timedelta(days=PENDING_DAYS)))


def link_logins(
    conn: Connection, tenant_id: int, logins: Iterable[tuple[dict[str, Any], int]], now: datetime
) -> int:
    """Attach waiting answers to the customers of `logins` ((event, customer id)); count them."""
    by_social: dict[str, int] = {}
    by_session: dict[str, int] = {}
    for event, customer_id in logins:
        data = event["data"]
        social = data.get("social_id")
        if data.get("channel") == "zalo" and isinstance(social, str):
            by_social[social] = customer_id
        by_session[str(data["session_id"])] = customer_id
    if not by_social and not by_session:
        return 0
    p = chat_pending.c
    rows = conn.execute(
        sa.select(chat_pending)
        .where(
            p.tenant_id == tenant_id,
            sa.or_(
                sa.and_(p.platform == "zalo", p.link_key.in_(sorted(by_social) or [""])),
                sa.and_(p.platform == "messenger", p.link_key.in_(sorted(by_session) or [""])),
            ),
        )
        .order_by(p.happened_at, p.id)
    ).all()
    follows: list[dict[str, Any]] = []
    for row in rows:
        if row.platform == "zalo":
            answer = FollowEvent(row.value, None, bool(row.granted), row.happened_at)
            customer_id = by_social[row.link_key]
            follows.append(follow_consent(tenant_id, customer_id, row.location_id, answer, now))
        else:
            customer_id = by_session[row.link_key]
            keep_contact(conn, tenant_id, row.location_id, customer_id, row.page_id, row.value, now)
    if follows:
        conn.execute(consents.insert(), follows)
    if rows:
        conn.execute(chat_pending.delete().where(p.id.in_([row.id for row in rows])))
    return len(rows)
