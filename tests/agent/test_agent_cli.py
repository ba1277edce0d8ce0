"""`porchlight agent ...` from the operator's side."""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from agentkit import started_agent

from porchlight.agent import commands
from porchlight.agent.config import DEFAULT_CONFIG, ConfigError, dnsmasq_snippet, validate_config
from porchlight.cli import main

README = Path(__file__).resolve().parents[2] / "README.md"


def agent_commands() -> list[str]:
    """The subcommands porchlight.agent.commands registers (sync's own are documented by sync)."""
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers()
    commands.register(sub)
    return sorted(sub.choices)


def test_every_agent_command_is_in_the_readme_section():
    text = README.read_text(encoding="utf-8")
    section = text.split("## Agent commands", 1)[1].split("\n## ", 1)[0]
    names = agent_commands()
    assert {"run", "status", "auth", "deauth", "trust", "block", "reload"} <= set(names)
    missing = [n for n in names if f"porchlight agent {n}" not in section]
    assert not missing, f"undocumented agent commands: {missing}"


@pytest.fixture
def running(tmp_path):
    with started_agent(
        tmp_path, state_dir=tmp_path, socket_path=tmp_path / "a.sock", dnsmasq_conf=None
    ) as (agent, kernel):
        yield agent, str(tmp_path / "a.sock"), kernel


def test_operator_commands_change_the_gate(running, capsys):
    agent, sock, kernel = running
    mac = "3a:bb:cc:00:00:01"
    agent.gate.seen(mac, ip="10.20.0.9", hostname="tablet")
    assert main(["agent", "auth", "3A-BB-CC-00-00-01", "--seconds", "600", "--socket", sock]) == 0
    assert kernel.sets["allowed"][mac]["expires"] == 600
    assert main(["agent", "status", "--json", "--socket", sock]) == 0
    out = capsys.readouterr().out
    rows = json.loads(out[out.index("{") :])["clients"]
    assert rows[0]["mac"] == mac and rows[0]["state"] == "authorized"
    assert rows[0]["randomized"] is True and 590 <= rows[0]["seconds_remaining"] <= 600
    assert main(["agent", "status", "--socket", sock]) == 0
    table = capsys.readouterr().out
    assert (
        "authorized" in table and re.search(r"0:(10:00|09:[0-5][0-9])", table) and "tablet" in table
    )
    assert main(["agent", "deauth", mac, "--socket", sock]) == 0
    assert mac not in kernel.sets["allowed"]
    assert main(["agent", "trust", mac, "--socket", sock]) == 0
    assert mac in kernel.sets["trusted"]
    assert main(["agent", "block", mac, "--socket", sock]) == 0
    assert mac in kernel.sets["blocked"] and mac not in kernel.sets["trusted"]
    assert main(["agent", "block", mac, "--remove", "--socket", sock]) == 0
    assert mac not in kernel.sets["blocked"]
    assert main(["agent", "reload", "--socket", sock]) == 0


def test_bad_mac_is_one_line_and_exit_2(tmp_path):
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "porchlight.cli",
            "agent",
            "deauth",
            "nope",
            "--socket",
            str(tmp_path / "x.sock"),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert done.stderr.strip().count("\n") == 0
    assert "is not a MAC address" in done.stderr and "Traceback" not in done.stderr


def test_agent_not_running_is_a_clear_error(tmp_path, capsys):
    assert main(["agent", "status", "--socket", str(tmp_path / "none.sock")]) == 1
    assert "agent is not running" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"session": {"length_seconds": 0, "idle_seconds": 1, "remember_seconds": 1}}, "length"),
        ({"walled_garden": {"domains": ["bad domain!"], "cidrs": []}}, "domain"),
        ({"walled_garden": {"domains": [], "cidrs": ["10.0.0.0/33"]}}, "not an IP address"),
        ({"vouchers": [{"code": "X", "max_uses": 0}]}, "max_uses"),
        ({"vouchers": "nope"}, "vouchers"),
    ],
)
def test_config_validation_says_what_is_wrong(change, message):
    with pytest.raises(ConfigError, match=message):
        validate_config({**DEFAULT_CONFIG, **change})


def test_dnsmasq_snippet_lines():
    assert dnsmasq_snippet(["zalo.me"]).splitlines()[1] == (
        "nftset=/zalo.me/4#inet#porchlight#walled4,6#inet#porchlight#walled6"
    )


def test_unusable_state_dir_is_one_line(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    code = main(
        [
            "agent",
            "run",
            "--lan",
            "lo",
            "--state-dir",
            str(blocker / "state"),
            "--socket",
            str(tmp_path / "s.sock"),
        ]
    )
    assert code == 1
    assert "cannot open the agent store" in capsys.readouterr().err


def test_status_finds_the_store_where_the_lab_keeps_it(tmp_path, capsys):
    """Issue 15, finding 7: the lab's socket is <state>/agent.sock, its store
    <state>/agent/agent.db; `agent status` asks the agent where its store is."""
    with started_agent(
        tmp_path, state_dir=tmp_path / "agent", socket_path=tmp_path / "agent.sock"
    ) as (agent, _kernel):
        agent.gate.seen("3a:bb:cc:00:00:02", ip="10.20.0.10")
        assert main(["agent", "status", "--json", "--socket", str(tmp_path / "agent.sock")]) == 0
    sync = json.loads(capsys.readouterr().out)["sync"]
    assert "error" not in sync, sync
    assert sync["outbox_depth"] == 0


def test_agent_run_gives_its_threads_short_turns(tmp_path, capsys):
    """A login must not wait 5 ms (Python's default) behind the reconcile's thread each
    time it asks for the interpreter back: `agent run` shortens the turns
    (benchmarks/stadium.py --part held: authorize max 77-96 -> 17-21 ms at 10,000)."""
    before = sys.getswitchinterval()
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    try:
        argv = ["agent", "run", "--lan", "lo", "--state-dir", str(blocker / "state")]
        assert main([*argv, "--socket", str(tmp_path / "s.sock")]) == 1
        assert sys.getswitchinterval() <= 0.001
    finally:
        sys.setswitchinterval(before)
