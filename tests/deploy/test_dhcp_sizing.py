"""The installer's DHCP sized to the venue (issue 18): no ping check, as many
leases as the range holds, lease time and DNS limits from --guests, and a clear
error (naming the prefix to use) when the LAN is too small for the guests."""

from __future__ import annotations

import ipaddress
import shutil
import subprocess

import pytest
from porchlight_deploy.__main__ import build_parser
from porchlight_deploy.host import DeployError
from porchlight_deploy.router_config import Lan, check_guests, default_range, dnsmasq_conf


def lan(cidr: str, guests: int | None = None) -> Lan:
    address = ipaddress.IPv4Interface(cidr)
    first, last = default_range(address)
    return Lan("br-lan", address, first, last, guests)


def settings(text: str) -> dict[str, str]:
    return {k: v for k, _, v in (line.partition("=") for line in text.splitlines())}


def test_dnsmasq_offers_without_ping_and_holds_the_whole_range():
    conf = dnsmasq_conf(lan("10.0.0.1/24"))
    assert "\nno-ping\n" in conf
    assert settings(conf)["dhcp-lease-max"] == "190"  # 10.0.0.64-10.0.0.253
    assert settings(conf)["dhcp-range"].endswith(",255.255.255.0,1h")


def test_a_stadium_on_a_slash_16_gets_every_lease_past_dnsmasqs_1000():
    conf = settings(dnsmasq_conf(lan("10.0.0.1/16", guests=10_000)))
    assert conf["dhcp-range"] == "br-lan,10.0.64.1,10.0.255.254,255.255.0.0,4h"
    assert conf["dhcp-lease-max"] == "49150"
    assert conf["dns-forward-max"] == "5000" and conf["cache-size"] == "10000"


@pytest.mark.parametrize(
    ("cidr", "guests", "lease"),
    [("10.0.0.1/22", 100, "4h"), ("10.0.0.1/22", 300, "1h"), ("10.0.0.1/22", 600, "20m")],
)
def test_lease_time_follows_the_room_the_range_leaves(cidr, guests, lease):
    assert settings(dnsmasq_conf(lan(cidr, guests)))["dhcp-range"].endswith(f",{lease}")


def test_too_many_guests_for_the_lan_names_the_prefix_to_use():
    with pytest.raises(DeployError) as caught:
        check_guests(lan("10.0.0.1/24", guests=1000))
    assert "holds 190 addresses; 1,000 guests need 1,250" in str(caught.value)
    assert "/21 or larger" in (caught.value.hint or "")
    check_guests(lan("10.0.0.1/21", guests=1000))  # and that prefix is enough


@pytest.mark.parametrize("guests", [0, -5, 70_000])
def test_guests_out_of_bounds_are_refused(guests):
    with pytest.raises(DeployError, match="--guests must be between"):
        check_guests(lan("10.0.0.1/16", guests))


def test_install_takes_guests():
    args = build_parser().parse_args(["install", "--lan", "br-lan", "--guests", "3000"])
    assert args.guests == 3000


@pytest.mark.skipif(shutil.which("dnsmasq") is None, reason="needs dnsmasq")
def test_dnsmasq_accepts_the_stadium_config(tmp_path):
    text = dnsmasq_conf(lan("10.0.0.1/20", guests=3000))
    text = text.replace("/var/lib/porchlight/agent/dnsmasq.d", str(tmp_path))
    text = text.replace("/var/lib/porchlight/dnsmasq", str(tmp_path))
    conf = tmp_path / "dnsmasq.conf"
    conf.write_text(text)
    proc = subprocess.run(
        ["dnsmasq", "--test", f"--conf-file={conf}"], capture_output=True, text=True, timeout=30
    )
    assert proc.returncode == 0, proc.stderr


def test_metrics_port_gives_the_agent_loopback_metrics_it_understands():
    from porchlight_deploy.router_config import LEASE_FILE, agent_env, env_value

    from porchlight.cli import build_parser as agent_parser

    extra = env_value(agent_env(lan("10.0.0.1/22"), metrics_port=9101), "PORCHLIGHT_AGENT_EXTRA")
    assert extra == (
        f"--metrics 127.0.0.1:9101 --dhcp-leases {LEASE_FILE} --dhcp-range 10.0.1.1,10.0.3.254"
    )
    argv = ["agent", "run", "--lan", "br-lan", "--state-dir", "/tmp/x", *extra.split()]
    args = agent_parser().parse_args(argv)
    assert (args.metrics, args.dhcp_leases) == ("127.0.0.1:9101", LEASE_FILE)
    assert env_value(agent_env(lan("10.0.0.1/22")), "PORCHLIGHT_AGENT_EXTRA") is None
    parsed = build_parser().parse_args(["install", "--lan", "br-lan", "--metrics-port", "9101"])
    assert parsed.metrics_port == 9101


def test_a_stadium_gets_neighbour_tables_that_hold_every_guest():
    """The kernel keeps 1,024 ARP entries by default: at 10,000 guests new phones would
    meet "neighbour table overflow" and lose the gate; the installer sizes them."""
    from porchlight_deploy.router_config import neighbour_sysctl

    assert neighbour_sysctl(lan("10.0.0.1/24")) is None  # no --guests: the defaults
    assert neighbour_sysctl(lan("10.0.0.1/24", guests=150)) is None  # they hold 150
    conf = settings(neighbour_sysctl(lan("10.0.0.1/16", guests=10_000)) or "")
    for family in ("ipv4", "ipv6"):
        assert conf[f"net.{family}.neigh.default.gc_thresh1"] == "10000"
        assert conf[f"net.{family}.neigh.default.gc_thresh2"] == "20000"
        assert conf[f"net.{family}.neigh.default.gc_thresh3"] == "40000"
    small = settings(neighbour_sysctl(lan("10.0.0.1/22", guests=300)) or "")
    assert small["net.ipv4.neigh.default.gc_thresh1"] == "300"
    assert small["net.ipv4.neigh.default.gc_thresh3"] == "1200"
    assert small["net.ipv6.neigh.default.gc_thresh2"] == "600"


def test_the_installer_writes_the_neighbour_sizes_and_uninstall_plans_their_removal(tmp_path):
    from porchlight_deploy import forwarding
    from porchlight_deploy.host import Host
    from porchlight_deploy.journal import Journal
    from porchlight_deploy.remove import plan_removal
    from porchlight_deploy.router_config import neighbour_sysctl

    host = Host(tmp_path)
    forwarding.enable(host, Journal(host), neighbour_sysctl(lan("10.0.0.1/16", guests=10_000)))
    written = (tmp_path / forwarding.NEIGH_FILE.lstrip("/")).read_text()
    assert "net.ipv4.neigh.default.gc_thresh3=40000\n" in written
    plan = [words for words, _, _ in plan_removal(host, keep_data=False, keep_packages=True)]
    assert f"delete {forwarding.NEIGH_FILE}" in plan
    assert f"delete {forwarding.SYSCTL_FILE}" in plan
