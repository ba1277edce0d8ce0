"""What the router install writes: the LAN it serves, env files, dnsmasq config."""

from __future__ import annotations

import ipaddress
import json
import re
from dataclasses import dataclass

from .host import AGENT_STATE, STATE, DeployError, Host
from .tls import TLS_PORT
from .tls import captive_api_url as tls_api_url
from .tls import portal_url as tls_portal_url

IFACE = re.compile(r"^[A-Za-z0-9_.@-]{1,15}$")
PORTAL_PORT = 8080
CAPTIVE_API_PATH = "/api/captive"  # portal/detection.py CAPTIVE_API
WALLED_GARDEN_DIR = f"{AGENT_STATE}/dnsmasq.d"
LEASE_FILE = f"{STATE}/dnsmasq/dnsmasq.leases"


@dataclass(frozen=True)
class Lan:
    iface: str
    address: ipaddress.IPv4Interface
    dhcp_first: ipaddress.IPv4Address
    dhcp_last: ipaddress.IPv4Address
    guests: int | None = None  # --guests: the most guests at once the venue expects

    @property
    def ip(self) -> str:
        return str(self.address.ip)

    @property
    def dhcp_size(self) -> int:
        return int(self.dhcp_last) - int(self.dhcp_first) + 1

    @property
    def lease_time(self) -> str:
        """1h, or from --guests: longer leases when the range is roomy, shorter when
        it is tight, so addresses of phones that left come back sooner."""
        if self.guests is None:
            return "1h"
        room = self.dhcp_size / self.guests
        return "4h" if room >= 4 else "1h" if room >= 2 else "20m"


NEIGH_DEFAULTS = (128, 512, 1024)  # the kernel's gc_thresh1/2/3: one entry per guest address


def neighbour_sysctl(lan: Lan) -> str | None:
    """sysctl lines that let the neighbour (ARP/NDP) tables hold every guest, or None
    when the kernel's defaults do: past 1,024 entries the kernel drops new
    neighbours ("neighbour table overflow") and phones lose the gate."""
    if lan.guests is None or lan.guests * 2 <= NEIGH_DEFAULTS[1]:
        return None
    wanted = (lan.guests, lan.guests * 2, lan.guests * 4)  # room for phones that left
    values = [max(d, w) for d, w in zip(NEIGH_DEFAULTS, wanted, strict=True)]
    lines = [
        "# Porchlight: neighbour tables sized for --guests "
        f"{lan.guests:,} (written by deploy/install-router)",
    ]
    for family in ("ipv4", "ipv6"):
        lines += [f"net.{family}.neigh.default.gc_thresh{n}={v}" for n, v in enumerate(values, 1)]
    return "\n".join(lines) + "\n"


GUEST_ROOM = 1.25  # addresses per expected guest: phones that left still hold theirs a while
MAX_GUESTS = 65_000


def check_guests(lan: Lan) -> None:
    """DeployError unless the range holds --guests with some room."""
    if lan.guests is None:
        return
    if not 1 <= lan.guests <= MAX_GUESTS:
        raise DeployError(f"--guests must be between 1 and {MAX_GUESTS:,}")
    needed = int(lan.guests * GUEST_ROOM)
    if lan.dhcp_size < needed:
        prefix = max(16, 32 - (int(needed * 4 / 3) + 2).bit_length())
        raise DeployError(
            f"the DHCP range {lan.dhcp_first}-{lan.dhcp_last} holds {lan.dhcp_size:,} "
            f"addresses; {lan.guests:,} guests need {needed:,}",
            hint=f"give {lan.iface} a /{prefix} or larger (e.g. 10.0.0.1/{prefix}), "
            "or pass a wider --dhcp-range",
        )


