"""Helpers shared by the portal tests."""

from __future__ import annotations

import re

PORTAL = "http://10.99.0.1:8080"
GUEST_IP = "10.99.0.23"
GUEST_MAC = "3a:11:22:33:44:55"


def csrf_of(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "no CSRF token in the page"
    return match.group(1)


def form_post(client, fields: dict[str, str], headers=None):
    """What a plain HTTP client does: GET the page, read the token, POST the fields."""
    page = client.get(f"{PORTAL}/", headers=headers or {})
    data = {"csrf_token": csrf_of(page.get_data(as_text=True)), **fields}
    return client.post(f"{PORTAL}/login", data=data, headers=headers or {})


def phone_client(app, ip: str = GUEST_IP):
    """A test client whose requests come from `ip` (a phone on the LAN)."""
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = ip
    return client
