"""A venue's chat accounts (LINE Official Account, Zalo Official Account) and chat links.

Shared by the portal (which offers "add friend" at LINE login) and the admin
(the settings form, and the customer page's buttons that open a customer's
conversation). A location keeps its accounts in ``portal.chat`` of its
config (docs/protocols.md section 3): ``line_oa``, ``line_bot_prompt``,
``line_chat_id``, ``zalo_oa``, and from the location's Chat page
``messenger_page`` with ``messenger_ref_key``: the guest page's "Chat with us
on Messenger" link carries ``ref`` = `messenger_ref` (the login's session id,
signed), which Meta's webhook hands back with the guest's page-scoped id.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping
from typing import Any

BOT_PROMPTS = ("aggressive", "normal")
LINE_USER_ID = re.compile(r"^U[0-9a-f]{32}$")
# A LINE OA basic ID (@123abcde) or premium ID (@porchcafe).
LINE_OA_ID = re.compile(r"^@[a-z0-9._-]{2,40}$")
ZALO_OA_ID = re.compile(r"^[0-9]{5,25}$")
# A Facebook Page's username (letters, digits, periods) or numeric id: m.me/<page>.
MESSENGER_PAGE = re.compile(r"^[A-Za-z0-9.]{5,50}$")
REF_KEY = re.compile(r"^[A-Za-z0-9_-]{32,64}$")
SESSION_ID = re.compile(r"^[0-9A-Za-z-]{8,64}$")
REF_PREFIX = "p1."


def _ref_mac(key: str, location_id: int, session_id: str) -> str:
    message = f"messenger-ref:{location_id}:{session_id}".encode()
    return hmac.new(key.encode(), message, hashlib.sha256).hexdigest()[:32]


def messenger_ref(key: str, location_id: int, session_id: str) -> str:
    """The m.me ``ref`` for a login: ``p1.<location id>.<session id>.<HMAC-SHA256, 128 bits>``."""
    mac = _ref_mac(key, location_id, session_id)
    return f"{REF_PREFIX}{location_id}.{session_id}.{mac}"


def messenger_ref_parts(ref: object) -> tuple[int, str, str] | None:
    """(location id, session id, MAC) of a well-formed `ref` (not yet checked), or None."""
    if not isinstance(ref, str) or len(ref) > 120 or not ref.startswith(REF_PREFIX):
        return None
    location, _, rest = ref[len(REF_PREFIX) :].partition(".")
    session_id, _, mac = rest.rpartition(".")
    if not location.isdigit() or len(location) > 9 or str(int(location)) != location:
        return None  # one spelling per location (no leading zeros)
    if not SESSION_ID.match(session_id):
        return None
    return int(location), session_id, mac


def messenger_ref_session(key: str, location_id: int, ref: object) -> str | None:
    """The session id a `ref` signed with `key` for `location_id` names, or None."""
    parts = messenger_ref_parts(ref)
    if parts is None or parts[0] != location_id:
        return None
    if not hmac.compare_digest(parts[2], _ref_mac(key, location_id, parts[1])):
        return None
    return parts[1]


def chat_settings(config: Mapping[str, Any]) -> dict[str, str]:
    """The location's chat accounts (``portal.chat``), only the well-formed ones."""
    portal = config.get("portal") or {}
    raw = portal.get("chat") if isinstance(portal, Mapping) else None
    if not isinstance(raw, Mapping):
        return {}
    out: dict[str, str] = {}
    line_oa = raw.get("line_oa")
    if isinstance(line_oa, str) and LINE_OA_ID.match(line_oa):
        out["line_oa"] = line_oa
        prompt = raw.get("line_bot_prompt")
        out["line_bot_prompt"] = prompt if prompt in BOT_PROMPTS else "aggressive"
    chat_id = raw.get("line_chat_id")
    if isinstance(chat_id, str) and LINE_USER_ID.match(chat_id):
        out["line_chat_id"] = chat_id
    zalo_oa = raw.get("zalo_oa")
    if isinstance(zalo_oa, str) and ZALO_OA_ID.match(zalo_oa):
        out["zalo_oa"] = zalo_oa
    page, ref_key = raw.get("messenger_page"), raw.get("messenger_ref_key")
    if isinstance(page, str) and MESSENGER_PAGE.match(page):
        if isinstance(ref_key, str) and REF_KEY.match(ref_key):
            out["messenger_page"] = page
            out["messenger_ref_key"] = ref_key
    return out
