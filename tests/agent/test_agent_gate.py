"""The gate without root: real SQLite store, a recording fake of nft/conntrack."""

from __future__ import annotations

import json
import sqlite3

import pytest

from porchlight.agent import sessions
from porchlight.agent.config import DEFAULT_CONFIG, validate_config
from porchlight.agent.gate import GateError
from porchlight.events import validate_event

MAC = "aa:bb:cc:00:00:01"
RANDOM_MAC = "3a:bb:cc:00:00:02"
IP = "10.20.0.15"


def login(**extra):
    data = {
        "channel": "form",
        "name": "Lan Nguyễn",
        "phone": "+84912345678",
        "consents": [{"purpose": "wifi", "granted": True, "text_version": "wifi-v1"}],
    }
    data.update(extra)
    return data


def outbox(db):
    return [json.loads(r["body"]) for r in db.query("SELECT body FROM outbox ORDER BY id")]


def test_authorize_records_session_events_and_kernel_element(gate, db, kernel):
    gate.seen(RANDOM_MAC, ip=IP, hostname="lans-phone")
    session = gate.authorize(RANDOM_MAC, IP, login())
    assert session["seconds_remaining"] == 3600
    assert kernel.sets["allowed"][RANDOM_MAC]["expires"] == 3600
    assert kernel.sets["rx4"][IP]["expires"] == 3600
    events = outbox(db)
    assert [e["type"] for e in events] == ["login", "session_start"]
    for event in events:
        assert validate_event(event) == event
        assert event["data"]["session_id"] == session["id"]
    assert events[0]["data"]["device"] == {
        "ip": IP,
        "hostname": "lans-phone",
        "vendor_class": None,
        "randomized": True,
    }
    client = gate.client_for_ip(IP)
    assert client["state"] == "authorized"
    assert client["randomized"] is True
    assert client["session_id"] == session["id"]


def test_second_authorize_returns_the_open_session_without_duplicate_events(gate, db):
    first = gate.authorize(MAC, IP, login())
    again = gate.authorize(MAC, IP, login())
    assert again["id"] == first["id"]
    assert len(outbox(db)) == 2
    assert db.execute("SELECT count(*) FROM sessions").fetchone()[0] == 1


def test_bad_login_leaves_nothing_half_written(gate, db, kernel):
    with pytest.raises(GateError) as err:
        gate.authorize(MAC, IP, login(tags="not-a-list"))
    assert err.value.code == "bad_request"
    assert outbox(db) == []
    assert db.execute("SELECT count(*) FROM sessions").fetchone()[0] == 0
    assert MAC not in kernel.sets["allowed"]


@pytest.mark.parametrize("mac", ["", "zz:bb:cc:00:00:01", "aa:bb:cc:00:00", None, 5, "a" * 500])
def test_malformed_mac_is_a_bad_request(gate, mac):
    with pytest.raises(GateError) as err:
        gate.authorize(mac, IP, login())
    assert err.value.code == "bad_request"


@pytest.mark.parametrize("ip", ["", "10.0.0.256", "example.com", None, "1" * 1000])
def test_malformed_ip_is_a_bad_request(gate, ip):
    with pytest.raises(GateError) as err:
        gate.client_for_ip(ip)
    assert err.value.code == "bad_request"


def test_unknown_ip_is_not_found(gate):
    with pytest.raises(GateError) as err:
        gate.client_for_ip("10.20.0.99")
    assert err.value.code == "not_found"


def test_deauthorize_ends_session_with_dwell_deletes_element_and_flushes_conntrack(
    gate, db, kernel, clock
):
    gate.seen(MAC, ip=IP)
    session = gate.authorize(MAC, IP, login())
    clock.now += 125
    assert gate.deauthorize(MAC, "operator") is True
    assert MAC not in kernel.sets["allowed"]
    assert IP not in kernel.sets["rx4"]
    assert ["conntrack", "-D", "-f", "ipv4", "-s", IP] in kernel.argvs("conntrack")
    assert ["conntrack", "-D", "-f", "ipv4", "-d", IP] in kernel.argvs("conntrack")
    end = outbox(db)[-1]
    assert end["type"] == "session_end"
    assert end["data"]["session_id"] == session["id"]
    assert end["data"]["dwell_seconds"] == 125
    assert end["data"]["reason"] == "operator"
    assert gate.client_for_ip(IP)["state"] == "pending"
    assert gate.deauthorize(MAC, "operator") is False  # nothing open: no second event
    assert [e["type"] for e in outbox(db)].count("session_end") == 1


def test_blocked_device_cannot_authorize(gate, kernel):
    gate.set_list(MAC, "blocked")
    assert MAC in kernel.sets["blocked"]
    with pytest.raises(GateError) as err:
        gate.authorize(MAC, IP, login())
    assert err.value.code == "blocked"
    gate.set_list(MAC, "blocked", remove=True)
    assert MAC not in kernel.sets["blocked"]
    gate.authorize(MAC, IP, login())