def inspect_link(host: Host, iface: str) -> None:
    """DeployError unless `iface` is a valid name of an interface that exists here."""
    if not IFACE.match(iface):
        raise DeployError(f"'{iface}' is not a valid interface name")
    links = json.loads(host.run(["ip", "-j", "link", "show"], timeout=10).stdout or "[]")
    names = [link["ifname"] for link in links]
    if iface not in names:
        raise DeployError(
            f"there is no network interface '{iface}' on this machine",
            hint="interfaces here: " + ", ".join(names),
        )


def inspect_lan(
    host: Host, iface: str, dhcp_range: str | None = None, guests: int | None = None
) -> Lan:
    """The LAN interface as it is now; DeployError if it is missing or has no IPv4,
    or if its range is too small for `guests`."""
    inspect_link(host, iface)
    addrs = json.loads(
        host.run(["ip", "-j", "-4", "addr", "show", "dev", iface], timeout=10).stdout or "[]"
    )
    v4 = [a for link in addrs for a in link.get("addr_info", []) if a.get("family") == "inet"]
    if not v4:
        raise DeployError(
            f"the LAN interface '{iface}' has no IPv4 address",
            hint="give it a static address first (e.g. 10.0.0.1/24 in "
            "/etc/network/interfaces or netplan); the installer leaves host networking alone",
        )
    address = ipaddress.IPv4Interface(f"{v4[0]['local']}/{v4[0]['prefixlen']}")
    if dhcp_range:
        first, last = _parse_range(dhcp_range, address)
    else:
        first, last = default_range(address)
    lan = Lan(iface, address, first, last, guests)
    check_guests(lan)
    return lan


