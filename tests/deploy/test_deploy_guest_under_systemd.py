"""One guest end to end through the installed units under a real systemd.

The Debian root of PORCHLIGHT_NSPAWN_ROOT (see test_deploy_under_systemd.py)
boots with systemd-nspawn in the router namespace; `deploy/install-router`
installs, starts and enrolls the units against the real admin (SQLite, in the
same namespace). Then, as in tests/lab/test_end_to_end.py but against
porchlight-dnsmasq, -agent and -portal.service:

    guest ns                 router ns (the container)              internet ns
    eth0 ──veth── lan0 10.77.0.1/24      wan0 198.51.100.1 ──veth── eth0 198.51.100.10
                  (installed units, admin on 127.0.0.1)             (lab internet host)

busybox udhcpc gets a lease with option 114 from the installed dnsmasq; the
guest's HTTP request to the internet host lands on the installed portal; the
guest posts the login form; its MAC is in `inet porchlight allowed`; the
internet host answers; the admin's customer list shows the visit at Lab Café
once the agent has synced; `porchlight agent deauth MAC` inside the container
sends the guest back to the portal. The session outlives `systemctl restart
porchlight-agent` on the way. Forwarding is off before the install (the
installer turns it on); the internet namespace routes the guest LAN back via
the router, so no NAT (and no `--wan`) is needed.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from deploykit import Browser, Netns, boot, run
from guestkit import (
    APPLE_SUCCESS,
    CAPTIVE_API,
    HOME_MARKER,
    PORTAL,
    allowed_macs,
    captive,
    captive_becomes,
    dhcp_lease,
    internet_host,
    login_form,
    new_guest_name,
    new_netns,
    wait_active,
    wait_for_customer,
)

from porchlight.lab.guest_dhcp import option_114

pytestmark = [pytest.mark.root, pytest.mark.slow]

INTERNET_IP = "198.51.100.10"  # TEST-NET-2, as in porchlight/lab/topology.py
ROUTER_WAN_IP = "198.51.100.1"
INTERNET_URL = f"http://{INTERNET_IP}/"
APPLE_PROBE = f"http://{INTERNET_IP}/hotspot-detect.html"


@pytest.fixture
def internet(netns) -> Iterator[Netns]:
    """A namespace behind the router's wan0 with the lab's internet host on port 80."""
    # the fixture's stand-in host route for 198.51.100.0/24 would shadow wan0's
    netns.exec(["ip", "route", "del", "198.51.100.0/24"], check=True)
    ns = new_netns()
    try:
        run(["ip", "-n", netns.name, "link", "add", "wan0", "type", "veth"]
            + ["peer", "name", "eth0", "netns", ns.name])  # fmt: skip
        for name, argv in (
            (netns.name, ["addr", "add", f"{ROUTER_WAN_IP}/24", "dev", "wan0"]),
            (netns.name, ["link", "set", "wan0", "up"]),
            (ns.name, ["addr", "add", f"{INTERNET_IP}/24", "dev", "eth0"]),
            (ns.name, ["link", "set", "eth0", "up"]),
            (ns.name, ["route", "add", "10.77.0.0/24", "via", ROUTER_WAN_IP]),
        ):
            run(["ip", "-n", name, *argv])
        with internet_host(ns, INTERNET_IP):
            yield ns
    finally:
        run(["ip", "netns", "del", ns.name], check=False)


@pytest.fixture
def booted(nspawn_root, netns, root_wheelhouse, tmp_path):
    # off, so that the guest reaching the internet shows the installer turned it on
    netns.exec(["sysctl", "-qw", "net.ipv4.ip_forward=0"], check=True)
    binds = {"/root/wheels": root_wheelhouse}
    with boot(nspawn_root, netns, binds, tmp_path / "nspawn.log") as inside:
        yield inside


def _unit_of_listener(inside, port: int) -> str:
    """The systemd unit whose process listens on TCP `port` in the container."""
    out = inside(f"ss -Hltnp 'sport = :{port}'").stdout
    pid = re.search(r"pid=(\d+)", out)
    assert pid, f"nothing listens on port {port}: {out!r}"
    cgroup = inside(f"cat /proc/{pid.group(1)}/cgroup").stdout
    unit = re.search(r"/([\w.@-]+\.service)\b", cgroup)
    return unit.group(1) if unit else cgroup


def test_guest_through_installed_units(
    netns, admin, admin_login, internet, guest, booted, tmp_path
):
    inside, (url, new_code), (guest_ns, mac) = booted, admin, guest
    install = inside(
        "cd /root/porchlight && deploy/install-router --lan lan0 "
        f"--admin-url {url} --code {new_code()} --wheelhouse /root/wheels"
    )
    assert install.returncode == 0, install.stdout + install.stderr
    assert "[ OK ] enrolled" in install.stdout, install.stdout
    wait_active(inside)
    assert _unit_of_listener(inside, 8080) == "porchlight-portal.service"
    assert netns.exec(["curl", "-sf", "-o", "/dev/null", INTERNET_URL]).returncode == 0
    assert netns.exec(["cat", "/proc/sys/net/ipv4/ip_forward"]).stdout.strip() == "1"

    # 1. DHCP from the installed dnsmasq, with the RFC 8910 option 114.
    lease = dhcp_lease(guest_ns, tmp_path)
    assert lease.get("ip", "").startswith("10.77.0.") and lease.get("router") == "10.77.0.1"
    assert option_114(lease) == CAPTIVE_API
    leases = inside("cat /var/lib/porchlight/dnsmasq/dnsmasq.leases").stdout
    assert mac in leases and lease["ip"] in leases, leases
    phone = Browser(guest_ns.name, tmp_path / "guest-cookies.txt")
    assert captive(phone) is True

    # 2. Before login the installed portal answers instead of the internet host.
    status, _, body = phone.http(INTERNET_URL)
    assert HOME_MARKER not in body and status in (200, 302, 303, 307), status
    portal_url, page = phone.follow(INTERNET_URL)
    assert portal_url.startswith(PORTAL), portal_url
    assert phone.http(APPLE_PROBE)[2] != APPLE_SUCCESS  # the phone opens its login sheet
    # HTTPS is refused at once (TCP reset), not dropped: phones fall back fast
    https = guest_ns.exec(["curl", "-sS", "-m", "8", "-o", "/dev/null", f"https://{INTERNET_IP}/"])
    assert https.returncode == 7, https.stderr  # 7: could not connect; 28 would be a timeout

    # 3. The login form, as a phone submits it.
    name = new_guest_name()
    login_form(phone, portal_url, page, name)

    # 4. The installed agent put the MAC into the kernel set; 5. the internet answers.
    assert mac in allowed_macs(inside)
    status, _, body = phone.http(INTERNET_URL)
    assert status == 200 and HOME_MARKER in body, (status, body[:300])
    assert phone.http(APPLE_PROBE)[2] == APPLE_SUCCESS  # the login sheet closes
    assert captive_becomes(phone, False)
    # the session outlives an agent restart (the store is the truth, the table stays)
    restart = inside("systemctl restart porchlight-agent")
    assert restart.returncode == 0, restart.stderr
    wait_active(inside)
    assert mac in allowed_macs(inside)
    assert HOME_MARKER in phone.http(INTERNET_URL)[2]

    # 6. The agent's sync brings the visit to the admin's customer list.
    row = wait_for_customer(netns, admin_login, name, tmp_path)
    visits = [c for c in re.findall(r"<td\b[^>]*>(.*?)</td>", row, re.S) if "#visits" in c]
    assert [re.sub(r"<[^>]+>", "", v).strip() for v in visits] == ["1"], row

    # 7. Deauth inside the container: the guest is back at the portal.
    done = inside(f"/opt/porchlight/current/bin/porchlight agent deauth {mac}")
    assert done.returncode == 0, done.stdout + done.stderr
    assert mac not in allowed_macs(inside)
    status, _, body = phone.http(INTERNET_URL)
    assert HOME_MARKER not in body, body[:300]
    assert phone.follow(INTERNET_URL)[0].startswith(PORTAL)
    assert captive_becomes(phone, True)