def test_trusted_device_lands_in_trusted_set(gate, kernel):
    gate.set_list(MAC, "trusted")
    assert MAC in kernel.sets["trusted"]
    gate.set_list(MAC, "blocked", remove=True)  # removing from the other list changes nothing
    assert MAC in kernel.sets["trusted"]


def test_session_expires_with_event_and_leaves_the_set(gate, db, kernel, clock):
    gate.authorize(MAC, IP, login())
    clock.now += 3601
    gate.reconcile()
    assert MAC not in kernel.sets["allowed"]
    end = outbox(db)[-1]
    # the kernel cut the guest off when its hour ran out, a second before this round
    assert (end["type"], end["data"]["reason"], end["data"]["dwell_seconds"]) == (
        "session_end",
        "expired",
        3600,
    )


def test_idle_timeout_and_byte_counters(gate, db, kernel, clock):
    gate.authorize(MAC, IP, login())
    kernel.traffic("allowed", MAC, 4, 500)  # before the first reconcile: counted too
    clock.now += 5
    gate.reconcile()
    kernel.traffic("allowed", MAC, 6, 1000)
    kernel.traffic("rx4", IP, 20, 90000)
    clock.now += 55
    gate.reconcile()
    row = gate.status()[0]
    assert (row["bytes_out"], row["bytes_in"], row["idle_seconds"]) == (1500, 90000, 0)
    clock.now += 901  # no packets for longer than idle_seconds (900)
    gate.reconcile()
    end = outbox(db)[-1]
    assert end["data"]["reason"] == "idle"
    assert (end["data"]["bytes_out"], end["data"]["bytes_in"]) == (1500, 90000)
    assert MAC not in kernel.sets["allowed"]


def test_counters_are_kept_only_for_sessions_still_open(gate, kernel, clock):
    """Per-guest state is the venue's size: a guest who left leaves no counter behind."""
    gate.authorize(MAC, IP, login())
    kernel.traffic("allowed", MAC, 4, 500)
    gate.reconcile()
    assert {MAC, IP} <= set(gate._counters)
    gate.deauthorize(MAC)
    gate.reconcile()
    assert not {MAC, IP} & set(gate._counters)


def test_clock_jump_back_does_not_inflate_remaining_time(gate, clock):
    gate.authorize(MAC, IP, login())
    clock.now -= 10 * 86400
    client = gate.client_for_ip(IP)
    assert client["seconds_remaining"] == 3600


def test_reconcile_restores_flushed_rules_and_lost_elements(gate, kernel, db):
    gate.authorize(MAC, IP, login())
    gate.set_list("aa:bb:cc:00:00:09", "trusted")
    kernel.flush_rules()
    assert gate.reconcile() == -1  # rebuilt
    assert MAC in kernel.sets["allowed"]
    assert kernel.rules == gate.ruleset.rule_counts()
    del kernel.sets["allowed"][MAC]
    kernel.sets["allowed"]["aa:bb:cc:00:00:77"] = {"expires": 50, "packets": 0, "bytes": 0}
    assert gate.reconcile() == 2
    assert set(kernel.sets["allowed"]) == {MAC}
    assert db.execute("SELECT count(*) FROM sessions").fetchone()[0] == 1


def test_nft_failing_mid_authorize_keeps_the_session_and_reconcile_repairs(gate, kernel, db):
    kernel.fail("add element inet porchlight allowed")
    session = gate.authorize(MAC, IP, login())
    assert MAC not in kernel.sets["allowed"]
    assert sessions.open_session(db, MAC)["id"] == session["id"]
    gate.reconcile()
    assert MAC in kernel.sets["allowed"]


def test_voucher_rules(gate, db):
    config = validate_config(
        {
            **DEFAULT_CONFIG,
            "vouchers": [
                {"code": "CAFE1", "duration_seconds": 7200, "max_uses": 2, "max_devices": 1},
                {"code": "OLD", "expires_at": "2020-01-01T00:00:00Z"},
            ],
        }
    )
    gate.config = config
    with pytest.raises(GateError) as err:
        gate.authorize(MAC, IP, login(channel="voucher", voucher="NOPE"))
    assert err.value.code == "voucher_invalid"
    with pytest.raises(GateError) as err:
        gate.authorize(MAC, IP, login(channel="voucher", voucher="OLD"))
    assert err.value.code == "voucher_expired"
    session = gate.authorize(MAC, IP, login(channel="voucher", voucher="cafe1"))
    assert session["seconds_remaining"] == 7200
    with pytest.raises(GateError) as err:
        gate.authorize("aa:bb:cc:00:00:03", "10.20.0.16", login(channel="voucher", voucher="CAFE1"))
    assert err.value.code == "voucher_device_limit"
    gate.deauthorize(MAC, "test")
    gate.authorize(MAC, IP, login(channel="voucher", voucher="CAFE1"))
    gate.deauthorize(MAC, "test")
    with pytest.raises(GateError) as err:
        gate.authorize(MAC, IP, login(channel="voucher", voucher="CAFE1"))
    assert err.value.code == "voucher_used_up"


