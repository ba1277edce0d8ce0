"""Issue 15 in a venue LAN of real namespaces: a guest's login is theirs alone,
and nothing leaks past the gate before login. (Root; see gatekit.py.)"""

from __future__ import annotations

import copy
import shutil
import time

import pytest
from gatekit import LAN_IP, WEB_IP, Venue, sh, wait_for

from porchlight.agent.config import DEFAULT_CONFIG

pytestmark = pytest.mark.root


@pytest.fixture
def venue(tmp_path):
    if not all(shutil.which(p) for p in ("curl", "dnsmasq", "busybox", "conntrack")):
        pytest.skip("needs curl, dnsmasq, busybox and conntrack")
    lab = Venue(tmp_path, guests=3)
    try:
        lab.up()
        lab.start_agent()
        yield lab
    finally:
        lab.down()


def config(**lan):
    out = copy.deepcopy(DEFAULT_CONFIG)
    out["lan"] = {**out.get("lan", {}), **lan}
    return out


# ---- finding 1: the MAC behind an IP is the kernel's, now ---------------------------------
def test_neighbour_cannot_steal_a_login_by_claiming_the_ip_for_a_moment(venue):
    a, b = 1, 2
    assert venue.fetch(a) == "portal"
    assert venue.fetch(b) == "portal"
    time.sleep(1.2)  # past the neighbour entry's locktime, as a real attacker waits
    sh(venue.guest(b), "ip", "addr", "add", f"{venue.ip(a)}/32", "dev", "eth0")
    venue.arp(b, claim=venue.ip(a))  # two gratuitous ARPs: the router now maps A's IP to B
    sh(venue.guest(b), "ip", "addr", "del", f"{venue.ip(a)}/32", "dev", "eth0")
    time.sleep(1.2)
    venue.arp(a)  # A announces itself again and logs in through the portal
    venue.login(a, name="Nguyễn Thị Lan")
    allowed = venue.kernel_set("allowed")
    assert venue.mac(a) in allowed and venue.mac(b) not in allowed
    assert venue.fetch(a) == "internet"
    assert venue.fetch(b) == "portal"
    assert venue.client(venue.ip(a))["state"] == "authorized"
    b_view = venue.client(venue.ip(b))
    assert (b_view["mac"], b_view["state"], b_view["remembered"]) == (venue.mac(b), "pending", None)


def test_a_conflicting_claim_drops_the_old_binding_at_once_and_it_returns_with_its_owner(venue):
    a, b = 1, 2
    venue.fetch(b)
    venue.login(a)
    assert venue.fetch(a) == "internet"
    bound = f"{venue.mac(a)} . {venue.ip(a)}"
    assert bound in venue.kernel_set("bound4")
    time.sleep(1.2)
    sh(venue.guest(b), "ip", "addr", "add", f"{venue.ip(a)}/32", "dev", "eth0")
    venue.arp(b, claim=venue.ip(a))
    assert wait_for(lambda: bound not in venue.kernel_set("bound4"), 2)
    assert f"IP {venue.ip(a)} claimed by {venue.mac(b)}" in venue.agent_log()
    assert venue.fetch(b, seconds=2) != "internet"  # B holding A's IP gets nothing
    sh(venue.guest(b), "ip", "addr", "del", f"{venue.ip(a)}/32", "dev", "eth0")
    time.sleep(1.2)
    venue.arp(a)
    assert wait_for(lambda: bound in venue.kernel_set("bound4"), 2)
    assert venue.fetch(a) == "internet"


def test_a_mac_clone_keeping_its_own_ip_gets_nothing_and_the_owner_keeps_working(venue):
    a, c = 1, 3
    venue.login(a)
    assert venue.fetch(a) == "internet"
    sh(venue.guest(c), "ip", "link", "set", "eth0", "address", venue.mac(a))
    venue.arp(c)
    assert venue.fetch(c, seconds=2) == "portal"  # redirected: not online at its address
    assert venue.client(venue.ip(c))["state"] == "pending"
    time.sleep(1.2)
    venue.arp(a)  # the bridge learns A's port again
    view = venue.client(venue.ip(a))
    assert view["state"] == "authorized"
    assert venue.fetch(a) == "internet"  # "online" on the page means online


