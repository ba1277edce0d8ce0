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
    out["lan"] = {**out["lan"], **lan}
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
