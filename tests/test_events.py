import pytest

from porchlight.events import (
    EventError,
    is_randomized_mac,
    new_event_id,
    normalize_mac,
    utc_now_iso,
    validate_event,
)


def login_event(**data):
    base = {
        "session_id": "s-1",
        "channel": "form",
        "name": " Nguyễn Văn An ",
        "phone": "+84362345678",
        "tags": ["wifi", "làm đẹp"],
        "consents": [{"purpose": "wifi", "granted": True, "text_version": "wifi-v1"}],
        "device": {"ip": "10.0.0.5", "randomized": True},
    }
    base.update(data)
    return {
        "id": new_event_id(),
        "type": "login",
        "occurred_at": utc_now_iso(),
        "mac": "AA-BB-CC-00-11-22",
        "data": base,
    }


def test_valid_login_is_cleaned():
    event = validate_event(login_event())
    assert event["mac"] == "aa:bb:cc:00:11:22"
    assert event["data"]["name"] == "Nguyễn Văn An"
    assert event["data"]["tags"] == ["wifi", "làm đẹp"]
    assert event["data"]["device"]["randomized"] is True


@pytest.mark.parametrize(
    "change",
    [
        {"id": "not-a-uuid"},
        {"type": "hack"},
        {"occurred_at": "yesterday"},
        {"occurred_at": "2026-11-25T10:00:00"},  # no zone
        {"mac": "zz:zz"},
        {"data": "x"},
    ],
)
def test_bad_envelope_is_rejected(change):
    event = login_event()
    event.update(change)
    with pytest.raises(EventError):
        validate_event(event)


@pytest.mark.parametrize(
    "data",
    [
        {"channel": "fax"},
        {"tags": "wifi"},
        {"tags": ["x" * 51]},
        {"consents": [{"purpose": "sell", "granted": True, "text_version": "v"}]},
        {"consents": [{"purpose": "wifi", "granted": "yes", "text_version": "v"}]},
        {"name": "x" * 201},
        {"session_id": ""},
    ],
)
def test_bad_login_data_is_rejected(data):
    with pytest.raises(EventError):
        validate_event(login_event(**data))


def test_session_end_needs_times_and_counts():
    event = {
        "id": new_event_id(),
        "type": "session_end",
        "occurred_at": utc_now_iso(),
        "mac": "02:00:00:00:00:01",
        "data": {
            "session_id": "s",
            "started_at": "2026-11-25T10:00:00Z",
            "ended_at": "2026-11-25T11:00:00+07:00",
            "dwell_seconds": 3600,
            "bytes_in": 10,
            "bytes_out": -1,
        },
    }
    with pytest.raises(EventError, match="bytes_out"):
        validate_event(event)
    event["data"]["bytes_out"] = 5
    assert validate_event(event)["data"]["reason"] == "ended"


def test_mac_helpers():
    assert normalize_mac("aabb.ccdd.eeff") == "aa:bb:cc:dd:ee:ff"
    assert is_randomized_mac("02:00:00:00:00:01")
    assert is_randomized_mac("da:a1:19:00:00:01")
    assert not is_randomized_mac("00:1a:2b:3c:4d:5e")


def test_line_login_with_follow_status_is_accepted():
    follow = {"purpose": "line_follow", "granted": True, "text_version": "line-oa:@porchcafe"}
    event = validate_event(
        login_event(
            channel="line",
            social_id="line:U4af4980629",
            consents=[{"purpose": "wifi", "granted": True, "text_version": "wifi-v1"}, follow],
        )
    )
    assert event["data"]["channel"] == "line"
    assert follow in event["data"]["consents"]
