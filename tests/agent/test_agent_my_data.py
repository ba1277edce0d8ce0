"""The portal's "My data" over the real socket: what the router keeps, masked, and the
guest's withdrawal and erasure request queued as events exactly once."""

from __future__ import annotations

import json
import logging

import pytest
from agentkit import started_agent

from porchlight.agent_client import AgentClient, AgentError
from porchlight.events import validate_event

MAC = "aa:bb:cc:00:00:07"
IP = "10.20.0.17"
LOGIN = {
    "channel": "form",
    "name": "Nguyễn Thị Lan",
    "phone": "+84912345678",
    "email": "lan.nguyen@example.vn",
    "consents": [
        {"purpose": "wifi", "granted": True, "text_version": "wifi-v1"},
        {"purpose": "marketing", "granted": True, "text_version": "mkt-v2"},
    ],
}


@pytest.fixture
def agent(tmp_path):
    with started_agent(tmp_path) as (a, _kernel):
        yield a


def _outbox(agent, kind: str) -> list[dict]:
    rows = agent.gate.db.execute("SELECT body FROM outbox ORDER BY id").fetchall()
    return [e for e in (json.loads(r[0]) for r in rows) if e["type"] == kind]


def test_my_data_shows_masked_details_and_withdraws_marketing_once(agent, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    client = AgentClient(str(agent.server.path))
    agent.gate.seen(MAC, ip=IP)
    client.call("authorize", mac=MAC, ip=IP, login=LOGIN)
    data = client.call("my_data", mac=MAC)["data"]
    assert data["name"] == "Nguyễn Thị Lan"
    assert data["phone"] == "+84 ••• ••• 678" and data["email"] == "l•••@example.vn"
    assert data["visits"] == 1 and data["marketing"] is True
    first = client.call("withdraw_marketing", mac=MAC)
    assert first["changed"] is True and first["data"]["marketing"] is False
    assert client.call("withdraw_marketing", mac=MAC)["changed"] is False  # a second tap
    (event,) = _outbox(agent, "consent")
    assert validate_event(event)["data"] == {
        "session_id": _outbox(agent, "login")[0]["data"]["session_id"],
        "purpose": "marketing",
        "granted": False,
        "text_version": "mkt-v2",
    }
    # Router logs hold no phone or name (the login, "My data" and the withdrawal).
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "912345678" not in logged and "Lan" not in logged and "lan.nguyen" not in logged


def test_erasure_request_is_queued_once_and_the_router_forgets_the_guest(agent) -> None:
    client = AgentClient(str(agent.server.path))
    agent.gate.seen(MAC, ip=IP)
    client.call("authorize", mac=MAC, ip=IP, login=LOGIN)
    answer = client.call("request_erasure", mac=MAC)
    assert answer["changed"] is True
    assert answer["data"]["name"] is None and answer["data"]["erasure_requested_at"]
    assert client.call("request_erasure", mac=MAC)["changed"] is False
    assert len(_outbox(agent, "erasure_request")) == 1
    db = agent.gate.db
    assert db.execute("SELECT count(*) FROM remembered WHERE mac = ?", [MAC]).fetchone()[0] == 0
    assert db.execute("SELECT name FROM sessions WHERE mac = ?", [MAC]).fetchone()[0] is None


def test_a_device_that_is_not_logged_in_sees_nothing(agent) -> None:
    client = AgentClient(str(agent.server.path))
    agent.gate.seen(MAC, ip=IP)
    with pytest.raises(AgentError) as caught:
        client.call("my_data", mac=MAC)
    assert caught.value.code == "not_logged_in"
