"""After login the guest page offers the venue's Messenger with a ref naming that login."""

from __future__ import annotations

import re
import urllib.parse

from portal_helpers import PORTAL, form_post

from porchlight.chat_accounts import messenger_ref_session

KEY = "k" * 43
FORM = {"channel": "form", "name": "An", "phone": "0912345678", "consent_wifi": "yes"}


def test_success_page_links_messenger_with_a_signed_ref_of_the_session(guest, agent):
    agent.config["portal"]["chat"] = {"messenger_page": "porchcafe", "messenger_ref_key": KEY}
    answer = form_post(guest, {**FORM, "lang": "vi"})
    assert answer.status_code == 303
    body = guest.get(f"{PORTAL}{answer.headers['Location']}").get_data(as_text=True)
    match = re.search(r'href="https://m\.me/porchcafe\?ref=([^"]+)"[^>]*>([^<]+)<', body)
    assert match, body
    assert match.group(2) == "Nhắn tin với Café Sài Gòn trên Messenger"
    ref = urllib.parse.unquote(match.group(1))
    session_id = agent.logins[0]["data"]["session_id"]
    assert messenger_ref_session(KEY, 1, ref) == session_id
    assert messenger_ref_session(KEY, 2, ref) is None  # another location's key check fails
    assert messenger_ref_session("x" * 43, 1, ref) is None


def test_no_messenger_link_without_the_page_or_the_key(guest, agent):
    agent.config["portal"]["chat"] = {"messenger_page": "porchcafe"}  # no ref key: no link
    answer = form_post(guest, FORM)
    body = guest.get(f"{PORTAL}{answer.headers['Location']}").get_data(as_text=True)
    assert "m.me" not in body
