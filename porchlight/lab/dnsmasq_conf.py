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


def render(*, lease_file: Path, pid_file: Path, conf_dir: Path, api_url: str) -> str:
    """The router's dnsmasq: DHCP and DNS on the LAN bridge only."""
    first, last = topology.DHCP_RANGE
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
        f"dhcp-range={first},{last},255.255.255.0,1h",
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
