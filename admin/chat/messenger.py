"""Messenger webhook: a guest who opened the venue's m.me link -> their page-scoped id.

Facebook Login gives an app-scoped id, which cannot open a Page conversation.
So the guest page offers "Chat with us on Messenger" as
``https://m.me/<page>?ref=<ref>``, the ref naming the login's session, signed
with the location's key (`porchlight.chat_accounts.messenger_ref`). When the
guest opens it, Meta posts to the Page's webhook (``object: page``) either a
``messaging_referrals`` event (an existing thread: ``referral.ref``) or a
``messaging_postbacks`` event (a new thread through Get Started:
``postback.referral.ref``), each with ``sender.id`` = the PSID. The header
``X-Hub-Signature-256`` is ``sha256=`` + HMAC-SHA256 of the raw body with the
app secret. A well-signed ref names a session of this location; its visit
gives the customer, whose PSID is kept in ``messenger_contacts`` (or waits in
``chat_pending`` until that login arrives). A chain whose locations share one
Page registers one of their webhook URLs: a ref signed by any location of the
tenant on that Page counts.
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
from porchlight.admin.schema import (
    chat_pending,
    chat_webhooks,
    messenger_contacts,
    routers,
    visits,
)
from porchlight.admin.sync.ingest_rows import dialect_insert
from porchlight.chat_accounts import messenger_ref_parts, messenger_ref_session

PSID = re.compile(r"^[0-9]{1,30}$")


@dataclass(frozen=True)
class Referral:
    psid: str
    page_id: str
    location_id: int  # the location whose guest page made the ref
    session_id: str
    at: datetime


def signature_ok(raw: bytes, header: str, app_secret: str) -> bool:
    given = header.strip()
    if not given.startswith("sha256="):
        return False
    digest = hmac.new(app_secret.encode(), raw, hashlib.sha256).hexdigest()
    return hmac.compare_digest(given.removeprefix("sha256=").lower(), digest)


def _ref_of(item: dict[str, Any]) -> Any:
    referral = item.get("referral")
    if not isinstance(referral, dict):
        postback = item.get("postback")
        referral = postback.get("referral") if isinstance(postback, dict) else None
    return referral.get("ref") if isinstance(referral, dict) else None


def _time(value: Any) -> datetime | None:
    if isinstance(value, bool) or not isinstance(value, int | str) or not str(value).isdigit():
        return None
    number = int(value)
    if number > 10**11:  # milliseconds
        number //= 1000
    try:
        return datetime.fromtimestamp(number, UTC)
    except (OverflowError, OSError, ValueError):
        return None


def page_keys(conn: Connection, hook: Hook) -> dict[int, str]:
    """{location id: ref key} of the tenant's locations on this hook's Page (a chain
    with one Page registers one webhook URL; each location signs its own refs)."""
    c = chat_webhooks.c
    found = conn.execute(
        sa.select(c.location_id, c.ref_key).where(
            c.tenant_id == hook.tenant_id, c.messenger_page_id == hook.messenger_page_id
        )
    ).all()
    return {int(row.location_id): str(row.ref_key) for row in found}


def _session(keys: dict[int, str], ref: Any) -> tuple[int, str] | None:
    parts = messenger_ref_parts(ref)
    if parts is None or parts[0] not in keys:
        return None
    session_id = messenger_ref_session(keys[parts[0]], parts[0], ref)
    return None if session_id is None else (parts[0], session_id)


def referrals(body: dict[str, Any], hook: Hook, keys: dict[int, str]) -> list[Referral]:
    """The well-signed referrals to this hook's Page in `body` (others are skipped);
    `keys` are `page_keys`."""
    found: list[Referral] = []
    entries = body.get("entry") if body.get("object") == "page" else None
    for entry in entries if isinstance(entries, list) else []:
        items = entry.get("messaging") if isinstance(entry, dict) else None
        for item in items if isinstance(items, list) else []:
            if not isinstance(item, dict):
                continue
            sender, recipient = item.get("sender"), item.get("recipient")
            psid = str(sender.get("id") or "") if isinstance(sender, dict) else ""
            page = str(recipient.get("id") or "") if isinstance(recipient, dict) else ""
            at = _time(item.get("timestamp"))
            if not PSID.match(psid) or page != hook.messenger_page_id or at is None:
                continue
            named = _session(keys, _ref_of(item))
            if named is not None:
                found.append(Referral(psid, page, named[0], named[1], at))
    return found


def customer_of_session(conn: Connection, location_id: int, session_id: str) -> int | None:
    """The customer whose login at `location_id` opened session `session_id`."""
    v = visits.c
    routers_here = sa.select(routers.c.id).where(routers.c.location_id == location_id)
    found = conn.execute(
        sa.select(v.customer_id)
        .where(v.router_id.in_(routers_here), v.session_id == session_id)
        .order_by(v.id)
        .limit(1)
    ).scalar()
    return None if found is None else int(found)


def keep_contact(
    conn: Connection, tenant_id: int, location_id: int, customer_id: int, page_id: str, psid: str,
    now: datetime,
) -> None:  # fmt: skip
    values = {
        "customer_id": customer_id,
        "page_id": page_id,
        "tenant_id": tenant_id,
        "location_id": location_id,
        "psid": psid,
        "linked_at": now,
    }
    ins = dialect_insert(conn, messenger_contacts).values(values)
    conn.execute(
        ins.on_conflict_do_update(
            index_elements=["customer_id", "page_id"],
            set_={"psid": psid, "location_id": location_id, "linked_at": now},
        )
    )


def apply_referral(conn: Connection, hook: Hook, ref: Referral, now: datetime) -> str:
    """ "linked" (the customer is known) or "pending" (their login has not arrived)."""
    customer_id = customer_of_session(conn, ref.location_id, ref.session_id)
    if customer_id is None:
        conn.execute(
            chat_pending.insert().values(
                tenant_id=hook.tenant_id,
                location_id=ref.location_id,
                platform="messenger",
                link_key=ref.session_id,
                value=ref.psid,
                page_id=ref.page_id,
                happened_at=ref.at,
                received_at=now,
            )
        )
        return "pending"
    keep_contact(conn, hook.tenant_id, ref.location_id, customer_id, ref.page_id, ref.psid, now)
    return "linked"
