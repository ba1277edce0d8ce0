"""Issue 15, finding 2, through the portal and the real agent: a device that presents a
remembered MAC sees a given name at most, and gets online again only with the browser's
cookie from that login or the last 3 digits of the phone on file."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from portal_helpers import PORTAL, csrf_of, form_post, phone_client

from porchlight.portal.app import create_app

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "agent"))
from agentkit import started_agent  # noqa: E402  (the agent's own test runner)

MAC, IP = "3a:10:20:30:40:51", "10.99.0.43"
LAN = {
    "channel": "form",
    "name": "Nguyễn Thị Lan",
    "phone": "0912 345 678",
    "email": "lan@example.vn",
    "consent_wifi": "yes",
}


@pytest.fixture
def venue(tmp_path):
    with started_agent(tmp_path) as (agent, kernel):
        agent.gate.seen(MAC, ip=IP)
        app = create_app(
            {"SECRET_KEY": "t" * 32, "AGENT_SOCKET": str(agent.server.path), "PORTAL_URL": PORTAL}
        )
        yield agent, kernel, app


def logged_in_then_gone(agent, app):
    """Lan logs in from her phone's browser; her session ends (she left yesterday)."""
    lan = phone_client(app, IP)
    assert form_post(lan, {**LAN, "lang": "en"}).status_code == 303
    agent.gate.deauthorize(MAC, "test")
    return lan


def page_for(client, lang="en"):
    return client.get(f"{PORTAL}/", headers={"Accept-Language": lang}).get_data(as_text=True)


def returning(client, **fields):
    page = page_for(client)
    data = {"csrf_token": csrf_of(page), "channel": "returning", "lang": "en", **fields}
    return client.post(f"{PORTAL}/login", data=data)


def test_a_stranger_presenting_the_mac_sees_no_full_name_and_needs_the_phone_digits(venue):
    agent, kernel, app = venue
    logged_in_then_gone(agent, app)
    stranger = phone_client(app, IP)  # the same MAC and address, another browser
    page = page_for(stranger)
    assert "Welcome back, Lan!" in page and 'name="phone_tail"' in page
    for secret in ("Nguyễn", "Thị", "912", "345", "lan@example"):
        assert secret not in page
    wrong = returning(stranger, phone_tail="123")
    assert wrong.status_code == 422 and MAC not in kernel.sets["allowed"]
    assert "not the last 3 digits" in wrong.get_data(as_text=True)
    assert returning(stranger, phone_tail="678").status_code == 303
    assert MAC in kernel.sets["allowed"]


def test_three_wrong_guesses_and_the_offer_is_gone(venue):
    agent, kernel, app = venue
    logged_in_then_gone(agent, app)
    stranger = phone_client(app, IP)
    for digits in ("111", "222", "333"):
        assert returning(stranger, phone_tail=digits).status_code == 422
    assert "Welcome back" not in page_for(stranger)
    assert returning(stranger, phone_tail="678").status_code == 422
    assert MAC not in kernel.sets["allowed"]


def test_the_browser_that_logged_in_comes_back_with_one_tap(venue):
    agent, kernel, app = venue
    lan = logged_in_then_gone(agent, app)
    page = page_for(lan)
    assert "Welcome back, Lan!" in page and 'name="phone_tail"' not in page
    assert returning(lan).status_code == 303
    assert MAC in kernel.sets["allowed"]


def test_thai_greets_with_a_space_before_the_name(venue):
    agent, _kernel, app = venue
    logged_in_then_gone(agent, app)
    assert "ยินดีต้อนรับกลับมา คุณ Lan!" in page_for(phone_client(app, IP), "th")
