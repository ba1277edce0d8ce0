"""The lab's own infrastructure, without the other parts (`lab up --network-only`):
namespaces, bridge and veths, DHCP with option 114 to busybox udhcpc, DNS, the
internet host through NAT, status, and `down` leaving nothing behind — also
after an `up` that crashed halfway."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from labkit import in_netns, namespaces, porchlight

from porchlight.lab import dnsmasq_conf, guest_dhcp, up
from porchlight.lab.down import down
from porchlight.lab.state import LabState, load, new_prefix

pytestmark = pytest.mark.root


def _gone(pid: int | None) -> bool:
    return (
        pid is None
        or not Path(f"/proc/{pid}").exists()
        or (Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z")
    )


def test_network_only_lab_serves_dhcp_dns_and_internet_then_goes_away(state_dir):
    done = porchlight("lab", "up", "--network-only", "--guests", "2", "--state-dir", str(state_dir))
    assert done.returncode == 0, done.stderr
    assert "ip netns exec" in done.stdout and "busybox udhcpc" in done.stdout
    state = load(str(state_dir))
    assert state is not None and state.complete
    router, internet = state.info["router_netns"], state.info["internet_netns"]
    guests = [g["netns"] for g in state.info["guests"]]
    assert len(guests) == 2
    assert set(state.namespaces) <= namespaces()

    # Nothing of the lab on the host: its links live only in its namespaces.
    host_links = in_netns_host_links()
    assert "br-lan" not in host_links and "wan0" not in host_links

    # DHCP: each guest gets an address in the LAN and the RFC 8910 option 114.
    addresses = set()
    # Guest 2 as a person would: DHCP, then DNS and HTTP in the same shell in the
    # namespace (whose resolv.conf was bind-mounted before the lease came).
    inner = guest_dhcp.udhcpc_argv(state_dir, guests[1])[4:]  # without "ip netns exec NS"
    same_shell = in_netns(
        guests[1],
        "sh",
        "-c",
        " ".join(inner) + " >/dev/null 2>&1 && curl -sS -m 5 http://internet.test/",
    )
    assert "Porchlight lab internet host" in same_shell.stdout, same_shell.stderr
    for guest in guests:
        if guest == guests[0]:
            lease = guest_dhcp.request_lease(state_dir, guest)
        else:
            lease = guest_dhcp.read_lease(state_dir, guest)
        assert lease["ip"].startswith("10.77.0."), lease
        assert lease["router"] == "10.77.0.1"
        assert guest_dhcp.option_114(lease) == dnsmasq_conf.captive_api_url()
        addresses.add(lease["ip"])
        route = in_netns(guest, "ip", "route", "show", "default").stdout
        assert "via 10.77.0.1" in route
    assert len(addresses) == 2

    guest = guests[0]
    # DNS: detection hostnames and internet.test resolve to the internet host.
    for name in ("captive.apple.com", "connectivitycheck.gstatic.com", "internet.test"):
        answer = in_netns(guest, "busybox", "nslookup", name, "10.77.0.1")
        assert "198.51.100.10" in answer.stdout, answer.stdout + answer.stderr

    # HTTP through the router's NAT reaches the internet host, which sees the WAN address.
    page = in_netns(guest, "curl", "-sS", "-m", "5", "http://internet.test/")
    assert page.returncode == 0, page.stderr
    assert "Porchlight lab internet host" in page.stdout
    apple = in_netns(
        guest, "curl", "-sS", "-m", "5", "http://captive.apple.com/hotspot-detect.html"
    )
    assert "<BODY>Success</BODY>" in apple.stdout
    internet_log = Path(state_dir, "logs", "internet.log").read_text()
    assert '198.51.100.1 "GET / HTTP/1.1" 200' in internet_log  # masqueraded source
    nat = in_netns(router, "nft", "list", "table", "ip", "porchlight_lab_nat").stdout
    assert "masquerade" in nat

    status = porchlight("lab", "status", "--json", "--state-dir", str(state_dir))
    assert status.returncode == 0, status.stderr
    shown = json.loads(status.stdout)
    assert {p["name"]: p["alive"] for p in shown["processes"]} == {
        "internet": True,
        "internet-dns": True,
        "dnsmasq": True,
    }

    # Up twice: one line, non-zero, nothing new made.
    again = porchlight("lab", "up", "--network-only", "--state-dir", str(state_dir))
    assert again.returncode == 1
    assert again.stderr.count("\n") == 1 and "already up" in again.stderr
    assert "Traceback" not in again.stderr

    pids = [p["pid"] for p in shown["processes"]]
    gone = porchlight("lab", "down", "--state-dir", str(state_dir))
    assert gone.returncode == 0, gone.stderr
    assert not set(state.namespaces) & namespaces()
    assert all(_gone(pid) for pid in pids)
    assert not state_dir.exists()
    assert not Path("/etc/netns", guest).exists()
    assert router and internet


def in_netns_host_links() -> str:

    return subprocess.run(["ip", "-br", "link"], capture_output=True, text=True, check=True).stdout


def test_down_cleans_up_after_up_crashed_halfway(state_dir, monkeypatch):
    def crash(**kwargs):
        raise RuntimeError("simulated crash")  # an unexpected bug halfway through

    monkeypatch.setattr(dnsmasq_conf, "render", crash)
    with pytest.raises(RuntimeError):
        up.up(up.UpOptions(state_dir=str(state_dir), network_only=True), say=lambda _: None)
    state = load(str(state_dir))
    assert state is not None and not state.complete
    assert state.step == "start internet" or state.step.startswith("start ")
    internet = state.process("internet")
    assert internet is not None and internet.alive()
    assert set(state.namespaces) <= namespaces() and len(state.namespaces) == 3

    half = porchlight("lab", "status", "--state-dir", str(state_dir))
    assert half.returncode == 3 and "HALF MADE" in half.stdout

    down(str(state_dir))
    assert not set(state.namespaces) & namespaces()
    assert _gone(internet.pid)
    assert not state_dir.exists()


def test_down_finishes_a_lab_whose_namespace_was_recorded_but_never_made(state_dir):
    state_dir.mkdir()
    state_dir.chmod(0o711)
    prefix = new_prefix()
    state = LabState(state_dir=str(state_dir), prefix=prefix)
    state.add_namespace(f"{prefix}-router")  # crash between recording and `ip netns add`
    state.add_path(state_dir / "logs")
    assert porchlight("lab", "down", "--state-dir", str(state_dir)).returncode == 0
    assert load(str(state_dir)) is None


@pytest.mark.parametrize("binary", ["dnsmasq", "nft"])
def test_missing_binary_is_one_line_saying_what_to_do(tmp_path, binary):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("ip", "nft", "dnsmasq", "busybox", "setpriv"):
        if tool != binary:
            os.symlink(shutil.which(tool), bin_dir / tool)
    env = {**os.environ, "PATH": str(bin_dir)}
    done = porchlight("lab", "up", "--state-dir", str(tmp_path / "state"), env=env)
    assert done.returncode == 1
    assert done.stderr.count("\n") == 1
    assert f"{binary} is not installed" in done.stderr and "scripts/setup" in done.stderr
    assert not (tmp_path / "state").exists()


def test_down_cleans_up_after_up_was_killed(state_dir):
    """SIGKILL `lab up` while it waits for the internet host; `down` undoes it all."""

    child = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "porchlight.cli",
            "lab",
            "up",
            "--network-only",
            "--state-dir",
            str(state_dir),
        ],  # fmt: skip
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    try:
        while time.monotonic() < deadline:
            state = load(str(state_dir)) if (state_dir / "lab.json").exists() else None
            if state is not None and state.step == "start internet" and state.processes:
                if state.processes[0].pid is not None:
                    break
            assert child.poll() is None, "lab up ended before it could be killed"
            time.sleep(0.01)
        else:
            raise AssertionError("lab up never reached 'start internet'")
        child.send_signal(signal.SIGKILL)
    finally:
        child.kill()
        child.wait()
    state = load(str(state_dir))
    assert state is not None and not state.complete
    internet = state.process("internet")
    assert internet is not None and internet.alive()
    made = set(state.namespaces)
    assert made and made <= namespaces()

    gone = porchlight("lab", "down", "--state-dir", str(state_dir))
    assert gone.returncode == 0, gone.stderr
    assert not made & namespaces()
    assert _gone(internet.pid)
    assert not state_dir.exists()


WALLED = """\
table inet porchlight {
    set walled4 {
        type ipv4_addr
        flags interval,timeout
    }
}
"""


def test_walled_garden_snippet_restarts_dnsmasq_which_fills_the_set(state_dir):
    """The agent's nftset= snippet (here written by hand, as the agent would) makes
    the lab's dnsmasq restart and put the names it resolves into walled4."""
    done = porchlight("lab", "up", "--network-only", "--state-dir", str(state_dir))
    assert done.returncode == 0, done.stderr
    state = load(str(state_dir))
    assert state is not None
    router, guest = state.info["router_netns"], state.info["guests"][0]["netns"]
    guest_dhcp.request_lease(state_dir, guest)
    table = in_netns(router, "nft", "-f", "-", input_text=WALLED)
    assert table.returncode == 0, table.stderr
    conf_dir = Path(state.info["agent_state_dir"]) / "dnsmasq.d"
    (conf_dir / "walled-garden.conf").write_text(
        "nftset=/internet.test/4#inet#porchlight#walled4\n"
    )
    deadline = time.monotonic() + 15
    elements = ""
    while time.monotonic() < deadline:
        in_netns(guest, "busybox", "nslookup", "internet.test", "10.77.0.1")
        elements = in_netns(router, "nft", "list", "set", "inet", "porchlight", "walled4").stdout
        if "198.51.100.10" in elements:
            break
        time.sleep(0.5)
    assert "198.51.100.10" in elements
    log = Path(state_dir, "logs", "dnsmasq.log").read_text()
    assert "restarting dnsmasq" in log
    record = state.process("dnsmasq")
    assert record is not None and record.alive()


def test_parts_not_landed_yet_are_skipped_with_a_clear_line(state_dir, monkeypatch):
    monkeypatch.setattr(
        up.parts, "available_commands", lambda: {"agent": set(), "portal": set(), "admin": set()}
    )
    said: list[str] = []
    options = up.UpOptions(state_dir=str(state_dir), admin_port=0)  # no admin to start
    state = up.up(options, say=said.append)
    assert state.complete
    skipped = [line for line in said if "not available yet" in line]
    assert [line.split(":")[0] for line in skipped] == ["==> admin", "==> agent", "==> portal"]
    assert {p.name for p in state.processes} == {"internet", "internet-dns", "dnsmasq"}
    assert any("portal (not available yet)" in s for s in state.info["skipped"])
    down(str(state_dir))
    assert not state_dir.exists()
