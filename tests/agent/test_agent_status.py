"""`status` at a stadium's size: counts and a bounded page, or every client streamed.

A real Agent on a fake kernel, over its real socket; the CLI as an operator runs it.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest
from agentkit import started_agent

from porchlight.agent import commands, store
from porchlight.agent_client import AgentClient, AgentError
from porchlight.cli import main

CLIENTS = 250


@pytest.fixture
def venue(tmp_path):
    """CLIENTS guests seen (some logged in), one trusted, one blocked."""
    with started_agent(tmp_path) as (agent, kernel):
        gate = agent.gate
        for i in range(CLIENTS):
            gate.seen(f"3a:00:00:00:{i >> 8:02x}:{i & 255:02x}", ip=f"10.20.{i >> 8}.{i & 255}")
        for i in range(0, 60):
            gate.admit(f"3a:00:00:00:{i >> 8:02x}:{i & 255:02x}", 3600)
        gate.set_list("3a:00:00:00:00:f0", "trusted")
        gate.set_list("3a:00:00:00:00:f1", "blocked")
        yield agent, str(tmp_path / "agent.sock")


def test_pages_follow_each_other_newest_first_and_the_counts_cover_everyone(venue):
    agent, sock = venue
    client = AgentClient(sock)
    seen, after, pages = [], None, 0
    while True:
        args = {"limit": 40} if after is None else {"limit": 40, "after": after}
        answer = client.call("status", **args)
        assert len(answer["clients"]) <= 40
        seen += answer["clients"]
        pages += 1
        after = answer["next"]
        if after is None:
            break
    assert pages == 7 and len(seen) == CLIENTS
    assert len({c["mac"] for c in seen}) == CLIENTS  # no client twice, none missed
    assert answer["summary"] == {
        "total": CLIENTS,
        "authorized": 60,
        "pending": CLIENTS - 60 - 2,  # neither admitted nor on a list
        "trusted": 1,
        "blocked": 1,
    }
    assert [c["state"] for c in seen].count("authorized") == 60
    assert answer["store"].endswith("agent.db")


def test_the_default_page_is_bounded_and_a_bad_limit_is_refused(venue):
    _agent, sock = venue
    answer = AgentClient(sock).call("status")
    assert len(answer["clients"]) == 100 and answer["next"]
    for bad in (0, 1001, "5", True):
        with pytest.raises(AgentError, match="limit"):
            AgentClient(sock).call("status", limit=bad)


def test_all_streams_every_client_as_its_own_line(venue):
    _agent, sock = venue
    rows = list(AgentClient(sock).stream("status", all=True))
    head, clients = rows[0], rows[1:]
    assert head["ok"] and head["stream"] and head["summary"]["total"] == CLIENTS
    assert len(clients) == CLIENTS and len({c["mac"] for c in clients}) == CLIENTS
    assert all(set(c) >= {"mac", "state", "bytes_in", "idle_seconds"} for c in clients)


def test_the_stream_does_not_hold_the_gate_lock(venue):
    """A slow reader of the stream never holds up a login: rows come from their own snapshot."""
    agent, sock = venue
    rows = AgentClient(sock).stream("status", all=True)
    next(rows)
    next(rows)  # the stream is open, mid-way
    started = time.monotonic()
    agent.gate.admit("3a:00:00:00:0f:01", 600)  # takes the gate's lock
    assert time.monotonic() - started < 1.0
    assert len(list(rows)) == CLIENTS - 1  # the snapshot: the new one is not in it


def test_cli_all_json_is_one_object_per_line(venue, capsys):
    _agent, sock = venue
    assert main(["agent", "status", "--all", "--json", "--socket", sock]) == 0
    lines = capsys.readouterr().out.splitlines()
    head = json.loads(lines[0])
    assert head["summary"]["total"] == CLIENTS and "outbox_depth" in head["sync"]
    assert len(lines) == 1 + CLIENTS
    assert all(json.loads(line)["mac"] for line in lines[1:])


def test_cli_text_shows_the_counts_and_the_newest(venue, capsys):
    _agent, sock = venue
    assert main(["agent", "status", "--limit", "5", "--socket", sock]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"{CLIENTS} clients: 60 authorized, ")
    assert "(the newest 5; --all for every client)" in out
    assert main(["agent", "status", "--all", "--socket", sock]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 2 + CLIENTS + 1  # counts, header, sync


def test_status_imports_nothing_heavy(tmp_path):
    """`agent status` starts fast: no admin web stack, no sqlite-utils, no scapy."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "porchlight.cli", "agent", "status"]
        + ["--socket", str(tmp_path / "none.sock")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert "agent is not running" in done.stderr
    imported = {line.split("|")[-1].strip() for line in done.stderr.splitlines() if "|" in line}
    for heavy in ("sqlite_utils", "flask", "sqlalchemy", "scapy", "prometheus_client"):
        assert not {m for m in imported if m.split(".")[0] == heavy}, heavy


def test_the_cli_knows_the_store_file_name():
    assert commands.DB_FILENAME == store.DB_FILENAME
