"""The portal against the real agent (its socket API and gate, with the agent's fake kernel)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from portal_helpers import PORTAL, form_post, phone_client

from porchlight.portal.app import create_app
from porchlight.portal.detection import APPLE_SUCCESS

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "agent"))
from agentkit import started_agent  # noqa: E402  (the agent's own test runner)

MAC = "3a:10:20:30:40:50"
IP = "10.99.0.42"


@pytest.fixture
def real_agent(tmp_path):
    with started_agent(tmp_path) as (agent, kernel):
        agent.gate.seen(MAC, ip=IP)
        yield agent, kernel


@pytest.fixture
def phone(real_agent):
    agent, _ = real_agent
    app = create_app(
        {"SECRET_KEY": "t", "AGENT_SOCKET": str(agent.server.path), "PORTAL_URL": PORTAL}
    )
    return phone_client(app, IP)


def _outbox(agent):
    return [json.loads(row["body"]) for row in agent.db.query("SELECT body FROM outbox")]


def test_form_login_puts_the_mac_in_the_allowed_set_and_the_event_in_the_outbox(real_agent, phone):
    agent, kernel = real_agent
    probe = phone.get("http://captive.apple.com/hotspot-detect.html")
    assert probe.status_code == 302 and probe.headers["Location"] == f"{PORTAL}/"

    answer = form_post(
        phone,
        {"channel": "form", "name": " Lê  Thu ", "phone": "0168 765 4321", "consent_wifi": "yes"},
    )
    assert answer.status_code == 303
    assert MAC in kernel.sets["allowed"]
    login = next(e for e in _outbox(agent) if e["type"] == "login")["data"]
    assert login["name"] == "Lê Thu"
    assert login["phone"] == "+84387654321"
    assert login["consents"][0] == {"purpose": "wifi", "granted": True, "text_version": "wifi-v1"}
    assert login["device"]["ip"] == IP

    after = phone.get("http://captive.apple.com/hotspot-detect.html")
    assert after.status_code == 200 and after.get_data(as_text=True) == APPLE_SUCCESS
    success = phone.get(f"{PORTAL}/success", headers={"Accept-Language": "en"})
    assert "Time left: 60 min." in success.get_data(as_text=True)


def test_real_voucher_refusals_reach_the_guest(real_agent, phone):
    agent, kernel = real_agent
    config = json.loads(json.dumps(agent.gate.config))
    config["portal"]["channels"] = ["voucher"]
    config["vouchers"] = [
        {"code": "GONE", "duration_seconds": 600, "max_uses": 1, "max_devices": 1,
         "expires_at": "2020-01-01T00:00:00Z"},
    ]  # fmt: skip
    agent.apply_config(config)
    answer = form_post(
        phone, {"channel": "voucher", "voucher": "gone", "consent_wifi": "yes", "lang": "en"}
    )
    assert answer.status_code == 422
    assert 'id="voucher-err">This voucher has expired.' in answer.get_data(as_text=True)
    assert MAC not in kernel.sets.get("allowed", {})
