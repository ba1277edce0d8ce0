"""The `inet porchlight` nftables ruleset, as text for `nft -f`.

Pre-auth (a LAN MAC in none of `allowed`/`trusted`): DHCP and DNS to the router
pass, IPv4 tcp/80 to anywhere is redirected to the portal port, tcp/443 (v4
and v6) gets a TCP reset, everything else forwarded is dropped — IPv6 included,
so it is never a bypass. `walled4/6` (filled by dnsmasq `nftset=`) and
`cidr4/6` (walled-garden CIDRs from the config) are reachable before login.
DNS before login is limited per MAC in the kernel (`dns_rate`: a few queries a
second after a small burst, and short queries only), so it is no tunnel and one
noisy phone cannot stall the resolver for the others.

After login, IPv4 passes only for the session's MAC *and* address together
(`bound4`, `ether_addr . ipv4_addr`): a device that clones a MAC but keeps its
own address gets nothing. The router itself answers guests (pending or logged
in) only for DHCP, DNS, the portal ports, ICMP echo and the ports a location
opens; guests do not reach each other (client isolation, on by default: the
forward chain drops LAN-to-LAN routing, and `isolation.py` marks the LAN
bridge's ports isolated so frames between them are not bridged either).

One rule per purpose, never one per client: clients are set elements. `allowed`
elements carry a kernel timeout (the session's remaining time) and a counter
(upload bytes and packets, the idle signal); `rx4` holds the session's IPv4
address with a counter for download bytes.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

TABLE = "porchlight"
FAMILY = "inet"

# set name -> declaration body
SETS: dict[str, str] = {
    "allowed": "type ether_addr; flags timeout; counter;",
    "trusted": "type ether_addr; counter;",
    "blocked": "type ether_addr;",
    "walled4": "type ipv4_addr; flags interval,timeout;",
    "walled6": "type ipv6_addr; flags interval,timeout;",
    "cidr4": "type ipv4_addr; flags interval;",
    "cidr6": "type ipv6_addr; flags interval;",
    "rx4": "type ipv4_addr; flags timeout; counter;",
    "bound4": "type ether_addr . ipv4_addr; flags timeout;",
    "dns_rate": "type ether_addr; size 65535; flags dynamic,timeout; timeout 60s;",
}
# sets whose contents the agent owns and reconciles (walled4/6 belong to dnsmasq)
MANAGED_SETS = ("allowed", "trusted", "blocked", "cidr4", "cidr6", "rx4", "bound4")
TIMEOUT_SETS = frozenset({"allowed", "rx4", "bound4"})

# DNS before login, per MAC: queries a second after a burst, and the longest query
# (a DNS payload of 160 bytes holds a ~120-character name, more than any phone's
# detection or push host); a tunnel moves at most ~(20 + 3 x 10) x 160 B = 8 KB in 10 s
DNS_RATE_PER_SECOND = 3
DNS_BURST = 20
DNS_MAX_UDP_LENGTH = 8 + 160
DNS_MAX_TCP_PACKET = 40 + 60 + 2 + 160

_IFACE = re.compile(r"^[A-Za-z0-9_.@-]{1,15}$")

# element -> timeout in seconds (None for sets without timeouts)
Elements = Mapping[str, int | None]


@dataclass(frozen=True)
class GateSpec:
    """What shapes the rules (not the elements)."""

    lan: str
    portal_port: int = 8080
    wan: str | None = None
    bandwidth_kbps: int | None = None
    # the portal's HTTPS port (RFC 8908 API under the venue's name), reachable before login
    portal_tls_port: int | None = None
    # router ports a location opens to its guests (beyond DHCP, DNS, portal, ICMP echo)
    router_tcp_ports: tuple[int, ...] = ()
    router_udp_ports: tuple[int, ...] = ()
    # guests cannot reach each other (off for venues that want casting)
    client_isolation: bool = True

    def __post_init__(self) -> None:
        for name in (self.lan, self.wan):
            if name is not None and not _IFACE.match(name):
                raise ValueError(f"interface name {name!r} is not valid")
        for port in (self.portal_port, self.portal_tls_port):
            if port is not None and not 1 <= port <= 65535:
                raise ValueError("portal port must be 1-65535")
        for port in (*self.router_tcp_ports, *self.router_udp_ports):
            if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
                raise ValueError("router ports must be 1-65535")
        if self.bandwidth_kbps is not None and self.bandwidth_kbps <= 0:
            raise ValueError("bandwidth_kbps must be positive")


@dataclass
class Ruleset:
    chains: dict[str, tuple[str, list[str]]] = field(default_factory=dict)  # name -> (hook, rules)
    sets: dict[str, str] = field(default_factory=dict)

    def rule_counts(self) -> dict[str, int]:
        return {name: len(rules) for name, (_hook, rules) in self.chains.items()}

    def intact(self, counts: dict[str, int]) -> bool:
        """Whether the kernel's {chain: rules} (chains with rules) is this ruleset's."""
        held = {name: n for name, n in counts.items() if n}
        return held == {name: n for name, n in self.rule_counts().items() if n}


def _ports(ports: Iterable[int]) -> str:
    return ", ".join(str(p) for p in sorted(set(ports)))


def _router_chains(spec: GateSpec) -> dict[str, tuple[str, list[str]]]:
    """What a guest may reach on the router itself, pending or logged in."""
    portal_ports = {spec.portal_port, spec.portal_tls_port or spec.portal_port}
    opened = [f"tcp dport {{ {_ports({*portal_ports, *spec.router_tcp_ports})} }} accept"]
    if spec.router_udp_ports:
        opened.append(f"udp dport {{ {_ports(spec.router_udp_ports)} }} accept")
    return {
        "router_input": (
            "type filter hook input priority filter; policy accept;",
            [f'iifname "{spec.lan}" jump guest_input'],
        ),
        "guest_input": (
            "",
            [
                "ether saddr @blocked drop",
                "meta l4proto { tcp, udp } th dport 53 jump guest_dns",
                "ct state established,related accept",
                "icmp type echo-request accept",
                "meta l4proto ipv6-icmp accept",  # neighbour discovery and echo
                "udp dport { 67, 547 } accept",
                *opened,
                "ether saddr @trusted accept",
                "drop",
            ],
        ),
        "guest_dns": (
            "",
            [
                "ether saddr @trusted accept",
                "ether saddr @allowed accept",
                f"meta l4proto udp udp length > {DNS_MAX_UDP_LENGTH} drop",
                f"meta l4proto tcp meta length > {DNS_MAX_TCP_PACKET} drop",
                f"add @dns_rate {{ ether saddr limit rate over {DNS_RATE_PER_SECOND}/second "
                f"burst {DNS_BURST} packets }} drop",
                "accept",
            ],
        ),
    }


def build(spec: GateSpec) -> Ruleset:
    lan = f'"{spec.lan}"'
    port = spec.portal_port
    sets = dict(SETS)
    up_limit: list[str] = []
    down_limit: list[str] = []
    if spec.bandwidth_kbps:
        kbytes = max(1, spec.bandwidth_kbps // 8)
        sets["bw_up"] = "type ether_addr; size 65535; flags dynamic,timeout; timeout 60s;"
        sets["bw_down"] = "type ipv4_addr; size 65535; flags dynamic,timeout; timeout 60s;"
        up_limit = [
            f"ether saddr @allowed add @bw_up {{ ether saddr limit rate over "
            f"{kbytes} kbytes/second burst {kbytes} kbytes }} drop"
        ]
        down_limit = [
            f"ip daddr @rx4 add @bw_down {{ ip daddr limit rate over "
            f"{kbytes} kbytes/second burst {kbytes} kbytes }} drop"
        ]
    isolate = [f"oifname {lan} drop"] if spec.client_isolation else []
    chains: dict[str, tuple[str, list[str]]] = {
        "pre_nat": (
            "type nat hook prerouting priority dstnat; policy accept;",
            [f"iifname {lan} meta nfproto ipv4 tcp dport 80 jump guest_redirect"],
        ),
        "guest_redirect": (
            "",
            [
                "ether saddr . ip saddr @bound4 return",
                "ether saddr @trusted return",
                "ether saddr @blocked return",
                "fib daddr type local return",
                "ip daddr @walled4 return",
                "ip daddr @cidr4 return",
                f"meta nfproto ipv4 tcp dport 80 redirect to :{port}",
            ],
        ),
        **_router_chains(spec),
        "forward": (
            "type filter hook forward priority filter; policy accept;",
            [f"iifname {lan} jump guest_out", f"oifname {lan} jump guest_in"],
        ),
        "guest_out": (
            "",
            [
                "ether saddr @blocked drop",
                *isolate,
                "ether saddr @trusted accept",
                *up_limit,
                # IPv4 only for the session's MAC and address together; IPv6 by MAC
                "meta nfproto ipv4 ether saddr @allowed ether saddr . ip saddr @bound4 accept",
                "meta nfproto ipv6 ether saddr @allowed accept",
                "ip daddr @walled4 accept",
                "ip daddr @cidr4 accept",
                "ip6 daddr @walled6 accept",
                "ip6 daddr @cidr6 accept",
                "tcp dport 443 reject with tcp reset",
                "drop",
            ],
        ),
        "guest_in": ("", [*down_limit, "ip daddr @rx4 accept"]),
    }
    if spec.wan:
        chains["post_nat"] = (
            "type nat hook postrouting priority srcnat; policy accept;",
            [f'iifname {lan} oifname "{spec.wan}" masquerade'],
        )
    return Ruleset(chains=chains, sets=sets)


def bound_key(mac: str, ip: str) -> str:
    """The `bound4` element for a session: its MAC and IPv4 address together."""
    return f"{mac} . {ip}"


def element_text(name: str, element: str, timeout: int | None) -> str:
    if name in TIMEOUT_SETS:
        return f"{element} timeout {max(1, int(timeout or 1))}s"
    return element


def element_lines(verb: str, name: str, items: Iterable[str], chunk: int = 1000) -> list[str]:
    """`add element ...`/`delete element ...` lines, chunked so no line is huge."""
    items = list(items)
    return [
        f"{verb} element {FAMILY} {TABLE} {name} {{ {', '.join(items[i : i + chunk])} }}"
        for i in range(0, len(items), chunk)
    ]


def render(ruleset: Ruleset, elements: Mapping[str, Elements] | None = None) -> str:
    """The whole table, replacing any previous one, in one atomic `nft -f` script."""
    lines = [
        f"table {FAMILY} {TABLE} {{}}",
        f"delete table {FAMILY} {TABLE}",
        f"table {FAMILY} {TABLE} {{",
    ]
    for name, body in ruleset.sets.items():
        lines.append(f"    set {name} {{ {body} }}")
    for name, (hook, rules) in ruleset.chains.items():
        lines.append(f"    chain {name} {{")
        if hook:
            lines.append(f"        {hook}")
        lines.extend(f"        {rule}" for rule in rules)
        lines.append("    }")
    lines.append("}")
    for name, items in (elements or {}).items():
        texts = [element_text(name, element, timeout) for element, timeout in items.items()]
        lines.extend(element_lines("add", name, texts))
    return "\n".join(lines) + "\n"


def normalize_cidr(value: str) -> tuple[str, str]:
    """'10.0.0.0/8' -> ('cidr4', '10.0.0.0/8'); a host prefix becomes a plain address."""
    net = ipaddress.ip_network(value.strip(), strict=False)
    text = str(net.network_address) if net.prefixlen == net.max_prefixlen else str(net)
    return ("cidr4" if net.version == 4 else "cidr6"), text
