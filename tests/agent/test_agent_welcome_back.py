"""Issue 15, finding 2: welcome back shows a given name at most, and needs a proof."""

from __future__ import annotations

import json

import pytest

from porchlight.agent.gate import GateError
from porchlight.agent.welcome_back import given_name

MAC, IP = "aa:bb:cc:dd:ee:01", "10.20.0.1"
FULL = {
    "channel": "form",
    "name": "Nguyễn Thị Lan",
    "phone": "+84912345678",
    "email": "lan@example.vn",
    "consents": [{"purpose": "wifi", "granted": True, "text_version": "wifi-v1"}],
}


def returning(**proof):
    return {"channel": "returning", "proof": proof}


@pytest.fixture
def known(gate):
    """MAC logged in with a full form once; the session ended."""
    gate.seen(MAC, ip=IP)
    answer = gate.authorize(MAC, IP, FULL)
    gate.deauthorize(MAC, "test")
    return answer["proof"]


def test_a_returning_device_sees_a_given_name_and_nothing_else(gate, known):
    view = gate.client_for_ip(IP)
    assert view["remembered"] == {"name": "Lan", "channel": "form", "phone_check": True}
    shown = json.dumps(view, ensure_ascii=False)
    assert "Nguyễn" not in shown and "912345678" not in shown and "lan@example" not in shown
    assert "Nguyễn" not in json.dumps(gate.status(), ensure_ascii=False).split('"remembered"')[1]


def test_welcome_back_needs_the_cookie_or_the_phone_digits(gate, db, known):
    with pytest.raises(GateError) as err:
        gate.authorize(MAC, IP, {"channel": "returning"})  # a MAC alone proves nothing
    assert err.value.code == "returning_proof"
    with pytest.raises(GateError):
        gate.authorize(MAC, IP, returning(cookie="forged"))
    answer = gate.authorize(MAC, IP, returning(cookie=known))
    assert answer["seconds_remaining"] > 0 and answer["proof"] != known  # a fresh proof
    gate.deauthorize(MAC, "test")
    gate.authorize(MAC, IP, returning(phone_tail="678"))
    body = db.execute("SELECT body FROM outbox ORDER BY id DESC LIMIT 1 OFFSET 1").fetchone()[0]
    assert "proof" not in body and known not in body  # the proof never leaves the router


def test_three_wrong_tries_end_the_offer_until_the_next_full_login(gate, known):
    for digits in ("111", "222", "333"):
        with pytest.raises(GateError):
            gate.authorize(MAC, IP, returning(phone_tail=digits))
    assert gate.client_for_ip(IP)["remembered"] is None
    with pytest.raises(GateError):
        gate.authorize(MAC, IP, returning(phone_tail="678"))  # even the right digits now
    gate.authorize(MAC, IP, FULL)
    gate.deauthorize(MAC, "test")
    assert gate.client_for_ip(IP)["remembered"]["name"] == "Lan"


@pytest.mark.parametrize(
    ("name", "country", "shown"),
    [
        ("Nguyễn Thị Lan", "VN", "Lan"),
        ("Trần Bình", "VN", "Bình"),
        ("สมชาย ใจดี", "TH", "สมชาย"),
        ("Jane Q. Public", "GB", "Jane"),
        ("  ", "VN", None),
        (None, "TH", None),
    ],
)
def test_given_name(name, country, shown):
    assert given_name(name, country) == shown
