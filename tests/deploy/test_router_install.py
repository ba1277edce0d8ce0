"""deploy/install-router, upgrade-router and uninstall-router against a target
root inside a network namespace of the test's own, with the real admin for
enrollment and the real agent and portal started from the installed units'
command lines. The host's interfaces, ruleset, users and /etc are never touched."""

from __future__ import annotations

import json
import os
import shlex
import signal
import subprocess
import time
from pathlib import Path

import pytest
from deploykit import LAN_IP, REPO, tree

pytestmark = [pytest.mark.root, pytest.mark.slow]


def snapshot(netns, root: Path) -> dict:
    return {"net": netns.state(), "root": tree(root)}


def unit_argv(root: Path, unit: str, env_file: str) -> list[str]:
    """A unit's ExecStart as the installer wrote it, with its env file applied and
    the paths moved into the target root: what systemd would run."""
    text = (root / "etc/systemd/system" / unit).read_text()
    line = next(x for x in text.splitlines() if x.startswith("ExecStart="))
    env = {}
    for raw in (root / "etc/porchlight" / env_file).read_text().splitlines():
        if "=" in raw and not raw.startswith("#"):
            key, _, value = raw.partition("=")
            env[key] = value
    argv = []
    for word in shlex.split(line.removeprefix("ExecStart=")):
        if word.startswith("$") and not word.startswith("${"):
            argv += env.get(word[1:], "").split()
            continue
        for key, value in env.items():
            word = word.replace("${" + key + "}", value)
        for prefix in ("/opt/porchlight", "/var/lib/porchlight", "/run/porchlight"):
            if word.startswith(prefix):
                word = str(root) + word
        argv.append(word)
    return argv


def start_units_by_hand(netns, root: Path):
    """Start the agent and portal the way their units do (no systemd here)."""
    (root / "run/porchlight").mkdir(parents=True, exist_ok=True)
    procs = []
    for unit, env_file in (
        ("porchlight-agent.service", "agent.env"),
        ("porchlight-portal.service", "portal.env"),
    ):
        argv = unit_argv(root, unit, env_file)
        if unit.startswith("porchlight-agent"):
            argv = [a for a in argv if a not in ("--socket-group", "porchlight")]
        procs.append(
            subprocess.Popen(
                ["ip", "netns", "exec", netns.name, *argv],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,
            )
        )
    return procs


