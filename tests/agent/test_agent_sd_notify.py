"""The agent speaks sd_notify (systemd/porchlight-agent.service is Type=notify with
WatchdogSec): READY=1 once the table is applied and the socket listens, STATUS= with
the clients online, WATCHDOG=1 at half of $WATCHDOG_USEC only while the reconcile
loop turns and its threads live, RELOADING=1/READY=1 around SIGHUP, STOPPING=1.

A real datagram socket stands in for systemd's $NOTIFY_SOCKET throughout; the root
test runs the real `porchlight agent run` in the namespaces of test_agent_root.py.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import struct
import tempfile
import threading
import time

import pytest
from agentkit import FakeKernel

from porchlight.agent import sd_notify
from porchlight.agent.daemon import Agent
from porchlight.agent_client import AgentClient


class Listener:
    """What systemd does with $NOTIFY_SOCKET: a datagram socket, sender credentials on."""

    def __init__(self, name: str) -> None:
        self.name = name  # as $NOTIFY_SOCKET spells it
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
        self.sock.bind("\0" + name[1:] if name.startswith("@") else name)
        self.seen: list[tuple[int, dict[str, str]]] = []

    def recv(self, timeout: float) -> tuple[int, dict[str, str]] | None:
        self.sock.settimeout(max(timeout, 0.001))
        try:
            data, ancillary, _, _ = self.sock.recvmsg(4096, socket.CMSG_SPACE(12))
        except TimeoutError:
            return None
        pid = -1
        for level, kind, payload in ancillary:
            if level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS:
                pid = struct.unpack("iII", payload[:12])[0]
        fields = dict(line.split("=", 1) for line in data.decode().splitlines() if line)
        self.seen.append((pid, fields))
        return pid, fields

    def wait_for(self, key: str, timeout: float = 5.0, value: str | None = None):
        """The next message carrying `key` (and `value`, if given); skips others."""
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            got = self.recv(left)
            if got and key in got[1] and (value is None or got[1][key] == value):
                return got
        raise AssertionError(f"no {key}={value or '*'} within {timeout}s; saw {self.seen[-8:]}")

    def pings(self, seconds: float) -> int:
        """How many WATCHDOG=1 arrive in the next `seconds`."""
        count, deadline = 0, time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            got = self.recv(left)
            if got and got[1].get("WATCHDOG") == "1":
                count += 1
        return count

    def drain(self) -> None:
        while self.recv(0.001):
            pass

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def listener():
    sock = Listener(f"@porchlight-test-{secrets.token_hex(6)}")
    yield sock
    sock.close()


@pytest.fixture
def path_listener():
    folder = tempfile.mkdtemp(prefix="pln")  # short: sun_path holds 108 bytes
    sock = Listener(os.path.join(folder, "notify"))
    yield sock
    sock.close()
    shutil.rmtree(folder, ignore_errors=True)


# ---- the client ----------------------------------------------------------------------
def test_without_notify_socket_everything_is_a_no_op():
    notifier = sd_notify.Notifier(env={})
    assert not notifier.enabled
    assert notifier.ready("x") is False and notifier.watchdog() is False
    dog = sd_notify.Watchdog(notifier, 0.1)
    assert not dog.enabled and dog.tick() is False and dog.seconds_to_next() == float("inf")


@pytest.mark.parametrize("which", ["listener", "path_listener"])
def test_datagrams_reach_abstract_and_path_sockets(which, request):
    sock = request.getfixturevalue(which)
    notifier = sd_notify.Notifier(env={"NOTIFY_SOCKET": sock.name})
    assert notifier.enabled
    assert notifier.ready("gating br-lan: 0 clients online")
    pid, fields = sock.wait_for("READY")
    assert pid == os.getpid()
    assert fields == {"READY": "1", "STATUS": "gating br-lan: 0 clients online"}
    assert notifier.reloading()
    fields = sock.wait_for("RELOADING")[1]
    assert int(fields["MONOTONIC_USEC"]) > 0
    assert notifier.stopping() and sock.wait_for("STOPPING")[1] == {"STOPPING": "1"}
    notifier.close()


def test_a_missing_or_odd_socket_never_raises(tmp_path):
    gone = sd_notify.Notifier(str(tmp_path / "gone"))
    assert gone.notify("READY=1") is False
    gone.close()
    odd = sd_notify.Notifier(env={"NOTIFY_SOCKET": "vsock:2:1234"})
    assert not odd.enabled and odd.notify("READY=1") is False


@pytest.mark.parametrize(
    "env, expected",
    [
        ({"WATCHDOG_USEC": "30000000"}, 15.0),
        ({"WATCHDOG_USEC": "1000000", "WATCHDOG_PID": "4242"}, 0.5),
        ({"WATCHDOG_USEC": "1000000", "WATCHDOG_PID": "1"}, None),  # another process's
        ({"WATCHDOG_USEC": "0"}, None),
        ({"WATCHDOG_USEC": "soon"}, None),
        ({}, None),
    ],
)
def test_watchdog_interval_is_half_of_watchdog_usec(env, expected):
    assert sd_notify.watchdog_interval(env, pid=4242) == expected


def test_watchdog_tick_pings_when_due_and_healthy_only(listener):
    now = [100.0]
    problem: list[str | None] = [None]
    notifier = sd_notify.Notifier(listener.name)
    dog = sd_notify.Watchdog(notifier, 1.0, lambda: problem[0], clock=lambda: now[0])
    assert dog.tick() is True  # due at once
    assert dog.tick() is False and dog.seconds_to_next() == 1.0  # not yet
    now[0] += 1.0
    problem[0] = "neighbours thread has died"
    assert dog.tick() is False and dog.problem == problem[0]
    now[0] += 1.0
    problem[0] = None
    assert dog.tick() is True and dog.problem is None
    assert listener.pings(0.2) == 2
    notifier.close()


# ---- the daemon, in-process with a fake nft -------------------------------------------
class Running:
    def __init__(self, agent: Agent) -> None:
        self.agent = agent
        self.thread = threading.Thread(target=agent.run_forever, name="agent", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.agent.stop()
        self.thread.join(10)
        assert not self.thread.is_alive()


@pytest.fixture
def running(tmp_path, listener, monkeypatch):
    monkeypatch.setenv("WATCHDOG_USEC", "200000")  # a ping every 0.1 s
    monkeypatch.delenv("WATCHDOG_PID", raising=False)
    agent = Agent(
        lan="br-lan",
        state_dir=tmp_path / "state",
        socket_path=tmp_path / "agent.sock",
        runner=FakeKernel(),
        reconcile_seconds=0.05,
        watch=False,
        notifier=sd_notify.Notifier(listener.name),
    )
    run = Running(agent)
    run.start()
    yield run
    if run.thread.is_alive():
        run.stop()


def test_ready_after_the_socket_listens_then_pings_then_stopping(running, listener, tmp_path):
    _, fields = listener.wait_for("READY")
    assert fields["STATUS"] == "gating br-lan: 0 clients online"
    assert "clients" in AgentClient(str(tmp_path / "agent.sock")).call("status")
    assert listener.pings(1.0) >= 5  # every 0.1 s (loaded machines: some slack)
    running.stop()
    listener.wait_for("STOPPING")


def test_status_follows_the_clients_online(running, listener):
    listener.wait_for("READY")
    running.agent.gate.authorize("aa:bb:cc:dd:ee:01", "10.0.0.2", {"channel": "click"})
    listener.wait_for("STATUS", value="gating br-lan: 1 client online")


def test_a_stuck_reconcile_loop_stops_the_pings_until_it_turns_again(running, listener):
    listener.wait_for("READY")
    assert listener.pings(0.5) >= 2
    real = running.agent.gate.reconcile
    entered, release = threading.Event(), threading.Event()

    def stuck() -> None:  # like nft or a lock that never returns
        entered.set()
        release.wait(30)
        real()

    running.agent.gate.reconcile = stuck  # type: ignore[method-assign]
    assert entered.wait(5)
    listener.drain()
    assert listener.pings(1.0) == 0  # ten ping periods: systemd would restart us
    running.agent.gate.reconcile = real  # type: ignore[method-assign]
    release.set()
    assert listener.pings(1.0) >= 3


def test_a_dead_worker_thread_withholds_the_pings(running, listener):
    listener.wait_for("READY")
    assert listener.pings(0.5) >= 2

    class DeadWatcher:
        def __init__(self) -> None:
            self._thread = threading.Thread(target=lambda: None)
            self._thread.start()
            self._thread.join()

        def stop(self) -> None:
            pass

    rounds = [0]
    real = running.agent.gate.reconcile

    def counted() -> None:
        rounds[0] += 1
        real()

    running.agent.gate.reconcile = counted  # type: ignore[method-assign]
    dead = DeadWatcher()
    running.agent._workers.append(dead)
    time.sleep(0.15)
    listener.drain()
    assert listener.pings(1.0) == 0
    assert rounds[0] >= 5  # the loop still turns; only the health check fails
    running.agent._workers.remove(dead)
    assert listener.pings(1.0) >= 3


def test_sighup_reload_is_bracketed_by_reloading_and_ready(running, listener):
    listener.wait_for("READY")
    running.agent.request_reload()
    listener.wait_for("RELOADING")
    _, fields = listener.wait_for("READY")
    assert fields["STATUS"].startswith("gating br-lan:")
    assert listener.pings(0.5) >= 2


# ---- the real `porchlight agent run` ---------------------------------------------------
@pytest.mark.root
def test_real_agent_notifies_ready_pings_reloads_and_stops(tmp_path, path_listener, monkeypatch):
    from test_agent_root import GUEST_IP, Lab, authorize

    if shutil.which("curl") is None or shutil.which("conntrack") is None:
        pytest.skip("needs curl and conntrack")
    monkeypatch.setenv("NOTIFY_SOCKET", path_listener.name)  # inherited through ip netns exec
    monkeypatch.setenv("WATCHDOG_USEC", "1000000")  # a ping every 0.5 s
    monkeypatch.delenv("WATCHDOG_PID", raising=False)
    lab = Lab(tmp_path)
    try:
        lab.up()
        lab.start_agent()  # returns once the socket answers
        assert lab.agent is not None
        pid, fields = path_listener.wait_for("READY")
        assert pid == lab.agent.pid  # the main process itself: NotifyAccess=main accepts it
        assert fields["STATUS"] == f"gating {lab.lan}: 0 clients online"
        started = time.monotonic()
        pings = path_listener.pings(2.6)
        assert 3 <= pings <= 7, pings
        assert all(p == lab.agent.pid for p, f in path_listener.seen if "WATCHDOG" in f)
        assert time.monotonic() - started < 5

        authorize(lab)
        path_listener.wait_for("STATUS", value=f"gating {lab.lan}: 1 client online")

        lab.agent.send_signal(signal.SIGHUP)  # ExecReload=/bin/kill -HUP $MAINPID
        path_listener.wait_for("RELOADING")
        _, fields = path_listener.wait_for("READY")
        assert fields["STATUS"] == f"gating {lab.lan}: 1 client online"
        assert path_listener.pings(1.6) >= 2
        assert AgentClient(lab.socket).call("client_for_ip", ip=GUEST_IP)["client"]

        lab.agent.send_signal(signal.SIGTERM)
        path_listener.wait_for("STOPPING", timeout=10)
        assert lab.agent.wait(timeout=15) == 0
    finally:
        lab.down()