def test_returning_device_is_remembered_within_the_window(gate, clock):
    with pytest.raises(GateError):
        gate.authorize(MAC, IP, {"channel": "returning"})
    gate.seen(MAC, ip=IP)
    gate.authorize(MAC, IP, login(name="Nguyễn Thị Lan"))
    gate.deauthorize(MAC, "test")
    offer = {"name": "Lan", "channel": "form", "phone_check": True}  # a given name at most
    assert gate.client_for_ip(IP)["remembered"] == offer
    gate.authorize(MAC, IP, {"channel": "returning", "proof": {"phone_tail": "678"}})
    gate.deauthorize(MAC, "test")
    clock.now += 604801
    assert gate.client_for_ip(IP)["remembered"] is None


def test_operator_admit_writes_session_start_only(gate, db, kernel):
    gate.seen(MAC, ip=IP)
    session = gate.admit(MAC, 600)
    assert session["seconds_remaining"] == 600
    assert [e["type"] for e in outbox(db)] == ["session_start"]
    assert kernel.sets["allowed"][MAC]["expires"] == 600


def test_full_disk_fails_cleanly_without_half_written_rows(gate, db, kernel):
    gate.authorize("aa:bb:cc:00:00:05", "10.20.0.5", login())
    pages = db.execute("PRAGMA page_count").fetchone()[0]
    db.execute(f"PRAGMA max_page_count = {pages}")
    big = login(name="x" * 190, tags=[f"tag-{i}-" + "y" * 40 for i in range(20)])
    failures = 0
    for i in range(40):  # fill the last page until the "disk" is full
        try:
            gate.authorize(f"aa:bb:cc:00:01:{i:02x}", f"10.20.1.{i + 1}", big)
        except sqlite3.OperationalError as exc:  # database or disk is full
            assert "full" in str(exc)
            failures += 1
            failed_mac = f"aa:bb:cc:00:01:{i:02x}"
            break
    assert failures == 1
    assert sessions.open_session(db, failed_mac) is None
    assert failed_mac not in kernel.sets["allowed"]
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    per_session = db.execute(
        "SELECT count(*) FROM sessions s WHERE (SELECT count(*) FROM outbox o "
        "WHERE o.body LIKE '%' || s.id || '%') != 2"
    ).fetchone()[0]
    assert per_session == 0  # every recorded session has exactly its login + start events


def test_status_shows_recent_and_online_clients_and_prune_keeps_the_store_bounded(gate, db, clock):
    gate.seen("aa:bb:cc:00:00:0a", ip="10.20.0.10")
    gate.seen(MAC, ip=IP)
    gate.authorize(MAC, IP, login())
    gate.set_list("aa:bb:cc:00:00:0b", "trusted")
    clock.now += 2 * 86400
    gate.seen("aa:bb:cc:00:00:0c", ip="10.20.0.12")
    shown = {c["mac"] for c in gate.status()}
    assert "aa:bb:cc:00:00:0a" not in shown  # gone for two days
    assert {"aa:bb:cc:00:00:0c", MAC, "aa:bb:cc:00:00:0b"} <= shown  # trusted, never seen
    gate.reconcile()  # the session expired: it ends
    clock.now += 31 * 86400
    gate.prune()
    assert db.execute("SELECT count(*) FROM sessions").fetchone()[0] == 0
    assert db.execute("SELECT count(*) FROM clients").fetchone()[0] == 0
    assert sessions.macs_in(db, "trusted") == ["aa:bb:cc:00:00:0b"]


def test_neighbour_flapping_does_not_rewrite_the_store(gate, db, clock):
    gate.seen(MAC, ip=IP)
    first = sessions.get_client(db, MAC)["last_seen"]
    clock.now += 10
    gate.seen(MAC, ip=IP)  # same facts, 10 s later: no write
    assert sessions.get_client(db, MAC)["last_seen"] == first
    gate.seen(MAC, ip="10.20.0.16")  # a new address is written at once
    assert sessions.get_client(db, MAC)["ip"] == "10.20.0.16"
    clock.now += 301
    gate.seen(MAC, ip="10.20.0.16")
    assert sessions.get_client(db, MAC)["last_seen"] > first


def test_a_login_over_ipv6_binds_the_ipv4_address_the_mac_holds(gate, kernel):
    gate.seen(MAC, ip=IP)
    gate.seen(MAC, ip="fd66::23")
    gate.authorize(MAC, "fd66::23", login())
    assert f"{MAC} . {IP}" in kernel.sets["bound4"]  # IPv4 works after a login over IPv6
    assert gate.client_for_ip(IP)["state"] == "authorized"
