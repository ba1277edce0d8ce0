"""The `inet porchlight` nftables ruleset, as text for `nft -f`.

Pre-auth (a LAN MAC in none of `allowed`/`trusted`): DHCP and DNS to the router
pass, IPv4 tcp/80 to anywhere is redirected to the portal port, tcp/443 (v4
and v6) gets a TCP reset, everything else forwarded is dropped — IPv6 included,
so it is never a bypass. `walled4/6` (filled by dnsmasq `nftset=`) and
`cidr4/6` (walled-garden CIDRs from the config) are reachable before login.

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
}
# sets whose contents the agent owns and reconciles (walled4/6 belong to dnsmasq)
MANAGED_SETS = ("allowed", "trusted", "blocked", "cidr4", "cidr6", "rx4")
TIMEOUT_SETS = frozenset({"allowed", "rx4"})

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

    def __post_init__(self) -> None:
        for name in (self.lan, self.wan):
            if name is not None and not _IFACE.match(name):
                raise ValueError(f"interface name {name!r} is not valid")
        for port in (self.portal_port, self.portal_tls_port):
            if port is not None and not 1 <= port <= 65535:
                raise ValueError("portal port must be 1-65535")
        if self.bandwidth_kbps is not None and self.bandwidth_kbps <= 0:
            raise ValueError("bandwidth_kbps must be positive")


@dataclass
class Ruleset:
    chains: dict[str, tuple[str, list[str]]] = field(default_factory=dict)  # name -> (hook, rules)
    sets: dict[str, str] = field(default_factory=dict)

    def rule_counts(self) -> dict[str, int]:
        return {name: len(rules) for name, (_hook, rules) in self.chains.items()}


def build(spec: GateSpec) -> Ruleset:
    lan = f'"{spec.lan}"'
    port = spec.portal_port
    open_ports = ", ".join(str(p) for p in sorted({53, port, spec.portal_tls_port or port}))
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
    chains: dict[str, tuple[str, list[str]]] = {
        "pre_nat": (
            "type nat hook prerouting priority dstnat; policy accept;",
            [f"iifname {lan} meta nfproto ipv4 tcp dport 80 jump guest_redirect"],
        ),
        "guest_redirect": (
            "",
            [
                "ether saddr @allowed return",
                "ether saddr @trusted return",
                "ether saddr @blocked return",
                "fib daddr type local return",
                "ip daddr @walled4 return",
                "ip daddr @cidr4 return",
                f"meta nfproto ipv4 tcp dport 80 redirect to :{port}",
            ],
        ),
        "router_input": (
            "type filter hook input priority filter; policy accept;",
            [f"iifname {lan} jump guest_input"],
        ),
        "guest_input": (
            "",
            [
                "ether saddr @blocked drop",
                "ct state established,related accept",
                "meta l4proto { icmp, ipv6-icmp } accept",
                "udp dport { 53, 67, 547 } accept",
                f"tcp dport {{ {open_ports} }} accept",
                "ether saddr @trusted accept",
                "ether saddr @allowed accept",
                "drop",
            ],
        ),
        "forward": (
            "type filter hook forward priority filter; policy accept;",
            [f"iifname {lan} jump guest_out", f"oifname {lan} jump guest_in"],
        ),
        "guest_out": (
            "",
            [
                "ether saddr @blocked drop",
                "ether saddr @trusted accept",
                *up_limit,
                "ether saddr @allowed accept",
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