def test_an_address_that_changed_hands_is_never_answered_from_an_old_row(venue):
    """DHCP churn: D logs in at X and leaves; E, who had X minutes ago, gets it again.
    E's detection probe must see E (pending), not D's session."""
    d, e = 1, 2
    x, z = venue.ip(e), "10.68.0.99"
    venue.fetch(e)  # E at X
    sh(venue.guest(e), "ip", "addr", "flush", "dev", "eth0")
    sh(venue.guest(e), "ip", "addr", "add", f"{z}/24", "dev", "eth0")
    sh(venue.guest(e), "ip", "route", "add", "default", "via", LAN_IP)
    venue.arp(e, claim=z)
    venue.fetch(e)  # E at Z
    sh(venue.guest(d), "ip", "addr", "flush", "dev", "eth0")
    sh(venue.guest(d), "ip", "addr", "add", f"{x}/24", "dev", "eth0")
    sh(venue.guest(d), "ip", "route", "add", "default", "via", LAN_IP)
    time.sleep(1.2)
    venue.arp(d, claim=x)
    venue.login(d)  # D logs in at X, then leaves without a word
    sh(venue.guest(d), "ip", "link", "set", "eth0", "down")
    sh(venue.guest(e), "ip", "addr", "flush", "dev", "eth0")
    sh(venue.guest(e), "ip", "addr", "add", f"{x}/24", "dev", "eth0")
    sh(venue.guest(e), "ip", "route", "add", "default", "via", LAN_IP)
    time.sleep(1.2)
    venue.arp(e, claim=x)
    view = venue.client(x)
    assert (view["mac"], view["state"]) == (venue.mac(e), "pending")
    assert venue.fetch(e, f"http://{WEB_IP}/") == "portal"


# ---- finding 3: DNS before login is no tunnel, and one guest cannot stall it ---------------
TUNNEL = """
import os, socket, struct, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setblocking(False)
end, n = time.monotonic() + %r, 0
while time.monotonic() < end:
    size = 180 if n %% 2 else 110  # big names, and names short enough to pass the size check
    label = os.urandom(size).hex()[:size]
    name = ".".join(label[i:i + 60] for i in range(0, size, 60)) + ".tunnel.test"
    q = struct.pack(">HHHHHH", n & 0xFFFF, 0x0100, 1, 0, 0, 0)
    q += b"".join(bytes([len(p)]) + p.encode() for p in name.split(".")) + b"\\0\\0\\x10\\0\\1"
    try:
        s.sendto(q, (%r, 53))
        while True:
            s.recv(1500)
    except OSError:
        pass
    n += 1
    time.sleep(0.002)
print(n)
"""


def run_tunnel(venue, index: int, seconds: float):
    import subprocess
    import sys

    return subprocess.Popen(
        ["ip", "netns", "exec", venue.guest(index), sys.executable, "-c",
         TUNNEL % (seconds, LAN_IP)],
        stdout=subprocess.PIPE,
        text=True,
    )  # fmt: skip


def test_dns_before_login_is_no_tunnel_and_other_guests_and_the_tunneller_still_resolve(venue):
    tunneller, other = 1, 2
    packets0, bytes0 = venue.dns_bytes_upstream()
    tunnel = run_tunnel(venue, tunneller, 10)
    answered = []
    started = time.monotonic()
    while tunnel.poll() is None:
        answered.append(venue.resolve(venue.guest(other), "internet.test") == WEB_IP)
        time.sleep(0.5)
    sent = int(tunnel.communicate()[0])
    assert time.monotonic() - started < 20
    packets, nbytes = venue.dns_bytes_upstream()
    payload = (nbytes - bytes0) - 28 * (packets - packets0)  # DNS messages without IP/UDP headers
    assert sent > 1000, sent  # the tunnel really tried (~4,600 in 10 s on a quiet machine)
    assert payload <= 10_000, (sent, packets - packets0, payload)
    assert all(answered) and len(answered) >= 10, answered  # the others' DNS is unaffected
    # the same phone, right after: its detection probe resolves and it logs in
    assert venue.resolve(venue.guest(tunneller), "captive.apple.com", seconds=3) == WEB_IP
    venue.login(tunneller)
    assert venue.fetch(tunneller) == "internet"


