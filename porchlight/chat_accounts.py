"""A venue's chat accounts (LINE Official Account, Zalo Official Account) and chat links.

Shared by the portal (which offers "add friend" at LINE login) and the admin
(the settings form, and the customer page's buttons that open a customer's
conversation). A location keeps its accounts in ``portal.chat`` of its
config (docs/protocols.md section 3): ``line_oa``, ``line_bot_prompt``,
``line_chat_id``, ``zalo_oa``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

BOT_PROMPTS = ("aggressive", "normal")
LINE_USER_ID = re.compile(r"^U[0-9a-f]{32}$")
# A LINE OA basic ID (@123abcde) or premium ID (@porchcafe).
LINE_OA_ID = re.compile(r"^@[a-z0-9._-]{2,40}$")
ZALO_OA_ID = re.compile(r"^[0-9]{5,25}$")


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
    return out
