"""The customer page's "open the conversation" buttons: only links that work for them.

- Zalo: ``https://zalo.me/<phone>`` (national form, 0…) for a Vietnamese
  mobile number, or any mobile number of a customer who logged in with Zalo;
- LINE: ``https://chat.line.biz/<OA user id>/chat/<LINE user id>`` (LINE
  Official Account Manager) for a customer whose newest ``line_follow``
  answer is yes, whose LINE user id the login gave, at a location that named
  its OA's user id (``portal.chat.line_chat_id``);
- Messenger: the Page's inbox in Meta Business Suite opened on the customer's
  conversation (``business.facebook.com/latest/inbox/all?asset_id=<Page id>
  &selected_item_id=<PSID>``), once the Page's webhook told their page-scoped
  id (admin/chat/messenger.py: the guest opened the venue's m.me link);
- WhatsApp: ``https://wa.me/<E.164 digits>`` for a mobile number.

Facebook Login alone gives no Messenger button: its id is app-scoped, and a
Page's conversation is keyed by the page-scoped one.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Mapping, Sequence
from typing import Any

import phonenumbers
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from porchlight.admin import schema
from porchlight.admin.sync.location_config import latest_settings
from porchlight.chat_accounts import LINE_USER_ID, chat_settings
from porchlight.events import FOLLOW_PURPOSES

MOBILE = (phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE)


def _mobile(phone: str | None) -> phonenumbers.PhoneNumber | None:
    if not phone:
        return None
    try:
        number = phonenumbers.parse(phone, None)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number) or phonenumbers.number_type(number) not in MOBILE:
        return None
    return number


def chat_links(
    phone: str | None,
    social_id: str | None,
    channels: Sequence[str],
    follows: Mapping[str, tuple[bool, int | None]],
    line_chat_ids: Mapping[int, str],
    messenger: tuple[str, str] | None = None,
) -> list[dict[str, str]]:
    """``[{platform, label, url}]`` for one customer (pure: the page and tests call it).

    `follows` maps a follow purpose to (newest answer, its location id);
    `line_chat_ids` maps a location id to its OA's user id; `messenger` is
    (Page id, PSID) when the Page's webhook named the customer.
    """
    links: list[dict[str, str]] = []
    number = _mobile(phone)
    if number is not None and (number.country_code == 84 or "zalo" in channels):
        if number.country_code == 84:
            zalo = "0" + str(number.national_number)
        else:
            zalo = f"{number.country_code}{number.national_number}"
        links.append({"platform": "zalo", "label": "Zalo", "url": f"https://zalo.me/{zalo}"})
    followed, location_id = follows.get("line_follow", (False, None))
    line_user = social_id.removeprefix("line:") if social_id else ""
    oa_user = line_chat_ids.get(location_id) if location_id is not None else None
    if followed and oa_user and social_id and social_id.startswith("line:"):
        if LINE_USER_ID.match(line_user):
            url = f"https://chat.line.biz/{oa_user}/chat/{line_user}"
            links.append({"platform": "line", "label": "LINE", "url": url})
    if messenger is not None:
        page_id, psid = messenger
        query = urllib.parse.urlencode({"asset_id": page_id, "selected_item_id": psid})
        url = f"https://business.facebook.com/latest/inbox/all?{query}"
        links.append({"platform": "messenger", "label": "Messenger", "url": url})
    if number is not None:
        url = f"https://wa.me/{number.country_code}{number.national_number}"
        links.append({"platform": "whatsapp", "label": "WhatsApp", "url": url})
    return links


def newest_follows(
    conn: Connection, customer_id: int, scope: Sequence[int] | None
) -> dict[str, tuple[bool, int | None]]:
    """{follow purpose: (newest answer, location id)} of one customer, within `scope`."""
    k = schema.consents
    query = (
        sa.select(k.c.purpose, k.c.granted, k.c.location_id)
        .where(k.c.customer_id == customer_id, k.c.purpose.in_(FOLLOW_PURPOSES))
        .order_by(k.c.given_at, k.c.id)
    )
    if scope is not None:
        query = query.where(k.c.location_id.in_(scope))
    return {row.purpose: (bool(row.granted), row.location_id) for row in conn.execute(query).all()}


def links_for(conn: Connection, row: Any, channels: Sequence[str], scope: Any) -> list[dict]:
    """The buttons for customer `row` as the page shows them."""
    follows = newest_follows(conn, int(row.id), scope)
    location_id = follows.get("line_follow", (False, None))[1]
    line_chat_ids: dict[int, str] = {}
    if location_id is not None:
        settings = latest_settings(conn, location_id)
        if settings is not None and isinstance(settings.settings, dict):
            found = chat_settings(settings.settings).get("line_chat_id")
            if found:
                line_chat_ids[location_id] = found
    m = schema.messenger_contacts.c
    query = sa.select(m.page_id, m.psid).where(m.customer_id == int(row.id))
    if scope is not None:
        query = query.where(m.location_id.in_(scope))
    contact = conn.execute(query.order_by(m.linked_at.desc()).limit(1)).first()
    messenger = (str(contact.page_id), str(contact.psid)) if contact is not None else None
    return chat_links(row.phone, row.social_id, channels, follows, line_chat_ids, messenger)
