"""DHCP that scales with the venue in the lab (issue 18): dnsmasq's config is
sized to the LAN (no ping check, lease limit = range, a /22 on request), and
30 phones joining at once all get a lease within a few seconds (with dnsmasq's
ping check they waited 18-38 s)."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest
from labkit import is_root, porchlight

from porchlight.lab import dnsmasq_conf, guest_dhcp, topology
from porchlight.lab.commands import LabError
from porchlight.lab.state import load


def _conf(prefix: int) -> dict[str, str]:
    text = dnsmasq_conf.render(
        lease_file=Path("/l"),
        pid_file=Path("/p"),
        conf_dir=Path("/c"),
        api_url="http://x/",
        lan_prefix=prefix,
    )
    return dict(line.partition("=")[::2] for line in text.splitlines() if "=" in line) | {
        line: "" for line in text.splitlines() if "=" not in line
    }


def test_lab_dnsmasq_offers_without_ping_and_limits_leases_to_the_range():
    conf = _conf(24)
    assert "no-ping" in conf
    assert conf["dhcp-range"] == "10.77.0.100,10.77.0.254,255.255.255.0,1h"
    assert conf["dhcp-lease-max"] == "155"


def test_lab_lan_prefix_22_gives_a_stadium_range():
    conf = _conf(22)
    assert conf["dhcp-range"] == "10.77.0.100,10.77.3.254,255.255.252.0,1h"
    assert conf["dhcp-lease-max"] == str(topology.dhcp_range_size(22)) == "923"
    assert int(conf["dns-forward-max"]) >= 923
    assert topology.dhcp_range_size(16) == 65435


@pytest.mark.parametrize("prefix", [15, 25, 30])
def test_lab_refuses_a_lan_prefix_outside_16_to_24(prefix):
    with pytest.raises(LabError, match="--lan-prefix"):
        topology.dhcp_range(prefix)


PHONES = 30


@pytest.mark.root
@pytest.mark.skipif(not is_root(), reason="needs root (network namespaces)")
def test_thirty_phones_joining_at_once_all_get_a_lease_within_seconds(state_dir):
    done = porchlight(
        "lab",
        "up",
        "--network-only",
        "--guests",
        str(PHONES),
        "--lan-prefix",
        "22",
        "--state-dir",
        str(state_dir),
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    state = load(str(state_dir))
    assert state is not None and state.info["dhcp_range"] == ["10.77.0.100", "10.77.3.254"]
    guests = [g["netns"] for g in state.info["guests"]]
    started = time.monotonic()
    phones = [
        subprocess.Popen(
            guest_dhcp.udhcpc_argv(state_dir, netns),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for netns in guests
    ]
    waits = []
    for phone in phones:
        assert phone.wait(timeout=60) == 0
        waits.append(time.monotonic() - started)
    leases = [guest_dhcp.read_lease(state_dir, netns) for netns in guests]
    addresses = {lease["ip"] for lease in leases}
    assert len(addresses) == PHONES
    assert all(lease["mask"] == "22" for lease in leases)
    print(f"{PHONES} phones: last lease after {max(waits):.2f} s")
    assert max(waits) < 5, f"the last of {PHONES} phones waited {max(waits):.1f} s for a lease"
