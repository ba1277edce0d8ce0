"""A location's chat accounts in its guest-page settings (``portal.chat``).

- ``line_oa``: the LINE Official Account's ID (``@123abcde`` or a premium
  ``@porchcafe``). With LINE login on, the login offers "add friend"
  (``bot_prompt``) and records whether the guest is a friend;
- ``line_bot_prompt``: ``aggressive`` (a separate "add friend" screen after
  LINE's consent screen, the default) or ``normal`` (an option on it);
- ``line_chat_id``: the OA's own user id (``U`` + 32 hex, Messaging API
  "Basic settings"): with it a follower's customer page opens their chat in
  LINE Official Account Manager (``chat.line.biz``);
- ``zalo_oa``: the Zalo Official Account's id (digits, from oa.zalo.me).

All optional; an empty field removes the account.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from flask_babel import gettext as _

from porchlight.chat_accounts import BOT_PROMPTS, LINE_OA_ID, LINE_USER_ID, ZALO_OA_ID

FIELDS = ("line_oa", "line_bot_prompt", "line_chat_id", "zalo_oa")


def clean_chat(form: Mapping[str, str], errors: dict[str, str]) -> dict[str, str]:
    """The form's chat fields -> ``portal.chat`` (errors by field name)."""
    chat: dict[str, str] = {}
    line_oa = re.sub(r"\s+", "", form.get("line_oa") or "").lower()
    if line_oa and not line_oa.startswith("@"):
        line_oa = "@" + line_oa
    if line_oa:
        if LINE_OA_ID.match(line_oa):
            chat["line_oa"] = line_oa
        else:
            errors["line_oa"] = _("Write the LINE Official Account ID like @123abcde.")
    prompt = form.get("line_bot_prompt") or "aggressive"
    if prompt not in BOT_PROMPTS:
        errors["line_bot_prompt"] = _("Choose how LINE offers to add the account.")
    elif "line_oa" in chat:
        chat["line_bot_prompt"] = prompt
    chat_id = (form.get("line_chat_id") or "").strip()
    if chat_id:
        if LINE_USER_ID.match(chat_id):
            chat["line_chat_id"] = chat_id
        else:
            errors["line_chat_id"] = _(
                "The account's user ID is U followed by 32 letters and digits "
                "(LINE Developers Console, Messaging API, Basic settings)."
            )
    zalo_oa = re.sub(r"\s+", "", form.get("zalo_oa") or "")
    if zalo_oa:
        if ZALO_OA_ID.match(zalo_oa):
            chat["zalo_oa"] = zalo_oa
        else:
            errors["zalo_oa"] = _("The Zalo Official Account ID is a number (see oa.zalo.me).")
    return chat


def chat_values(portal: Mapping[str, Any]) -> dict[str, str]:
    """Stored ``portal.chat`` -> the form's initial values."""
    raw = portal.get("chat")
    chat: Mapping[str, Any] = raw if isinstance(raw, Mapping) else {}
    values = {name: str(chat.get(name) or "") for name in FIELDS}
    values["line_bot_prompt"] = values["line_bot_prompt"] or "aggressive"
    return values
