"""The local API over a real Unix socket, served by a real Agent with a fake kernel."""

from __future__ import annotations

import json
import os
import socket
import stat
import threading
import time

import pytest
from agentkit import FakeKernel, started_agent

from porchlight.agent.config import ConfigError
from porchlight.agent.daemon import Agent
from porchlight.agent_client import AgentClient, AgentError

MAC = "aa:bb:cc:00:00:01"
IP = "10.20.0.15"


@pytest.fixture
def agent(tmp_path):
    with started_agent(tmp_path) as (a, kernel):
        a.kernel = kernel  # type: ignore[attr-defined]
        yield a


def raw_exchange(path, payload: bytes, *, close_write=True, timeout=5.0) -> dict:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout)
        sock.connect(str(path))
        sock.sendall(payload)
        if close_write:
            sock.shutdown(socket.SHUT_WR)
        data = b""
        while not data.endswith(b"\n"):
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
    return json.loads(data)


def test_socket_is_0660(agent):
    mode = stat.S_IMODE(os.stat(agent.server.path).st_mode)
    assert mode == 0o660


def test_portal_flow_over_the_socket(agent):
    client = AgentClient(str(agent.server.path))
    agent.gate.seen(MAC, ip=IP)
    assert client.call("client_for_ip", ip=IP)["client"]["state"] == "pending"
    answer = client.call(
        "authorize",
        mac=MAC,
        ip=IP,
        login={
            "channel": "click",
            "consents": [{"purpose": "wifi", "granted": True, "text_version": "wifi-v1"}],
        },
    )
    assert answer["session"]["seconds_remaining"] == 3600
    assert MAC in agent.kernel.sets["allowed"]
    assert client.call("client_for_ip", ip=IP)["client"]["state"] == "authorized"
    assert client.call("status")["clients"][0]["mac"] == MAC
    assert client.call("config")["config"]["session"]["length_seconds"] == 3600
    assert client.call("deauthorize", mac=MAC, reason="test")["ended"] is True
    assert MAC not in agent.kernel.sets["allowed"]


@pytest.mark.parametrize(
    ("payload", "code"),
    [
        (b"this is not json\n", "bad_request"),
        (b"\xff\xfe\x00garbage\n", "bad_request"),
        (b"[1, 2, 3]\n", "bad_request"),
        (b'{"no_action": 1}\n', "bad_request"),
        (b'{"action": "rm -rf"}\n', "unknown_action"),
        (b'{"action": "authorize", "mac": "zz", "ip": "10.0.0.1", "login": {}}\n', "bad_request"),
        (b'{"action": "client_for_ip", "ip": "999.1.1.1"}\n', "bad_request"),
        (b"", "bad_request"),
    ],
)
def test_garbage_gets_an_error_answer(agent, payload, code):
    answer = raw_exchange(agent.server.path, payload)
    assert answer["ok"] is False
    assert answer["error"] == code


def test_huge_request_is_refused(agent):
    payload = b'{"action": "status", "pad": "' + b"x" * (70 * 1024) + b'"}\n'
    answer = raw_exchange(agent.server.path, payload)
    assert answer == {
        "ok": False,
        "error": "bad_request",
        "message": "request too large, too slow or incomplete",
    }


def test_hanging_client_is_cut_off_and_others_still_served(agent):
    hung = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    hung.connect(str(agent.server.path))
    hung.sendall(b'{"action": "sta')  # and never finishes
    started = time.monotonic()
    # meanwhile the portal still gets answers
    assert AgentClient(str(agent.server.path)).call("status")["ok"] is True
    hung.settimeout(5)
    answer = json.loads(hung.recv(65536))
    assert answer["error"] == "bad_request"
    assert 1.5 < time.monotonic() - started < 8  # cut off after 2 s (slack for a loaded machine)
    hung.close()


def test_many_hanging_clients_do_not_exhaust_the_agent(agent):
    hung = []
    for _ in range(40):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(str(agent.server.path))
        hung.append(s)
    time.sleep(0.2)
    assert threading.active_count() < 60
    for s in hung:
        s.close()
    time.sleep(0.1)
    deadline = time.monotonic() + 5
    while True:
        try:
            assert AgentClient(str(agent.server.path)).call("status")["ok"]
            break
        except AgentError:
            assert time.monotonic() < deadline
            time.sleep(0.2)


def test_apply_config_writes_dnsmasq_snippet_and_cidrs(agent, tmp_path):
    config = json.loads(json.dumps(agent.gate.config))
    config["walled_garden"] = {"domains": ["Zalo.me", "id.zalo.me"], "cidrs": ["203.0.113.0/24"]}
    config["session"]["length_seconds"] = 1800
    agent.apply_config(config)
    assert "203.0.113.0/24" in agent.kernel.sets["cidr4"]
    snippet = (tmp_path / "walled.conf").read_text()
    assert "nftset=/zalo.me/4#inet#porchlight#walled4,6#inet#porchlight#walled6" in snippet
    assert (
        AgentClient(str(agent.server.path)).call("config")["config"]["session"]["length_seconds"]
        == 1800
    )