def default_range(
    address: ipaddress.IPv4Interface,
) -> tuple[ipaddress.IPv4Address, ipaddress.IPv4Address]:
    """The upper three quarters of the subnet, without the router's own address."""
    if address.network.prefixlen > 28:
        raise DeployError(
            f"the LAN subnet {address.network} is too small for guests",
            hint="use a /24 or larger, or pass --dhcp-range FIRST,LAST",
        )
    hosts = [h for h in address.network.hosts() if h != address.ip]
    return hosts[len(hosts) // 4], hosts[-1]


def _parse_range(
    text: str, address: ipaddress.IPv4Interface
) -> tuple[ipaddress.IPv4Address, ipaddress.IPv4Address]:
    try:
        first, last = (ipaddress.IPv4Address(part.strip()) for part in text.split(","))
    except ValueError as exc:
        raise DeployError(f"--dhcp-range '{text}' is not FIRST,LAST (two IPv4 addresses)") from exc
    net = address.network
    if first not in net or last not in net or first > last:
        raise DeployError(f"--dhcp-range {first}-{last} is not an ordered range inside {net}")
    if first <= address.ip <= last:
        raise DeployError(f"--dhcp-range includes the router's own address {address.ip}")
    return first, last


def captive_api_url(lan: Lan, port: int = PORTAL_PORT) -> str:
    return f"http://{lan.ip}:{port}{CAPTIVE_API_PATH}"


def agent_env(
    lan: Lan,
    port: int = PORTAL_PORT,
    wan: str | None = None,
    tls_port: int | None = None,
    metrics_port: int | None = None,
) -> str:
    flags = []
    if wan:
        flags.append(f"--wan {wan}")
    if tls_port:  # the HTTPS portal must be reachable before login, like the plain one
        flags.append(f"--portal-tls-port {tls_port}")
    if metrics_port:  # Prometheus on the router's loopback, never the guest LAN
        flags.append(
            f"--metrics 127.0.0.1:{metrics_port} --dhcp-leases {LEASE_FILE} "
            f"--dhcp-range {lan.dhcp_first},{lan.dhcp_last}"
        )
    extra = " ".join(flags)
    return (
        "# Porchlight agent (porchlight-agent.service). Written by deploy/install-router;\n"
        "# re-run the installer to change it.\n"
        f"PORCHLIGHT_LAN={lan.iface}\n"
        f"PORCHLIGHT_PORTAL_PORT={port}\n"
        "# --wan IFACE: the agent masquerades guest traffic leaving IFACE;\n"
        "# --portal-tls-port N: guests reach the HTTPS portal before login\n"
        "# --metrics 127.0.0.1:PORT: Prometheus /metrics on loopback (--metrics-port)\n"
        f"PORCHLIGHT_AGENT_EXTRA={extra}\n"
    )


def portal_env(
    lan: Lan, secret: str, port: int = PORTAL_PORT, workers: int = 2, tls_name: str | None = None
) -> str:
    text = (
        "# Porchlight portal (porchlight-portal.service). Written by deploy/install-router.\n"
        "# The portal listens on the LAN address only, never on the WAN side.\n"
        f"PORCHLIGHT_PORTAL_BIND={lan.ip}:{port}\n"
        f"PORCHLIGHT_PORTAL_WORKERS={workers}\n"
        "# signs the portal's CSRF tokens; kept across re-runs and upgrades\n"
        f"PORCHLIGHT_PORTAL_SECRET_KEY={secret}\n"
    )
    if tls_name:
        text += (
            "# HTTPS (porchlight-portal-tls.service, certificate in /etc/porchlight/tls):\n"
            "# the RFC 8908 captive-portal API and the login page under the portal's name\n"
            f"PORCHLIGHT_PORTAL_TLS_BIND={lan.ip}:{TLS_PORT}\n"
            f"PORCHLIGHT_PORTAL_TLS_URL={tls_portal_url(tls_name)}\n"
        )
    return text


def env_value(text: str, key: str) -> str | None:
    """The value of `key` in an env file's text, or None."""
    for line in text.splitlines():
        name, sep, value = line.partition("=")
        if sep and name.strip() == key and value.strip():
            return value.strip()
    return None


def dnsmasq_conf(lan: Lan, port: int = PORTAL_PORT, tls_name: str | None = None) -> str:
    """DHCP and DNS for guests on the LAN only; upstream DNS from /etc/resolv.conf.

    With `tls_name` dnsmasq answers that name with the LAN address and option
    114 is the portal's HTTPS API under that name (RFC 8908 wants TLS).
    Sized to the venue: ``no-ping`` (dnsmasq otherwise pings each address
    and waits ~3 s before offering it, one phone at a time), as many leases
    as the range holds (its default stops at 1,000), DNS forwards and cache
    scaled to the range."""
    mask = lan.address.network.netmask
    api = tls_api_url(tls_name) if tls_name else captive_api_url(lan, port)
    names = [f"host-record={tls_name},{lan.ip}"] if tls_name else []
    return "\n".join(
        [
            "# Porchlight's dnsmasq (porchlight-dnsmasq.service). Written by",
            "# deploy/install-router; re-run the installer to change it.",
            f"interface={lan.iface}",
            "bind-dynamic",
            "no-hosts",
            "domain-needed",
            "bogus-priv",
            "log-facility=-",
            *names,
            f"dhcp-range={lan.iface},{lan.dhcp_first},{lan.dhcp_last},{mask},{lan.lease_time}",
            f"dhcp-lease-max={lan.dhcp_size}",
            "no-ping",
            f"dns-forward-max={max(150, min(lan.dhcp_size, 5000))}",
            f"cache-size={max(150, min(lan.dhcp_size, 10000))}",
            f"dhcp-option={lan.iface},option:router,{lan.ip}",
            f"dhcp-option={lan.iface},option:dns-server,{lan.ip}",
            "# RFC 8910: the captive-portal API (RFC 8908) of the portal",
            f'dhcp-option={lan.iface},114,"{api}"',
            "dhcp-authoritative",
            f"dhcp-leasefile={LEASE_FILE}",
            "# the agent's walled-garden nftset= lines",
            f"conf-dir={WALLED_GARDEN_DIR},*.conf",
            "",
        ]
    )
