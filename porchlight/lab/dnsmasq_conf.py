"""dnsmasq twice in the lab.

- The router's: DHCP on the LAN bridge (with RFC 8910 option 114 pointing at
  the portal's RFC 8908 API) and DNS for the guests, forwarding to the
  internet's DNS as a router forwards to its ISP's. The walled-garden snippets
  the agent writes (``nftset=`` lines, docs/protocols.md section 4.2) are read
  from ``conf-dir``; dnsmasq fills nft sets only from upstream answers, which
  is why the names live upstream.
- The internet's: on the internet host's address, answering the operating
  systems' captive-detection hostnames and ``internet.test`` with the
  internet host.
"""

from __future__ import annotations

import ipaddress
from pathlib import Path

from porchlight.lab import topology

DETECTION_HOSTS = (
    "captive.apple.com",
    "connectivitycheck.gstatic.com",
    "connectivitycheck.android.com",
    "clients3.google.com",
    "www.msftconnecttest.com",
    "www.msftncsi.com",
    "detectportal.firefox.com",
)
INTERNET_NAME = "internet.test"
PORTAL_PORT = 8080
CAPTIVE_API_PATH = "/api/captive"


def captive_api_url(router_ip: str = topology.ROUTER_LAN_IP, port: int = PORTAL_PORT) -> str:
    return f"http://{router_ip}:{port}{CAPTIVE_API_PATH}"


def render(
    *,
    lease_file: Path,
    pid_file: Path,
    conf_dir: Path,
    api_url: str,
    lan_prefix: int = topology.LAN_PREFIX,
) -> str:
    """The router's dnsmasq: DHCP and DNS on the LAN bridge only, sized to the LAN.

    ``no-ping``: dnsmasq otherwise pings each address before offering it and
    waits ~3 s for an answer, one address at a time, so 30 phones joining
    together waited 18-38 s for a lease. ``dhcp-lease-max`` is the range
    (dnsmasq's default stops at 1,000 leases)."""
    first, last = topology.dhcp_range(lan_prefix)
    size = topology.dhcp_range_size(lan_prefix)
    netmask = ipaddress.IPv4Network(f"0.0.0.0/{lan_prefix}").netmask
    lines = [
        "# dnsmasq for the Porchlight venue lab's router (written by 'porchlight lab up')",
        f"interface={topology.LAN_BRIDGE}",
        "bind-interfaces",
        "no-resolv",
        "no-hosts",
        "no-poll",
        "domain-needed",
        "bogus-priv",
        f"server={topology.INTERNET_IP}",
        "user=nobody",
        "group=nogroup",
        f"pid-file={pid_file}",
        "log-facility=-",
        "log-dhcp",
        "log-queries",
        f"dhcp-range={first},{last},{netmask},1h",
        f"dhcp-lease-max={size}",
        "no-ping",
        f"dns-forward-max={max(150, size)}",
        f"cache-size={min(10000, max(150, size))}",
        f"dhcp-option=option:router,{topology.ROUTER_LAN_IP}",
        f"dhcp-option=option:dns-server,{topology.ROUTER_LAN_IP}",
        f'dhcp-option=114,"{api_url}"',
        "dhcp-authoritative",
        f"dhcp-leasefile={lease_file}",
        f"conf-dir={conf_dir},*.conf",
    ]
    return "\n".join(lines) + "\n"


def render_internet_dns(*, pid_file: Path) -> str:
    """The internet's DNS: the lab's names, on the internet host's address."""
    lines = [
        "# the Porchlight venue lab's internet DNS (written by 'porchlight lab up')",
        f"listen-address={topology.INTERNET_IP}",
        "bind-interfaces",
        "no-resolv",
        "no-hosts",
        "no-poll",
        "user=nobody",
        "group=nogroup",
        f"pid-file={pid_file}",
        "log-facility=-",
        "log-queries",
    ]
    for host in (*DETECTION_HOSTS, INTERNET_NAME):
        lines.append(f"address=/{host}/{topology.INTERNET_IP}")
    return "\n".join(lines) + "\n"


def argv(conf_file: Path) -> list[str]:
    """dnsmasq in the foreground (the lab supervises it), reading only our file."""
    return ["dnsmasq", "--keep-in-foreground", f"--conf-file={conf_file}"]
