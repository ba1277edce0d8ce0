"""A lab guest through a router booted under systemd-nspawn: the phone's side.

Shared by test_deploy_guest_under_systemd.py (a router installed by hand) and
test_image_firstboot.py (a router flashed from the image and adopted): the
guest namespace on the router's LAN veth, the lab's internet host behind the
WAN, DHCP with busybox udhcpc, the portal's login form as a phone posts it,
the router's `allowed` set and units, the visit on the admin's customer list.
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
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urljoin

from deploykit import REPO, Browser, Netns, run

from porchlight.lab import guest_dhcp
from porchlight.lab.internet_host import APPLE_SUCCESS, HOME_MARKER

__all__ = ["APPLE_SUCCESS", "HOME_MARKER"]

PORTAL = "http://10.77.0.1:8080/"
CAPTIVE_API = "http://10.77.0.1:8080/api/captive"
ADMIN = "http://127.0.0.1:8137"
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
Inside = Callable[..., subprocess.CompletedProcess]


def new_netns() -> Netns:
    name = "pl" + secrets.token_hex(3)
    run(["ip", "netns", "add", name])
    run(["ip", "-n", name, "link", "set", "lo", "up"])
    return Netns(name)


@contextmanager
def guest_on_lan(router: Netns) -> Iterator[tuple[Netns, str]]:
    """A phone: the router's lan0p moved into a namespace of its own as eth0; (ns, MAC)."""
    ns = new_netns()
    try:
        run(["ip", "-n", router.name, "link", "set", "lan0p", "netns", ns.name])
        run(["ip", "-n", ns.name, "link", "set", "lan0p", "name", "eth0"])
        run(["ip", "-n", ns.name, "link", "set", "eth0", "up"])
        link = json.loads(run(["ip", "-n", ns.name, "-j", "link", "show", "eth0"]).stdout)
        yield ns, link[0]["address"].lower()
    finally:
        run(["ip", "netns", "del", ns.name], check=False)


@contextmanager
def internet_host(ns: Netns, address: str) -> Iterator[str]:
    """The lab's internet host on `address`:80 in `ns`; yields its home URL."""
    url = f"http://{address}/"
    server = subprocess.Popen(
        ["ip", "netns", "exec", ns.name, str(REPO / ".venv/bin/python"), "-m"]
        + ["porchlight.lab.internet_host", "--bind", address, "--port", "80"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        ns.wait_for_http(url, "the internet host")
        yield url
    finally:
        server.terminate()
        server.wait(timeout=20)


def dhcp_lease(guest: Netns, folder: Path) -> dict[str, str]:
    """A lease for the guest from the router's dnsmasq (busybox udhcpc), as a dict."""
    hook = guest_dhcp.hook_path(folder, guest.name)
    hook.write_text(HOOK.replace("LEASE", str(guest_dhcp.lease_path(folder, guest.name))))
    hook.chmod(0o700)
    dhcp = run(guest_dhcp.udhcpc_argv(folder, guest.name), timeout=60, check=False)
    assert dhcp.returncode == 0, dhcp.stdout + dhcp.stderr
    return guest_dhcp.read_lease(folder, guest.name)


def allowed_macs(inside: Inside) -> set[str]:
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


def wait_active(inside: Inside, seconds: float = 30) -> None:
    """Wait until the router's units are all active. The first config pull after
    enrollment may rewrite the walled garden, which restarts dnsmasq
    (porchlight-dnsmasq-reload.path), so a moment after the install it may not be."""
    wanted = ["active"] * len(UNITS)
    deadline = time.monotonic() + seconds
    while (units := inside("systemctl is-active " + " ".join(UNITS))).stdout.split() != wanted:
        if time.monotonic() > deadline:
            journal = inside("journalctl -n 60 --no-pager" + "".join(f" -u {u}" for u in UNITS))
            raise AssertionError(f"units not active: {units.stdout}\n{journal.stdout}")
        time.sleep(0.5)


def login_form(phone: Browser, page_url: str, page: str, name: str) -> None:
    """Post the portal page's login form as a phone does (a new guest, Wi-Fi consent)."""
    token = CSRF.search(page)
    action = re.search(r'<form[^>]*action="([^"]*login[^"]*)"', page)
    assert token and action, "no login form with a CSRF token on the portal page"
    status, _, body = phone.http(
        urljoin(page_url, html.unescape(action.group(1))),
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


def new_guest_name() -> str:
    return f"Deploy Guest {uuid.uuid4().hex[:6]}"


def customer_row(browser: Browser, login: dict[str, str], name: str) -> str | None:
    """The admin's customer-list row for `name`, logged in as the demo owner."""
    _, page = browser.follow(f"{ADMIN}/login")
    token = CSRF.search(page)
    assert token, "no CSRF token on the admin login page"
    form = {"email": login["email"], "password": login["password"],
            "csrf_token": token.group(1) or token.group(2)}  # fmt: skip
    status, location, _ = browser.http(f"{ADMIN}/login", form=form)
    assert status in (302, 303) and "/login" not in location, "demo login refused"
    _, text = browser.follow(f"{ADMIN}/customers")
    return next((r for r in re.split(r"<tr\b", html.unescape(text)) if name in r), None)


def wait_for_customer(
    admin_side: Netns, login: dict[str, str], name: str, folder: Path, seconds: float = 60
) -> str:
    """The customer-list row once the agent's sync has brought the visit to the admin."""
    manager = Browser(admin_side.name, folder / "admin-cookies.txt")
    deadline = time.monotonic() + seconds
    while (row := customer_row(manager, login, name)) is None:
        assert time.monotonic() < deadline, f"{name} not on the admin's list within {seconds} s"
        time.sleep(2)
    assert "+84912345678" in row or "0912 345 678" in row, row
    assert "Lab Café" in row, row
    return row


def captive(phone: Browser) -> bool:
    """What the portal's RFC 8908 API tells this phone."""
    status, _, body = phone.http(CAPTIVE_API)
    assert status == 200, status
    return bool(json.loads(body)["captive"])


def captive_becomes(phone: Browser, expected: bool, seconds: float = 10) -> bool:
    deadline = time.monotonic() + seconds  # the portal caches a client's state briefly
    while captive(phone) is not expected:
        if time.monotonic() > deadline:
            return False
        time.sleep(0.5)
    return True
