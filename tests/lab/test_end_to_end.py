"""One guest, end to end, in the venue lab (`porchlight lab up`, real parts).

A guest namespace gets an address by DHCP (busybox udhcpc, option 114 included);
its HTTP request to the internet host is answered by the portal instead; it
submits the login form as a phone would (plain HTTP: GET the page, read the
CSRF hidden input, POST name, phone and consent); its MAC lands in the agent's
nftables `allowed` set; the same request now reaches the internet host; the
admin's customer list (logged in as the demo owner) shows the customer with
one visit at "Lab Café"; `porchlight agent deauth MAC` sends the guest back to
the portal.
"""

from __future__ import annotations

import html
import json
import pwd
import re
import socket
import time
import uuid
from pathlib import Path

import pytest
import requests
from labkit import in_netns, porchlight

from porchlight.lab import dnsmasq_conf, guest_dhcp
from porchlight.lab.internet_host import HOME_MARKER
from porchlight.lab.state import load

pytestmark = [pytest.mark.root, pytest.mark.slow]

INTERNET_URL = "http://internet.test/"
APPLE_URL = "http://captive.apple.com/hotspot-detect.html"
APPLE_SUCCESS = "<HTML><HEAD><TITLE>Success</TITLE></HEAD><BODY>Success</BODY></HTML>"
CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"|value="([^"]+)"[^>]*name="csrf_token"')


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Guest:
    """A phone in a guest namespace, speaking plain HTTP with curl and a cookie jar."""

    def __init__(self, netns: str, jar: Path) -> None:
        self.netns = netns
        self.jar = jar

    def http(self, url: str, form: dict[str, str] | None = None) -> tuple[int, str, str]:
        """(status, Location header, body) without following redirects."""
        argv = ["curl", "-sS", "-m", "10", "-i", "-b", str(self.jar), "-c", str(self.jar),
                "-H", "User-Agent: Mozilla/5.0 (Linux; Android 14) lab-guest",
                "-H", "Accept-Language: en"]  # fmt: skip
        for key, value in (form or {}).items():
            argv += ["--data-urlencode", f"{key}={value}"]
        done = in_netns(self.netns, *argv, url)
        assert done.returncode == 0, f"curl {url}: {done.stderr}"
        head, _, body = done.stdout.replace("\r\n", "\n").partition("\n\n")
        while head.startswith("HTTP/1.1 100"):
            head, _, body = body.partition("\n\n")
        status = int(head.split()[1])
        location = ""
        for line in head.splitlines()[1:]:
            name, _, value = line.partition(":")
            if name.strip().lower() == "location":
                location = value.strip()
        return status, location, body

    def follow(self, url: str) -> tuple[str, str]:
        """GET `url`, following up to 5 redirects: (final URL, body)."""
        for _ in range(5):
            status, location, body = self.http(url)
            if status in (301, 302, 303, 307, 308) and location:
                url = requests.compat.urljoin(url, location)
                continue
            assert status == 200, f"{url} answered {status}"
            return url, body
        raise AssertionError(f"too many redirects from {url}")


def _uid(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("Uid:"):
            return int(line.split()[1])
    raise AssertionError(f"no Uid for {pid}")


def _allowed_macs(router: str) -> set[str]:
    done = in_netns(router, "nft", "-j", "list", "set", "inet", "porchlight", "allowed")
    assert done.returncode == 0, done.stderr
    macs: set[str] = set()
    for item in json.loads(done.stdout)["nftables"]:
        for element in item.get("set", {}).get("elem", []):
            value = element["elem"]["val"] if isinstance(element, dict) else element
            macs.add(str(value).lower())
    return macs


def _admin_customers_page(admin_url: str, login: dict[str, str]) -> str:
    session = requests.Session()
    page = session.get(f"{admin_url}/login", timeout=10)
    token = CSRF.search(page.text)
    assert token, "no CSRF token on the admin login page"
    answer = session.post(
        f"{admin_url}/login",
        data={
            "email": login["email"],
            "password": login["password"],
            "csrf_token": token.group(1) or token.group(2),
        },  # fmt: skip
        timeout=10,
    )
    assert answer.status_code == 200 and "/login" not in answer.url, "demo login refused"
    customers = session.get(f"{admin_url}/customers", timeout=10)
    assert customers.status_code == 200
    return html.unescape(customers.text)


def test_one_guest_end_to_end(state_dir, tmp_path):
    admin_port = _free_port()
    up = porchlight("lab", "up", "--state-dir", str(state_dir), "--admin-port", str(admin_port))
    assert up.returncode == 0, up.stderr + up.stdout
    assert "not available yet" not in up.stdout, up.stdout
    state = load(str(state_dir))
    assert state is not None and state.complete
    info = state.info
    router, guest_ns = info["router_netns"], info["guests"][0]["netns"]
    mac = info["guests"][0]["mac"]
    admin_url = info["admin_url"]
    assert "ip netns exec " + guest_ns in up.stdout and admin_url in up.stdout

    # The web parts run as the user the lab says (nobody, unless nobody cannot run
    # this Python); the agent and dnsmasq's parent as root.
    web_uid = pwd.getpwnam(info["web_user"]).pw_uid
    for name in ("portal", "admin", "forwarder"):
        record = state.process(name)
        assert record is not None and record.pid is not None
        assert _uid(record.pid) == web_uid, name

    # 1. DHCP from dnsmasq in the router namespace, with the RFC 8910 option 114.
    lease = guest_dhcp.request_lease(state_dir, guest_ns)
    assert lease["ip"].startswith("10.77.0.")
    assert guest_dhcp.option_114(lease) == dnsmasq_conf.captive_api_url()
    api_url = guest_dhcp.option_114(lease)
    guest = Guest(guest_ns, tmp_path / "cookies.txt")

    def captive() -> bool:
        status, _, body = guest.http(api_url)
        assert status == 200, status
        answer = json.loads(body)
        assert answer["user-portal-url"].startswith("http://10.77.0.1:8080/")
        return bool(answer["captive"])

    assert captive() is True  # RFC 8908 API at the option-114 URL

    def captive_becomes(expected: bool) -> bool:
        """The portal caches a client's state for probes (2 s): allow it to catch up."""
        deadline = time.monotonic() + 5
        while captive() is not expected:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.5)
        return True

    # 2. Before login the portal answers instead of the internet host.
    status, location, body = guest.http(INTERNET_URL)
    assert HOME_MARKER not in body
    assert status in (302, 303, 307, 200), status
    status, _, body = guest.http(APPLE_URL)
    assert body != APPLE_SUCCESS  # so the phone opens its login sheet
    portal_url, page = guest.follow(INTERNET_URL)
    assert portal_url.startswith("http://10.77.0.1:8080/"), portal_url
    token = CSRF.search(page)
    assert token, "no CSRF hidden input on the portal page"
    action = re.search(r'<form[^>]*action="([^"]*login[^"]*)"', page)
    assert action, "no login form on the portal page"

    # 3. Submit the login form as a phone would.
    name = f"Lab Guest {uuid.uuid4().hex[:6]}"
    phone = "0912 345 678"
    status, location, body = guest.http(
        requests.compat.urljoin(portal_url, html.unescape(action.group(1))),
        form={
            "csrf_token": token.group(1) or token.group(2),
            "lang": "en",
            "channel": "form",
            "name": name,
            "phone": phone,
            "consent_wifi": "yes",
        },  # fmt: skip
    )
    assert status in (200, 302, 303), (status, body[:500])

    # 4. The agent put the guest's MAC into the kernel set.
    assert mac in _allowed_macs(router)
    # ... and its /metrics (the router's loopback only) counts the guest and the lease.
    figures = _agent_metrics(router)
    assert figures['porchlight_agent_clients{state="online"}'] == 1
    assert figures['porchlight_agent_authorizations_total{result="ok"}'] == 1
    assert figures["porchlight_agent_dhcp_leases"] >= 1
    assert figures["porchlight_agent_dhcp_range_size"] == 155

    # 5. The same request now reaches the internet host.
    status, _, body = guest.http(INTERNET_URL)
    assert status == 200 and HOME_MARKER in body
    assert guest.http(APPLE_URL)[2] == APPLE_SUCCESS  # the login sheet closes
    assert captive_becomes(False)

    # 6. Within seconds the admin's customer list shows one visit at Lab Café.
    deadline = time.monotonic() + 30
    while True:
        text = _admin_customers_page(admin_url, info["demo_login"])
        row = next((r for r in re.split(r"<tr\b", text) if name in r), None)
        if row is not None or time.monotonic() > deadline:
            break
        time.sleep(1)
    assert row is not None, f"{name} not on the admin's customer list within 30 s"
    assert "+84912345678" in row or "0912 345 678" in row
    assert "Lab Café" in row, row
    visits = [c for c in re.findall(r"<td\b[^>]*>(.*?)</td>", row, re.S) if "#visits" in c]
    assert len(visits) == 1, row
    assert re.sub(r"<[^>]+>", "", visits[0]).strip() == "1", row

    # 7. Deauthorize: the guest is back at the portal.
    done = porchlight("agent", "deauth", mac, "--socket", info["agent_socket"], timeout=30)
    assert done.returncode == 0, done.stderr
    assert mac not in _allowed_macs(router)
    status, _, body = guest.http(INTERNET_URL)
    assert HOME_MARKER not in body
    portal_again, _ = guest.follow(INTERNET_URL)
    assert portal_again.startswith("http://10.77.0.1:8080/")
    assert captive_becomes(True)


def _agent_metrics(router: str) -> dict[str, float]:
    """The agent's /metrics, read from inside the router namespace (its loopback)."""
    done = in_netns(router, "curl", "-sS", "-m", "5", "http://127.0.0.1:9101/metrics")
    assert done.returncode == 0, done.stderr
    out = {}
    for line in done.stdout.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            out[name] = float(value)
    return out
