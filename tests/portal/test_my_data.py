"""The guest's "My data" from the portal against the real agent: see, withdraw, erase."""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path

import pytest
from portal_helpers import PORTAL, csrf_of, form_post, phone_client

from porchlight.portal.app import create_app

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "agent"))
from agentkit import started_agent  # noqa: E402

MAC = "3a:10:20:30:40:77"
IP = "10.99.0.77"
EN = {"Accept-Language": "en"}


@pytest.fixture
def agent(tmp_path):
    with started_agent(tmp_path) as (agent, _kernel):
        agent.gate.seen(MAC, ip=IP)
        yield agent


@pytest.fixture
def phone(agent):
    app = create_app(
        {"SECRET_KEY": "t", "AGENT_SOCKET": str(agent.server.path), "PORTAL_URL": PORTAL}
    )
    return phone_client(app, IP)


def _events(agent, kind: str) -> list[dict]:
    bodies = [json.loads(r["body"]) for r in agent.db.query("SELECT body FROM outbox")]
    return [e for e in bodies if e["type"] == kind]


def _login(phone) -> None:
    fields = {
        "channel": "form",
        "name": "Trần Minh Anh",
        "phone": "0912 345 678",
        "consent_wifi": "yes",
        "consent_marketing": "yes",
    }
    assert form_post(phone, fields, headers=EN).status_code == 303


def test_a_logged_in_guest_sees_their_data_and_withdraws_marketing_in_one_tap(
    agent, phone, caplog
) -> None:
    caplog.set_level(logging.DEBUG)
    _login(phone)
    assert "/my-data" in phone.get(f"{PORTAL}/success", headers=EN).get_data(as_text=True)
    page = phone.get(f"{PORTAL}/my-data", headers=EN).get_data(as_text=True)
    assert "Trần Minh Anh" in page and "+84 ••• ••• 678" in page and "912345678" not in page
    assert "Offers and news: yes" in page
    answer = phone.post(
        f"{PORTAL}/my-data",
        data={"csrf_token": csrf_of(page), "action": "withdraw", "lang": "en"},
        headers=EN,
    )
    assert answer.status_code == 303
    after = phone.get(PORTAL + answer.headers["Location"], headers=EN).get_data(as_text=True)
    assert "You will no longer get offers or news" in after and "Offers and news: no" in after
    (event,) = _events(agent, "consent")
    assert event["data"]["granted"] is False and event["data"]["purpose"] == "marketing"
    # Router logs (portal and agent) hold no phone or name.
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "912345678" not in logged and "0912" not in logged and "Minh Anh" not in logged


def test_erasure_needs_the_box_ticked_then_is_sent_once(agent, phone) -> None:
    _login(phone)
    page = phone.get(f"{PORTAL}/my-data", headers=EN).get_data(as_text=True)
    token = csrf_of(page)
    unticked = phone.post(
        f"{PORTAL}/my-data", data={"csrf_token": token, "action": "erase", "lang": "en"}
    )
    assert unticked.status_code == 422
    assert "Tick the box to confirm." in unticked.get_data(as_text=True)
    sent = phone.post(
        f"{PORTAL}/my-data",
        data={"csrf_token": token, "action": "erase", "confirm": "yes", "lang": "en"},
    )
    assert sent.status_code == 303
    shown = phone.get(PORTAL + sent.headers["Location"], headers=EN).get_data(as_text=True)
    assert "must act on it within 72 hours" in shown and "Trần Minh Anh" not in shown
    assert len(_events(agent, "erasure_request")) == 1


def test_my_data_is_for_a_logged_in_device_and_needs_a_valid_token(agent, phone) -> None:
    assert phone.get(f"{PORTAL}/my-data").status_code == 303  # not logged in: the login page
    _login(phone)
    forged = phone.post(f"{PORTAL}/my-data", data={"csrf_token": "x", "action": "withdraw"})
    assert forged.status_code == 400
    other = phone_client(phone.application, "10.99.0.78")  # another IP, no device behind it
    assert other.get(f"{PORTAL}/my-data").status_code == 303
    assert _events(agent, "consent") == []


def test_my_data_page_in_vietnamese(agent, phone) -> None:
    _login(phone)
    page = phone.get(f"{PORTAL}/my-data", headers={"Accept-Language": "vi"}).get_data(as_text=True)
    assert "Dữ liệu của tôi" in page and "Ngừng nhận ưu đãi và tin tức" in page
