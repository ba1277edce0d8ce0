"""The agent's Prometheus /metrics (issue 18): on loopback only; the figures
move when a guest is seen and logs in (clients pending/online, authorizations
and their latency, outbox depth), reconcile time, DHCP leases against the range."""

from __future__ import annotations

import threading
import time
import urllib.request

import pytest
from agentkit import FakeKernel
from prometheus_client.parser import text_string_to_metric_families

from porchlight.agent.daemon import Agent
from porchlight.agent.metrics import AgentMetrics, parse_listen, parse_range
from porchlight.agent.store import db_path
from porchlight.agent_client import AgentClient, AgentError
from porchlight.errors import PorchlightError

MAC, IP = "02:00:00:00:00:31", "10.77.0.131"


def scrape(port: int) -> dict[str, float]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as answer:
        text = answer.read().decode()
    out = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            labels = ",".join(f"{k}={v}" for k, v in sorted(sample.labels.items()))
            out[f"{sample.name}{{{labels}}}" if labels else sample.name] = sample.value
    return out


@pytest.fixture
def running(tmp_path):
    leases = tmp_path / "dnsmasq.leases"
    leases.write_text("1765000000 02:00:00:00:00:99 10.77.0.199 other *\n")
    state = tmp_path / "state"
    state.mkdir()
    metrics = AgentMetrics(
        db_path(state), leases=leases, range_size=parse_range("10.77.0.100,10.77.3.254")
    )
    agent = Agent(
        lan="br-lan",
        state_dir=state,
        socket_path=tmp_path / "s.sock",
        runner=FakeKernel(),
        watch=False,
        reconcile_seconds=0.05,
        metrics=metrics,
    )
    metrics.serve("127.0.0.1", 0)
    thread = threading.Thread(target=agent.run_forever, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not (tmp_path / "s.sock").is_socket():
        assert time.monotonic() < deadline, "the agent did not start"
        time.sleep(0.02)
    try:
        yield agent, metrics, leases, str(tmp_path / "s.sock")
    finally:
        agent.stop()
        thread.join(timeout=10)


def test_agent_metrics_move_when_a_guest_is_seen_and_logs_in(running):
    agent, metrics, leases, sock = running
    before = scrape(metrics.port)
    assert before["porchlight_agent_clients{state=online}"] == 0
    assert before["porchlight_agent_dhcp_leases"] == 1
    assert before["porchlight_agent_dhcp_range_size"] == 923
    assert before.get("porchlight_agent_authorizations_total{result=ok}", 0) == 0

    agent.gate.seen(MAC, ip=IP)
    with leases.open("a") as handle:
        handle.write(f"1765000000 {MAC} {IP} phone *\n")
    seen = scrape(metrics.port)
    assert seen["porchlight_agent_clients{state=pending}"] == 1
    assert seen["porchlight_agent_dhcp_leases"] == 2

    answer = AgentClient(sock).call("authorize", mac=MAC, ip=IP, login={"channel": "click"})
    assert answer["ok"] is True
    with pytest.raises(AgentError):
        AgentClient(sock).call("authorize", mac="nonsense", ip=IP, login={"channel": "click"})
    after = scrape(metrics.port)
    assert after["porchlight_agent_clients{state=online}"] == 1
    assert after["porchlight_agent_clients{state=pending}"] == 0
    assert after["porchlight_agent_authorizations_total{result=ok}"] == 1
    assert after["porchlight_agent_authorizations_total{result=refused}"] == 1
    assert after["porchlight_agent_authorize_seconds_count"] == 2
    assert after["porchlight_agent_outbox_depth"] > before["porchlight_agent_outbox_depth"]
    assert after["porchlight_agent_parked_events"] == 0
    assert after["process_resident_memory_bytes"] > 0
    deadline = time.monotonic() + 5
    while scrape(metrics.port)["porchlight_agent_reconcile_seconds_count"] < 2:
        assert time.monotonic() < deadline, "no reconcile round was timed"
        time.sleep(0.05)


@pytest.mark.parametrize("listen", ["0.0.0.0:9101", "10.77.0.1:9101", "[::]:9101"])
def test_agent_metrics_refuse_an_address_off_loopback(listen):
    with pytest.raises(PorchlightError, match="not a loopback address"):
        parse_listen(listen)


@pytest.mark.parametrize("listen", ["9101", "localhost:x", "127.0.0.1:0", "127.0.0.1:70000"])
def test_agent_metrics_refuse_what_is_not_host_port(listen):
    with pytest.raises(PorchlightError, match="HOST:PORT"):
        parse_listen(listen)


def test_agent_metrics_listen_on_loopback():
    assert parse_listen("127.0.0.1:9101") == ("127.0.0.1", 9101)
    assert parse_listen("[::1]:9101") == ("::1", 9101)


def test_the_agent_imports_prometheus_client_only_with_metrics():
    import subprocess
    import sys

    code = (
        "import sys, porchlight.agent.commands, porchlight.agent.daemon;"
        "assert 'prometheus_client' not in sys.modules, 'imported without --metrics'"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
