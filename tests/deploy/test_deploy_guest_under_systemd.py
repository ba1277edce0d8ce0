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

import html
import json
import re
import secrets
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from urllib.parse import urljoin

import pytest
from deploykit import REPO, Browser, Netns, boot, run

from porchlight.lab import guest_dhcp
from porchlight.lab.internet_host import APPLE_SUCCESS, HOME_MARKER

pytestmark = [pytest.mark.root, pytest.mark.slow]

INTERNET_IP = "198.51.100.10"  # TEST-NET-2, as in porchlight/lab/topology.py
ROUTER_WAN_IP = "198.51.100.1"
INTERNET_URL = f"http://{INTERNET_IP}/"
APPLE_PROBE = f"http://{INTERNET_IP}/hotspot-detect.html"
PORTAL = "http://10.77.0.1:8080/"
CAPTIVE_API = "http://10.77.0.1:8080/api/captive"
UNITS = ("porchlight-agent", "porchlight-portal", "porchlight-dnsmasq")
CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"|value="([^"]+)"[^>]*name="csrf_token"')
# udhcpc hook: address and default route in the guest namespace, the lease
# (option 114 included) kept where porchlight.lab.guest_dhcp reads it
HOOK = """#!/bin/sh
case "$1" in
    deconfig) ip addr flush dev "$interface"; ip link set "$interface" up ;;
    bound|renew)
        ip addr flush dev "$interface"
        ip addr add "$ip/${mask:-24}" dev "$interface"
        [ -n "$router" ] && ip route replace default via "${router%% *}" dev "$interface"
        env | grep -E '^(interface|ip|mask|router|dns|serverid|lease|opt[0-9]+)=' > LEASE.new
        mv LEASE.new LEASE ;;
esac
exit 0
"""


def _new_netns() -> Netns:
    name = "pl" + secrets.token_hex(3)
    run(["ip", "netns", "add", name])
    run(["ip", "-n", name, "link", "set", "lo", "up"])
    return Netns(name)


@pytest.fixture
def internet(netns) -> Iterator[Netns]:
    """A namespace behind the router's wan0 with the lab's internet host on port 80."""
    # the fixture's stand-in host route for 198.51.100.0/24 would shadow wan0's
    netns.exec(["ip", "route", "del", "198.51.100.0/24"], check=True)
    ns = _new_netns()
    server = None
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
        server = subprocess.Popen(
            ["ip", "netns", "exec", ns.name, str(REPO / ".venv/bin/python"), "-m"]
            + ["porchlight.lab.internet_host", "--bind", INTERNET_IP, "--port", "80"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(100):
            probe = ns.exec(["curl", "-sf", "-o", "/dev/null", INTERNET_URL], timeout=10)
            if probe.returncode == 0:
                break
            time.sleep(0.1)
        else:
            pytest.fail("the internet host did not start")
        yield ns
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=20)
        run(["ip", "netns", "del", ns.name], check=False)


@pytest.fixture
def guest(netns) -> Iterator[tuple[Netns, str]]:
    """A phone: the router's lan0p moved into a namespace of its own as eth0; (ns, MAC)."""
    ns = _new_netns()
    try:
        run(["ip", "-n", netns.name, "link", "set", "lan0p", "netns", ns.name])
        run(["ip", "-n", ns.name, "link", "set", "lan0p", "name", "eth0"])
        run(["ip", "-n", ns.name, "link", "set", "eth0", "up"])
        link = json.loads(run(["ip", "-n", ns.name, "-j", "link", "show", "eth0"]).stdout)
        yield ns, link[0]["address"].lower()
    finally:
        run(["ip", "netns", "del", ns.name], check=False)


@pytest.fixture
def booted(nspawn_root, netns, root_wheelhouse, tmp_path):
    # off, so that the guest reaching the internet shows the installer turned it on
    netns.exec(["sysctl", "-qw", "net.ipv4.ip_forward=0"], check=True)
    binds = {"/root/wheels": root_wheelhouse}
    with boot(nspawn_root, netns, binds, tmp_path / "nspawn.log") as inside:
        yield inside


def _allowed_macs(inside: Callable[..., subprocess.CompletedProcess]) -> set[str]:
    """The `allowed` set as the router's own nft lists it (the host's nft may be older
    than the container's and cannot always read what a newer one wrote)."""
    done = inside("nft -j list set inet porchlight allowed")
    assert done.returncode == 0, done.stderr
    macs = set()
    for item in json.loads(done.stdout)["nftables"]:
        for element in item.get("set", {}).get("elem", []):
            value = element["elem"]["val"] if isinstance(element, dict) else element
            macs.add(str(value).lower())
    return macs


def _wait_active(inside) -> None:
    """Wait until the router's units are all active. The first config pull after
    enrollment may rewrite the walled garden, which restarts dnsmasq
    (porchlight-dnsmasq-reload.path), so a moment after the install it may not be."""
    wanted = ["active"] * len(UNITS)
    deadline = time.monotonic() + 30
    while (units := inside("systemctl is-active " + " ".join(UNITS))).stdout.split() != wanted:
        if time.monotonic() > deadline:
            journal = inside("journalctl -n 60 --no-pager" + "".join(f" -u {u}" for u in UNITS))
            raise AssertionError(f"units not active: {units.stdout}\n{journal.stdout}")
        time.sleep(0.5)


def _unit_of_listener(inside, port: int) -> str:
    """The systemd unit whose process listens on TCP `port` in the container."""
    out = inside(f"ss -Hltnp 'sport = :{port}'").stdout
    pid = re.search(r"pid=(\d+)", out)
    assert pid, f"nothing listens on port {port}: {out!r}"
    cgroup = inside(f"cat /proc/{pid.group(1)}/cgroup").stdout
    unit = re.search(r"/([\w.@-]+\.service)\b", cgroup)
    return unit.group(1) if unit else cgroup


def _customer_row(browser: Browser, login: dict[str, str], name: str) -> str | None:
    """The admin's customer-list row for `name`, logged in as the demo owner."""
    admin = "http://127.0.0.1:8137"
    _, page = browser.follow(f"{admin}/login")
    token = CSRF.search(page)
    assert token, "no CSRF token on the admin login page"
    form = {"email": login["email"], "password": login["password"],
            "csrf_token": token.group(1) or token.group(2)}  # fmt: skip
    status, location, _ = browser.http(f"{admin}/login", form=form)
    assert status in (302, 303) and "/login" not in location, "demo login refused"
    _, text = browser.follow(f"{admin}/customers")
    return next((r for r in re.split(r"<tr\b", html.unescape(text)) if name in r), None)


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
    _wait_active(inside)
    assert _unit_of_listener(inside, 8080) == "porchlight-portal.service"
    assert netns.exec(["curl", "-sf", "-o", "/dev/null", INTERNET_URL]).returncode == 0
    assert netns.exec(["cat", "/proc/sys/net/ipv4/ip_forward"]).stdout.strip() == "1"

    # 1. DHCP from the installed dnsmasq, with the RFC 8910 option 114.
    hook = guest_dhcp.hook_path(tmp_path, guest_ns.name)
    hook.write_text(HOOK.replace("LEASE", str(guest_dhcp.lease_path(tmp_path, guest_ns.name))))
    hook.chmod(0o700)
    dhcp = run(guest_dhcp.udhcpc_argv(tmp_path, guest_ns.name), timeout=60, check=False)
    assert dhcp.returncode == 0, dhcp.stdout + dhcp.stderr
    lease = guest_dhcp.read_lease(tmp_path, guest_ns.name)
    assert lease.get("ip", "").startswith("10.77.0.") and lease.get("router") == "10.77.0.1"
    assert guest_dhcp.option_114(lease) == CAPTIVE_API
    leases = inside("cat /var/lib/porchlight/dnsmasq/dnsmasq.leases").stdout
    assert mac in leases and lease["ip"] in leases, leases
    phone = Browser(guest_ns.name, tmp_path / "guest-cookies.txt")

    def captive() -> bool:
        status, _, body = phone.http(CAPTIVE_API)
        assert status == 200, status
        return bool(json.loads(body)["captive"])

    def captive_becomes(expected: bool) -> bool:
        deadline = time.monotonic() + 10  # the portal caches a client's state briefly
        while captive() is not expected:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.5)
        return True

    assert captive() is True

    # 2. Before login the installed portal answers instead of the internet host.
    status, _, body = phone.http(INTERNET_URL)
    assert HOME_MARKER not in body and status in (200, 302, 303, 307), status
    portal_url, page = phone.follow(INTERNET_URL)
    assert portal_url.startswith(PORTAL), portal_url
    token = CSRF.search(page)
    action = re.search(r'<form[^>]*action="([^"]*login[^"]*)"', page)
    assert token and action, "no login form with a CSRF token on the portal page"
    assert phone.http(APPLE_PROBE)[2] != APPLE_SUCCESS  # the phone opens its login sheet
    # HTTPS is refused at once (TCP reset), not dropped: phones fall back fast
    https = guest_ns.exec(["curl", "-sS", "-m", "8", "-o", "/dev/null", f"https://{INTERNET_IP}/"])
    assert https.returncode == 7, https.stderr  # 7: could not connect; 28 would be a timeout

    # 3. The login form, as a phone submits it.
    name = f"Deploy Guest {uuid.uuid4().hex[:6]}"
    status, _, body = phone.http(
        urljoin(portal_url, html.unescape(action.group(1))),
        form={
            "csrf_token": token.group(1) or token.group(2),
            "lang": "en",
            "channel": "form",
            "name": name,
            "phone": "0912 345 678",
            "consent_wifi": "yes",
        },  # fmt: skip
    )
    assert status in (200, 302, 303), (status, body[:500])

    # 4. The installed agent put the MAC into the kernel set; 5. the internet answers.
    assert mac in _allowed_macs(inside)
    status, _, body = phone.http(INTERNET_URL)
    assert status == 200 and HOME_MARKER in body, (status, body[:300])
    assert phone.http(APPLE_PROBE)[2] == APPLE_SUCCESS  # the login sheet closes
    assert captive_becomes(False)
    # the session outlives an agent restart (the store is the truth, the table stays)
    restart = inside("systemctl restart porchlight-agent")
    assert restart.returncode == 0, restart.stderr
    _wait_active(inside)
    assert mac in _allowed_macs(inside)
    assert HOME_MARKER in phone.http(INTERNET_URL)[2]

    # 6. The agent's sync brings the visit to the admin's customer list.
    manager = Browser(netns.name, tmp_path / "admin-cookies.txt")
    deadline = time.monotonic() + 60
    while (row := _customer_row(manager, admin_login, name)) is None:
        assert time.monotonic() < deadline, f"{name} not on the admin's list within 60 s"
        time.sleep(2)
    assert "+84912345678" in row or "0912 345 678" in row, row
    assert "Lab Café" in row, row
    visits = [c for c in re.findall(r"<td\b[^>]*>(.*?)</td>", row, re.S) if "#visits" in c]
    assert [re.sub(r"<[^>]+>", "", v).strip() for v in visits] == ["1"], row

    # 7. Deauth inside the container: the guest is back at the portal.
    done = inside(f"/opt/porchlight/current/bin/porchlight agent deauth {mac}")
    assert done.returncode == 0, done.stdout + done.stderr
    assert mac not in _allowed_macs(inside)
    status, _, body = phone.http(INTERNET_URL)
    assert HOME_MARKER not in body, body[:300]
    assert phone.follow(INTERNET_URL)[0].startswith(PORTAL)
    assert captive_becomes(True)