def test_apply_config_failure_keeps_the_old_config(agent, tmp_path):
    before = agent.gate.config
    bad = json.loads(json.dumps(before))
    bad["session"]["length_seconds"] = -5
    with pytest.raises(ConfigError):
        agent.apply_config(bad)
    assert agent.gate.config is before
    good = json.loads(json.dumps(before))
    good["walled_garden"]["cidrs"] = ["198.51.100.0/24"]
    good["walled_garden"]["domains"] = ["pay.example.com"]
    snippet_before = (tmp_path / "walled.conf").read_text()
    good["session"]["bandwidth_kbps"] = 4000
    agent.kernel.fail("-c -f -")  # nft refuses the new ruleset
    with pytest.raises(ConfigError):
        agent.apply_config(good)
    assert agent.gate.config is before
    assert "198.51.100.0/24" not in agent.kernel.sets["cidr4"]
    assert (tmp_path / "walled.conf").read_text() == snippet_before
    assert not (tmp_path / ".walled.conf.tmp").exists()


def test_config_and_sessions_survive_a_restart(tmp_path):
    kernel = FakeKernel()
    kwargs = dict(
        lan="br-lan",
        state_dir=tmp_path,
        socket_path=tmp_path / "s.sock",
        runner=kernel,
        watch=False,
    )
    first = Agent(**kwargs)
    first.start()
    config = json.loads(json.dumps(first.gate.config))
    config["walled_garden"]["cidrs"] = ["192.0.2.0/24"]
    first.apply_config(config)
    first.gate.authorize(MAC, IP, {"channel": "click"})
    first.shutdown()
    kernel.sets, kernel.rules, kernel.exists = {}, {}, False  # router rebooted
    second = Agent(**kwargs)
    second.start()
    try:
        assert "192.0.2.0/24" in kernel.sets["cidr4"]
        assert MAC in kernel.sets["allowed"]
        info = second.heartbeat_info()
        assert info["clients_online"] == 1
        assert info["outbox_depth"] == 2
        assert set(info) == {"agent_version", "uptime_seconds", "clients_online", "outbox_depth"}
    finally:
        second.shutdown()


def test_socket_group_and_unknown_group(tmp_path):
    import grp

    from porchlight.agent.api import SocketServer
    from porchlight.errors import PorchlightError

    group = grp.getgrgid(os.getgid()).gr_name
    server = SocketServer(None, tmp_path / "g.sock", group)  # type: ignore[arg-type]
    server.start()
    try:
        assert os.stat(tmp_path / "g.sock").st_gid == os.getgid()
    finally:
        server.stop()
    assert not (tmp_path / "g.sock").exists()
    with pytest.raises(PorchlightError, match="does not exist"):
        SocketServer(None, tmp_path / "h.sock", "no-such-group-pl").start()  # type: ignore[arg-type]


def test_a_broken_enrollment_does_not_stop_the_gate(tmp_path):
    state = tmp_path / "state"
    state.mkdir()
    (state / "device-token").write_text("tok")
    (state / "admin.json").write_text("{not json")
    a = Agent(
        lan="br-lan",
        state_dir=state,
        socket_path=tmp_path / "s.sock",
        runner=FakeKernel(),
        watch=False,
    )
    a.start()
    try:
        assert AgentClient(str(tmp_path / "s.sock")).call("status")["ok"] is True
    finally:
        a.shutdown()


def test_nft_missing_means_no_agent_and_no_socket(tmp_path):
    from porchlight.agent.runner import CommandError

    def no_nft(argv, timeout, stdin=None):
        raise CommandError(argv, "not installed (apt-get install nftables conntrack)")

    a = Agent(
        lan="br-lan",
        state_dir=tmp_path / "state",
        socket_path=tmp_path / "s.sock",
        runner=no_nft,
        watch=False,
    )
    with pytest.raises(CommandError, match="not installed"):
        a.start()
    assert not (tmp_path / "s.sock").exists()


def test_run_with_a_missing_lan_interface_is_one_line(tmp_path, capsys):
    from porchlight.cli import main

    code = main(
        [
            "agent",
            "run",
            "--lan",
            "plnosuch0",
            "--state-dir",
            str(tmp_path),
            "--socket",
            str(tmp_path / "s.sock"),
        ]
    )
    assert code == 2
    assert "LAN interface 'plnosuch0' does not exist" in capsys.readouterr().err


def test_second_agent_on_the_same_socket_is_refused(agent, tmp_path):
    from porchlight.errors import PorchlightError

    second = Agent(
        lan="br-lan",
        state_dir=tmp_path / "state2",
        socket_path=agent.server.path,
        runner=FakeKernel(),
        watch=False,
    )
    with pytest.raises(PorchlightError, match="already running"):
        second.start()
    assert AgentClient(str(agent.server.path)).call("status")["ok"] is True
