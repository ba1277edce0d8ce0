"""The lab's network: namespaces, veth links, the LAN bridge, NAT on the WAN.

    guest1 ns         router ns                          internet ns
    eth0 ──veth── lan1 ┐
    guest2 ns          ├ br-lan 10.77.0.1/24   wan0 198.51.100.1 ──veth── eth0 198.51.100.10
    eth0 ──veth── lan2 ┘   (dnsmasq, agent,    (masquerade)               (HTTP server)
                            portal)

Every link is created with `ip -n NS` directly inside the namespaces it joins:
no interface, route or ruleset of the host is ever touched.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import signal
from dataclasses import dataclass
from pathlib import Path

from porchlight.lab.commands import LabError, in_netns, run
from porchlight.lab.state import LabState

log = logging.getLogger(__name__)

LAN_BRIDGE = "br-lan"
LAN_PREFIX = 24  # the default; `lab up --lan-prefix 22` makes a stadium's /22
LAN_PREFIXES = range(16, 25)
ROUTER_LAN_IP = "10.77.0.1"
DHCP_FIRST_HOST = 100  # 10.77.0.100: below it, addresses for the router and static hosts
WAN_IFACE = "wan0"
ROUTER_WAN_IP = "198.51.100.1"
INTERNET_IP = "198.51.100.10"  # TEST-NET-2: documentation addresses, never routed
WAN_PREFIX = 24
GUEST_IFACE = "eth0"
NAT_TABLE = "porchlight_lab_nat"
NETNS_ETC = Path("/etc/netns")


@dataclass(frozen=True)
class Names:
    prefix: str

    @property
    def router(self) -> str:
        return f"{self.prefix}-router"

    @property
    def internet(self) -> str:
        return f"{self.prefix}-internet"

    def guest(self, index: int) -> str:
        return f"{self.prefix}-guest{index}"

    @staticmethod
    def guest_port(index: int) -> str:
        return f"lan{index}"


def existing_namespaces() -> set[str]:
    out = run(["ip", "netns", "list"])
    return {line.split()[0] for line in out.splitlines() if line.strip()}


def _add_namespace(state: LabState, name: str) -> None:
    state.add_namespace(name)  # recorded first: a crash right after still gets cleaned up
    run(["ip", "netns", "add", name])
    run(["ip", "-n", name, "link", "set", "lo", "up"])


def _netns_etc(state: LabState, netns: str) -> None:
    """/etc/netns/NS/resolv.conf: `ip netns exec` mounts it over /etc/resolv.conf."""
    if not NETNS_ETC.exists():
        state.add_path(NETNS_ETC)  # removed by `down` only if no other lab uses it then
    directory = state.add_path(NETNS_ETC / netns)
    directory.mkdir(mode=0o755, parents=True, exist_ok=True)
    (directory / "resolv.conf").write_text("# filled by the lab's DHCP hook\n", encoding="utf-8")


NAT_RULESET = f"""\
table ip {NAT_TABLE} {{
    chain postrouting {{
        type nat hook postrouting priority srcnat; policy accept;
        oifname "{WAN_IFACE}" masquerade
    }}
}}
"""


def dhcp_range(prefix: int = LAN_PREFIX) -> tuple[str, str]:
    """The guests' DHCP range in the LAN of `prefix`: from .100 to the last host.

    A /24 holds 155 leases, a /22 923, a /16 65,435."""
    if prefix not in LAN_PREFIXES:
        raise LabError(f"--lan-prefix must be between {LAN_PREFIXES[0]} and {LAN_PREFIXES[-1]}")
    network = ipaddress.IPv4Interface(f"{ROUTER_LAN_IP}/{prefix}").network
    return str(network[DHCP_FIRST_HOST]), str(network[-2])


def dhcp_range_size(prefix: int = LAN_PREFIX) -> int:
    first, last = dhcp_range(prefix)
    return int(ipaddress.IPv4Address(last)) - int(ipaddress.IPv4Address(first)) + 1


def build(state: LabState, guests: int, lan_prefix: int = LAN_PREFIX) -> None:
    """Create the namespaces and links; the router forwards and masquerades."""
    names = Names(state.prefix)
    taken = existing_namespaces()
    wanted = [names.router, names.internet, *(names.guest(i) for i in range(1, guests + 1))]
    clash = [n for n in wanted if n in taken]
    if clash:
        raise LabError(
            f"namespace {clash[0]} exists already", hint="pick another --state-dir or remove it"
        )

    state.begin("namespaces")
    for name in wanted:
        _add_namespace(state, name)
    router, internet = names.router, names.internet

    state.begin("wan link")
    run(
        [
            "ip",
            "-n",
            router,
            "link",
            "add",
            WAN_IFACE,
            "type",
            "veth",
            "peer",
            "name",
            "eth0",
            "netns",
            internet,
        ]
    )
    run(["ip", "-n", router, "addr", "add", f"{ROUTER_WAN_IP}/{WAN_PREFIX}", "dev", WAN_IFACE])
    run(["ip", "-n", internet, "addr", "add", f"{INTERNET_IP}/{WAN_PREFIX}", "dev", "eth0"])
    run(["ip", "-n", router, "link", "set", WAN_IFACE, "up"])
    run(["ip", "-n", internet, "link", "set", "eth0", "up"])
    run(["ip", "-n", router, "route", "add", "default", "via", INTERNET_IP])

    state.begin("lan bridge")
    run(["ip", "-n", router, "link", "add", LAN_BRIDGE, "type", "bridge"])
    run(["ip", "-n", router, "addr", "add", f"{ROUTER_LAN_IP}/{lan_prefix}", "dev", LAN_BRIDGE])
    run(["ip", "-n", router, "link", "set", LAN_BRIDGE, "up"])
    for index in range(1, guests + 1):
        guest, port = names.guest(index), names.guest_port(index)
        run(
            [
                "ip",
                "-n",
                router,
                "link",
                "add",
                port,
                "type",
                "veth",
                "peer",
                "name",
                GUEST_IFACE,
                "netns",
                guest,
            ]
        )
        run(["ip", "-n", router, "link", "set", port, "master", LAN_BRIDGE])
        run(["ip", "-n", router, "link", "set", port, "up"])
        run(["ip", "-n", guest, "link", "set", GUEST_IFACE, "up"])
        _netns_etc(state, guest)

    state.begin("forwarding and NAT")
    run(in_netns(router, ["busybox", "sysctl", "-w", "net.ipv4.ip_forward=1"]))
    run(in_netns(router, ["nft", "-f", "-"]), input_text=NAT_RULESET)


def guest_mac(netns: str) -> str:
    """The MAC address of a guest's eth0."""
    out = run(["ip", "-n", netns, "-br", "link", "show", "dev", GUEST_IFACE])
    return out.split()[2].lower()


def remove_namespace(name: str) -> None:
    """Kill what still runs in `name` (only the lab's own processes live there), delete it."""
    if name not in existing_namespaces():
        return
    for pid_text in run(["ip", "netns", "pids", name]).split():
        try:
            os.kill(int(pid_text), signal.SIGKILL)
        except ProcessLookupError:
            pass
    run(["ip", "netns", "del", name])