def test_every_detection_probe_still_resolves_before_login_even_all_at_once(venue):
    """A phone joining asks for its OS's detection host (and others') at once: the
    per-MAC DNS limit lets that burst through, twice over."""
    from gatekit import DETECTION_HOSTS

    for _ in range(2):
        for host in DETECTION_HOSTS:
            assert venue.resolve(venue.guest(1), host) == WEB_IP, host
    assert venue.client(venue.ip(1))["state"] == "pending"


# ---- finding 4: the router answers guests on its open ports only; guests are apart ---------
def test_guests_reach_only_dhcp_dns_portal_and_echo_on_the_router_unless_a_port_is_opened(venue):
    import sys

    venue._spawn(venue.router, sys.executable, "-m", "http.server", "2222", "--bind", LAN_IP)
    private = f"http://{LAN_IP}:2222/"
    assert wait_for(lambda: venue.fetch_from(venue.router, private) != "curl-exit-7", 5)

    def reaches_router_port(index: int) -> bool:
        return venue.fetch(index, private, seconds=1.5).startswith("<!DOCTYPE")

    assert not reaches_router_port(1)  # pending
    venue.login(1)
    assert not reaches_router_port(1)  # logged in: still not (sshd, a router UI ...)
    assert venue.fetch(1, f"http://{LAN_IP}:8080/") == "portal"
    assert venue.resolve(venue.guest(1), "internet.test") == WEB_IP
    ping = ["busybox", "ping", "-c", "1", "-W", "3", LAN_IP]
    assert wait_for(lambda: "1 packets received" in sh(venue.guest(1), *ping, check=False), 6)
    venue.apply(config(router_tcp_ports=[2222]))
    assert wait_for(lambda: reaches_router_port(1), 5)
    assert wait_for(lambda: reaches_router_port(2), 5)


def test_guests_cannot_reach_each_other_unless_the_location_turns_isolation_off(venue):
    import sys

    venue._spawn(venue.guest(2), sys.executable, "-m", "http.server", "8000")
    peer = f"http://{venue.ip(2)}:8000/"
    assert wait_for(lambda: venue.fetch_from(venue.guest(2), peer) != "curl-exit-7", 5)
    venue.login(1)
    venue.login(2)

    def reaches_peer() -> bool:
        return venue.fetch(1, peer, seconds=1.5).startswith("<!DOCTYPE")

    assert not reaches_peer()  # bridged: the ports are isolated
    sh(venue.guest(1), "ip", "route", "add", f"{venue.ip(2)}/32", "via", LAN_IP)
    assert not reaches_peer()  # routed through the router: dropped
    sh(venue.guest(1), "ip", "route", "del", f"{venue.ip(2)}/32", "via", LAN_IP)
    venue.apply(config(client_isolation=False))
    sh(venue.guest(1), "ip", "neigh", "flush", "all")
    assert wait_for(reaches_peer, 5)


def test_a_port_joining_the_bridge_is_isolated_at_once_not_at_the_next_reconcile(venue):
    venue.stop_agent()
    venue.start_agent(reconcile_seconds=60)  # only the link event can do it in time
    assert venue.isolated(f"pgp{venue.tag}1")  # the ports there at start
    port = venue.add_port(f"pgn{venue.tag}")
    assert wait_for(lambda: venue.isolated(port), 2)


# ---- finding 6: a social login channel opens its provider's login domains -----------------
def test_a_social_channel_opens_its_login_domains_before_login(venue):
    assert venue.fetch(1, "http://198.51.100.20/") == "portal"
    google = config()
    google["portal"]["channels"] = ["form", "google"]
    venue.apply(google)
    snippet = venue.snippet.read_text()
    assert "nftset=/accounts.google.com/" in snippet and "nftset=/ssl.gstatic.com/" in snippet
    assert venue.resolve(venue.guest(1), "accounts.google.com") == "198.51.100.20"
    assert "198.51.100.20" in venue.kernel_set("walled4")
    assert venue.fetch(1, "http://198.51.100.20/") == "internet"  # still pending, yet through
    assert venue.client(venue.ip(1))["state"] == "pending"