def start_dnsmasq_by_hand(netns, root: Path) -> subprocess.Popen:
    """Porchlight's dnsmasq with the installed config (paths moved into the root)."""
    text = (root / "etc/porchlight/dnsmasq.conf").read_text()
    conf = root / "etc/porchlight/dnsmasq.test.conf"
    conf.write_text(text.replace("/var/lib/porchlight", str(root / "var/lib/porchlight")))
    unit = (root / "etc/systemd/system/porchlight-dnsmasq.service").read_text()
    line = next(x for x in unit.splitlines() if x.startswith("ExecStart="))
    argv = shlex.split(line.removeprefix("ExecStart="))
    argv = [f"--conf-file={conf}" if a.startswith("--conf-file=") else a for a in argv]
    return subprocess.Popen(
        ["ip", "netns", "exec", netns.name, *argv],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def stop(procs) -> None:
    for proc in procs:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
    for proc in procs:
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


def install_killed_midway(netns, root: Path, args: list[str]) -> None:
    """Start the installer and SIGKILL it inside pip: a power cut mid-install."""
    journal = root / "var/lib/porchlight/install-journal.json"
    proc = subprocess.Popen(
        ["ip", "netns", "exec", netns.name, str(REPO / "deploy/install-router"), *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        for _ in range(1200):
            if journal.is_file() and "venvs" in journal.read_text():
                break
            time.sleep(0.05)
        else:
            pytest.fail("the installer never reached the venv step")
        time.sleep(1.0)  # inside venv/pip now
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    assert journal.is_file(), "the journal of the killed run is gone"


def test_dry_run_and_bad_input_leave_everything_as_it_was(netns, target_root):
    root = str(target_root)
    before = snapshot(netns, target_root)

    plan = netns.deploy(
        "install-router", "--root", root, "--lan", "lan0", "--no-enroll", "--dry-run"
    )
    assert plan.returncode == 0, plan.stderr
    assert "write /etc/porchlight/dnsmasq.conf" in plan.stdout
    assert "create system user porchlight" in plan.stdout
    assert "enable porchlight-agent.service" in plan.stdout

    cases = {
        ("--lan", "eth9", "--no-enroll"): "no network interface 'eth9'",
        ("--lan", "lan0p", "--no-enroll"): "has no IPv4 address",
        ("--lan", "lan0;rm", "--no-enroll"): "not a valid interface name",
        ("--lan", "lan0", "--admin-url", "http://127.0.0.1:9", "--code", "X"): (
            "cannot reach the admin"
        ),
        ("--lan", "lan0", "--no-enroll", "--min-free-mb", "100000000"): "MB free",
        ("--lan", "lan0", "--no-enroll", "--dhcp-range", "10.77.0.1,10.77.0.9"): (
            "router's own address"
        ),
        ("--lan", "lan0", "--no-enroll", "--wan", "lan0"): "must be different",
    }
    for args, message in cases.items():
        proc = netns.deploy("install-router", "--root", root, *args)
        assert proc.returncode != 0, args
        assert message in proc.stderr, (args, proc.stderr)
        assert "Traceback" not in proc.stderr
    # no terminal to ask on and no --lan: a one-line error, not a prompt
    proc = netns.exec(
        [str(REPO / "deploy/install-router"), "--root", root], stdin=subprocess.DEVNULL
    )
    assert proc.returncode == 1 and "--lan is required" in proc.stderr

    assert snapshot(netns, target_root) == before


def test_install_enroll_rerun_upgrade_rollback_uninstall(
    netns, target_root, admin, wheelhouse, broken_wheelhouse
):
    root = target_root
    url, new_code = admin
    before = snapshot(netns, root)
    common = ["--root", str(root), "--lan", "lan0", "--wheelhouse", str(wheelhouse)]

    # 1. an install killed midway, then run again: completed (half-built venv cleaned
    # away), not enrolled yet: files, venv, user, units
    install_killed_midway(netns, root, [*common, "--no-enroll"])
    proc = netns.deploy("install-router", *common, "--no-enroll")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "did not finish: completing it" in proc.stdout
    assert not (root / "var/lib/porchlight/install-journal.json").exists()
    assert len(list((root / "opt/porchlight/venvs").iterdir())) == 1
    assert "[FAIL]" not in proc.stdout
    env = (root / "etc/porchlight/agent.env").read_text()
    assert "PORCHLIGHT_LAN=lan0\n" in env and "PORCHLIGHT_PORTAL_PORT=8080\n" in env
    portal_env = (root / "etc/porchlight/portal.env").read_text()
    assert f"PORCHLIGHT_PORTAL_BIND={LAN_IP}:8080" in portal_env
    assert oct((root / "etc/porchlight/portal.env").stat().st_mode & 0o777) == "0o600"
    conf = (root / "etc/porchlight/dnsmasq.conf").read_text()
    assert "interface=lan0\n" in conf
    assert "dhcp-range=lan0,10.77.0.65,10.77.0.254,255.255.255.0,1h" in conf
    assert f'dhcp-option=lan0,114,"http://{LAN_IP}:8080/api/captive"' in conf
    for unit in ("porchlight-agent.service", "porchlight-portal.service"):
        installed = root / "etc/systemd/system" / unit
        assert installed.read_bytes() == (REPO / "systemd" / unit).read_bytes()
        assert (root / "etc/systemd/system/multi-user.target.wants" / unit).is_symlink()
    assert "\nporchlight:x:" in (root / "etc/passwd").read_text()
    assert "\nporchlight:x:" in (root / "etc/group").read_text()
    exe = root / "opt/porchlight/current/bin/porchlight"
    assert subprocess.run([exe, "--version"], capture_output=True, text=True).stdout.startswith(
        "porchlight 0.1.0"
    )
    installed = snapshot(netns, root)

    # 2. a code the admin does not know: refused, this run's changes undone
    proc = netns.deploy("install-router", *common, "--admin-url", url, "--code", "NOPE-NOPE-NOPE")
    assert proc.returncode == 1
    assert "enrollment failed" in proc.stderr and "the host is as it was" in proc.stderr
    assert snapshot(netns, root) == installed

    # 3. a code someone already used: refused with a clear message
    used = new_code()
    first = netns.exec(
        [str(exe), "agent", "enroll", url, used, "--state-dir", str(root / "elsewhere")]
    )
    assert first.returncode == 0, first.stderr
    subprocess.run(["rm", "-rf", str(root / "elsewhere")], check=True)
    proc = netns.deploy("install-router", *common, "--admin-url", url, "--code", used)
    assert proc.returncode == 1 and "enrollment failed" in proc.stderr, proc.stderr
    assert "already used" in proc.stderr or "refused" in proc.stderr
    assert snapshot(netns, root) == installed

    # 4. a good code: enrolled, token private
    proc = netns.deploy("install-router", *common, "--admin-url", url, "--code", new_code())
    assert proc.returncode == 0, proc.stdout + proc.stderr
    token = root / "var/lib/porchlight/agent/device-token"
    assert token.is_file() and oct(token.stat().st_mode & 0o777) == "0o600"
    assert "[ OK ] enrolled" in proc.stdout
    enrolled = snapshot(netns, root)

    # 5. the same command again: nothing changes (the used code is not needed any more)
    proc = netns.deploy("install-router", *common, "--admin-url", url, "--code", "USED-ALREADY")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "nothing to change" in proc.stdout
    assert snapshot(netns, root) == enrolled

    # 6. the units' command lines start the real agent and portal; status answers
    procs = [*start_units_by_hand(netns, root), start_dnsmasq_by_hand(netns, root)]
    try:
        status = None
        for _ in range(100):
            status = netns.exec(
                [str(exe), "agent", "status", "--json", "--socket"]
                + [str(root / "run/porchlight/agent.sock")]
            )
            if status.returncode == 0:
                break
            time.sleep(0.2)
        assert status is not None and status.returncode == 0, status and status.stderr
        assert json.loads(status.stdout) == [] or "clients" in json.loads(status.stdout)
        for _ in range(100):
            probe = netns.exec(
                ["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}"]
                + [f"http://{LAN_IP}:8080/generate_204"]
            )
            if probe.stdout.strip() not in ("", "000"):
                break
            time.sleep(0.2)
        assert probe.stdout.strip() not in ("", "000"), "the portal did not answer"
        assert netns.exec(["nft", "list", "table", "inet", "porchlight"]).returncode == 0
        assert procs[-1].poll() is None, "dnsmasq exited"
        listening = netns.exec(["ss", "-Hlnu"]).stdout
        assert f"{LAN_IP}:53 " in listening and ":67 " in listening, listening
    finally:
        stop(procs)
        (root / "etc/porchlight/dnsmasq.test.conf").unlink(missing_ok=True)
    state = root / "var/lib/porchlight/agent"
    kept = {p.name: p.read_bytes() for p in (token, state / "admin.json")}

    # 7. an upgrade whose new code does not start: rolled back, nothing lost
    old_current = os.readlink(root / "opt/porchlight/current")
    proc = netns.deploy(
        "upgrade-router", "--root", str(root), "--wheelhouse", str(broken_wheelhouse)
    )
    assert proc.returncode == 1
    assert "rolled back to porchlight 0.1.0" in proc.stderr, proc.stderr
    assert os.readlink(root / "opt/porchlight/current") == old_current
    assert not (root / "opt/porchlight/previous").exists()
    assert [p.name for p in (root / "opt/porchlight/venvs").iterdir()] == [
        old_current.split("/")[-1]
    ]
    assert {p.name: p.read_bytes() for p in (token, state / "admin.json")} == kept

    # 8. a good upgrade: new venv current, old one kept as previous, state untouched
    proc = netns.deploy("upgrade-router", "--root", str(root), "--wheelhouse", str(wheelhouse))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert os.readlink(root / "opt/porchlight/previous") == old_current
    assert os.readlink(root / "opt/porchlight/current") != old_current
    assert (root / "opt/porchlight/current/bin/porchlight").exists()
    assert {p.name: p.read_bytes() for p in (token, state / "admin.json")} == kept
    assert (state / "agent.db").is_file()

    # 9. uninstall: the namespace's ruleset, links, routes and the root tree as before
    proc = netns.deploy("uninstall-router", "--root", str(root))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "delete the nftables table inet porchlight" in proc.stdout
    after = snapshot(netns, root)
    assert after["net"] == before["net"]
    assert after["root"] == before["root"]
    assert "table inet hostfw" in after["net"]["nft"]
    proc = netns.deploy("uninstall-router", "--root", str(root))
    assert proc.returncode == 0 and "Nothing to remove" in proc.stdout


def test_killed_install_rolls_back_to_the_host_as_it_was(netns, target_root, wheelhouse):
    root = target_root
    before = snapshot(netns, root)
    args = ["--root", str(root), "--lan", "lan0", "--no-enroll", "--wheelhouse", str(wheelhouse)]
    install_killed_midway(netns, root, args)
    assert (root / "etc/porchlight").is_dir() or (root / "opt/porchlight").is_dir()
    proc = netns.deploy("install-router", "--root", str(root), "--rollback")
    assert proc.returncode == 0, proc.stderr
    assert "Rolled back" in proc.stdout
    assert snapshot(netns, root) == before
