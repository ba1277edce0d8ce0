"""The systemd units: they verify, they are hardened, and their command lines
are ones the real `porchlight` CLI accepts (docs/protocols.md section 4.1)."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest
from deploykit import REPO

from porchlight.cli import build_parser

UNITS = REPO / "systemd"
# porchlight-firstboot (flashed images only) runs install-router itself: root
# with the whole system writable, as an installer is; its own test is
# tests/deploy/test_image_firstboot.py. porchlight-growroot (Raspberry Pi
# images) rewrites the disk's partition table: tests/deploy/test_image_layout.py
IMAGE_ONLY = ("porchlight-firstboot.service", "porchlight-growroot.service")
SERVICES = sorted(p.name for p in UNITS.glob("*.service") if p.name not in IMAGE_ONLY)
MAIN = {
    # unit -> highest acceptable `systemd-analyze security` exposure
    "porchlight-agent.service": 2.5,
    "porchlight-portal.service": 2.0,
    "porchlight-portal-tls.service": 2.0,
    "porchlight-admin.service": 2.0,
    "porchlight-admin-worker.service": 2.0,
    "porchlight-dnsmasq.service": 3.0,
    "porchlight-dnsmasq-reload.service": 3.5,
}
ENV = {
    "PORCHLIGHT_LAN": "br-lan",
    "PORCHLIGHT_PORTAL_PORT": "8080",
    "PORCHLIGHT_AGENT_EXTRA": "--wan eth0",
    "PORCHLIGHT_PORTAL_BIND": "10.0.0.1:8080",
    "PORCHLIGHT_PORTAL_WORKERS": "2",
    "PORCHLIGHT_PORTAL_TLS_BIND": "10.0.0.1:8443",
    "PORCHLIGHT_PORTAL_TLS_URL": "https://portal.venue.example:8443",
    "PORCHLIGHT_ADMIN_BIND": "127.0.0.1:8000",
    "PORCHLIGHT_ADMIN_WORKERS": "3",
}


@pytest.fixture
def analyze():
    """systemd-analyze, or a skip (a failure under PORCHLIGHT_REQUIRE_ALL=1, i.e. CI)."""
    if shutil.which("systemd-analyze") is None:
        reason = "needs systemd-analyze (apt-get install systemd; scripts/setup --tests does)"
        if os.environ.get("PORCHLIGHT_REQUIRE_ALL") == "1":
            pytest.fail(reason, pytrace=False)
        pytest.skip(reason)


def directives(unit: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for line in (UNITS / unit).read_text().splitlines():
        if "=" in line and not line.startswith(("#", "[")):
            key, _, value = line.partition("=")
            out.setdefault(key.strip(), []).append(value.strip())
    return out


def expand(command: str) -> list[str]:
    argv = []
    for word in shlex.split(command):
        if re.fullmatch(r"\$[A-Z_]+", word):
            argv += ENV[word[1:]].split()
        else:
            argv.append(re.sub(r"\$\{([A-Z_]+)\}", lambda m: ENV[m.group(1)], word))
    return argv


def _unit_copies(tmp_path: Path, text_of=None) -> list[Path]:
    """The units with the venv path pointing at a stand-in executable."""
    exe = tmp_path / "venv/bin/porchlight"
    exe.parent.mkdir(parents=True)
    exe.write_text("#!/bin/sh\nexit 0\n")
    exe.chmod(0o755)
    out = []
    for unit in UNITS.iterdir():
        text = unit.read_text().replace("/opt/porchlight/current", str(tmp_path / "venv"))
        if text_of:
            text = text_of(unit.name, text)
        copy = tmp_path / unit.name
        copy.write_text(text)
        out.append(copy)
    return out


def test_units_pass_systemd_analyze_verify(analyze, tmp_path):
    proc = subprocess.run(
        ["systemd-analyze", "verify", *map(str, _unit_copies(tmp_path))],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0 and not proc.stderr.strip(), proc.stderr


def test_verify_catches_a_broken_unit(analyze, tmp_path):
    def spoil(name: str, text: str) -> str:
        if name == "porchlight-agent.service":
            return text.replace("ExecStart=/", "ExecStart=no-such-dir/")
        return text

    proc = subprocess.run(
        ["systemd-analyze", "verify", *map(str, _unit_copies(tmp_path, spoil))],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode != 0 and "porchlight-agent.service" in proc.stderr


@pytest.mark.parametrize("unit", sorted(MAIN))
def test_security_exposure_is_low(analyze, unit):
    proc = subprocess.run(
        ["systemd-analyze", "security", "--offline=true", str(UNITS / unit)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    match = re.search(r"Overall exposure level for \S+: (\d+\.\d+)", proc.stdout)
    assert match, proc.stdout[-500:] + proc.stderr
    assert float(match.group(1)) <= MAIN[unit]


@pytest.mark.parametrize("unit", SERVICES)
def test_every_service_is_hardened_and_restarts(unit):
    d = directives(unit)
    for key, value in {
        "NoNewPrivileges": "yes",
        "ProtectSystem": "strict",
        "ProtectHome": "yes",
        "PrivateTmp": "yes",
    }.items():
        assert d.get(key) == [value], (unit, key)
    assert d.get("RestrictAddressFamilies") and d.get("SystemCallFilter")
    assert "StandardOutput" not in d  # journald, the default
    if unit != "porchlight-dnsmasq-reload.service":  # a oneshot, not a daemon
        assert d.get("Restart") == ["on-failure"]


def test_agent_has_only_net_admin_and_net_raw():
    d = directives("porchlight-agent.service")
    assert set(d["CapabilityBoundingSet"][0].split()) == {"CAP_NET_ADMIN", "CAP_NET_RAW"}
    assert set(d["AmbientCapabilities"][0].split()) == {"CAP_NET_ADMIN", "CAP_NET_RAW"}
    assert d["User"] == ["root"] and d["Group"] == ["porchlight"]
    assert d["StateDirectory"] == ["porchlight/agent"]
    assert d["RuntimeDirectory"] == ["porchlight"]


@pytest.mark.parametrize(
    "unit, user",
    [
        ("porchlight-portal.service", "porchlight"),
        ("porchlight-portal-tls.service", "porchlight"),
        ("porchlight-admin.service", "porchlight-admin"),
        ("porchlight-admin-worker.service", "porchlight-admin"),
    ],
)
def test_web_units_are_unprivileged(unit, user):
    d = directives(unit)
    assert d["User"] == [user]
    assert d["CapabilityBoundingSet"] == [""] and d["AmbientCapabilities"] == [""]


@pytest.mark.parametrize(
    "unit, expected",
    [
        (
            "porchlight-agent.service",
            ["agent", "run", "--lan", "br-lan", "--state-dir", "/var/lib/porchlight/agent"]
            + ["--socket", "/run/porchlight/agent.sock", "--portal-port", "8080"]
            + ["--socket-group", "porchlight"],
        ),
        (
            "porchlight-portal.service",
            ["portal", "serve", "--bind", "10.0.0.1:8080"]
            + ["--agent-socket", "/run/porchlight/agent.sock", "--workers", "2"],
        ),
        (
            "porchlight-portal-tls.service",
            ["portal", "serve", "--bind", "10.0.0.1:8443"]
            + ["--agent-socket", "/run/porchlight/agent.sock", "--workers", "2"]
            + ["--portal-url", "https://portal.venue.example:8443"]
            + ["--certfile", "/etc/porchlight/tls/portal.crt"]
            + ["--keyfile", "/etc/porchlight/tls/portal.key"],
        ),
        (
            "porchlight-admin.service",
            ["admin", "serve", "--bind", "127.0.0.1:8000", "--workers", "3"],
        ),
        ("porchlight-admin-worker.service", ["admin", "worker"]),
    ],
)
def test_command_lines_follow_the_protocol_and_parse(unit, expected):
    d = directives(unit)
    commands = d.get("ExecStartPre", []) + d["ExecStart"]
    for command in commands:
        argv = expand(command)
        assert argv[0] == "/opt/porchlight/current/bin/porchlight"
        args = build_parser().parse_args(argv[1:])  # the real CLI accepts it
        assert getattr(args, "func", None) is not None, argv
    main = expand(d["ExecStart"][0])[1:]
    assert main[: len(expected)] == expected


def _shell_line(unit: str, key: str, marker: str, tmp_path: Path) -> list[str]:
    """The /bin/sh -c command of `key` in `unit` containing `marker`, as systemd
    would run it ($$ is a literal $), with its paths moved under tmp_path."""
    line = next(v for v in directives(unit)[key] if marker in v)
    line = line.replace("$$", "$")
    for path in ("/var/lib/porchlight", "/run/porchlight-dnsmasq"):
        line = line.replace(path, str(tmp_path) + path)
    return shlex.split(line)


def test_dnsmasq_restarts_only_when_the_walled_garden_snippets_change(tmp_path):
    """The agent rewrites its snippet on every start and config pull, mostly with
    the same lines; a restart costs the guests DHCP and DNS for a moment."""
    record = _shell_line("porchlight-dnsmasq.service", "ExecStartPre", "sha256sum", tmp_path)
    condition = _shell_line("porchlight-dnsmasq-reload.service", "ExecCondition", "", tmp_path)
    snippets = tmp_path / "var/lib/porchlight/agent/dnsmasq.d"
    snippets.mkdir(parents=True)
    (tmp_path / "run/porchlight-dnsmasq").mkdir(parents=True)

    def restart_wanted() -> bool:
        code = subprocess.run(condition, timeout=30).returncode
        assert code in (0, 1)  # ExecCondition: 0 goes on, 1 skips (never a failure)
        return code == 0

    assert restart_wanted()  # dnsmasq never started: no record, let try-restart decide
    subprocess.run(record, check=True, timeout=30)  # dnsmasq starts with no snippet
    assert not restart_wanted()
    snippet = snippets / "walled-garden.conf"
    snippet.write_text("nftset=/zalo.me/4#inet#porchlight#walled4\n")
    assert restart_wanted()
    subprocess.run(record, check=True, timeout=30)  # restarted: reads the new lines
    snippet.write_text("nftset=/zalo.me/4#inet#porchlight#walled4\n")  # same bytes again
    assert not restart_wanted()
    (snippets / "other.conf").write_text("nftset=/example.com/4#inet#porchlight#walled4\n")
    assert restart_wanted()
