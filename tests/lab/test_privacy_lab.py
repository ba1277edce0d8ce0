"""A guest's own say, end to end in the venue lab (real agent, portal, admin, sync).

The guest logs in with marketing consent, opens "My data" on the portal and
withdraws it with one tap; after sync the admin shows the withdrawal on the
customer's page and in the audit log, the list's consent filter no longer
counts them, and a marketing export (`porchlight admin export --marketing`)
leaves them out while a plain export keeps them. The router's log files hold
no name or phone.
"""

from __future__ import annotations

import csv
import html
import os
import re
import time
import uuid
from pathlib import Path

import pytest
import requests
from labkit import porchlight
from test_end_to_end import CSRF, Guest, _free_port

from porchlight.lab import guest_dhcp
from porchlight.lab.state import load

pytestmark = [pytest.mark.root, pytest.mark.slow]

PORTAL = "http://10.77.0.1:8080"


def _admin(admin_url: str, login: dict[str, str]) -> requests.Session:
    session = requests.Session()
    page = session.get(f"{admin_url}/login", timeout=10)
    token = CSRF.search(page.text)
    assert token
    answer = session.post(
        f"{admin_url}/login",
        data={"email": login["email"], "password": login["password"],
              "csrf_token": token.group(1) or token.group(2)},
        timeout=10,
    )  # fmt: skip
    assert answer.status_code == 200 and "/login" not in answer.url
    return session


def _until(check, seconds: float = 30.0):
    deadline = time.monotonic() + seconds
    while True:
        found = check()
        if found or time.monotonic() > deadline:
            return found
        time.sleep(1)


def _export(state_dir: Path, out: Path, *extra: str) -> list[list[str]]:
    env = {
        **os.environ,
        "PORCHLIGHT_ADMIN_DATABASE_URL": f"sqlite:///{state_dir / 'admin' / 'admin.db'}",
    }
    done = porchlight(
        "admin", "export", "--tenant", "demo", "--format", "csv", "--lang", "en",
        "--out", str(out), *extra, env=env,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    path = Path(done.stdout.split(":")[0])
    return list(csv.reader(path.read_text(encoding="utf-8-sig").splitlines()))


def test_guest_withdraws_marketing_from_the_portal_and_the_admin_follows(state_dir, tmp_path):
    up = porchlight("lab", "up", "--state-dir", str(state_dir), "--admin-port", str(_free_port()))
    assert up.returncode == 0, up.stderr + up.stdout
    state = load(str(state_dir))
    assert state is not None
    info = state.info
    guest_ns = info["guests"][0]["netns"]
    admin_url = info["admin_url"]
    guest_dhcp.request_lease(state_dir, guest_ns)
    guest = Guest(guest_ns, tmp_path / "cookies.txt")

    # 1. Log in with marketing consent.
    portal_url, page = guest.follow("http://internet.test/")
    token = CSRF.search(page)
    assert token and 'name="consent_marketing"' in page
    name = f"Lab Privacy {uuid.uuid4().hex[:6]}"
    status, _, _ = guest.http(
        f"{PORTAL}/login",
        form={"csrf_token": token.group(1) or token.group(2), "lang": "en", "channel": "form",
              "name": name, "phone": "0912 000 020", "consent_wifi": "yes",
              "consent_marketing": "yes"},
    )  # fmt: skip
    assert status in (200, 302, 303)
    admin = _admin(admin_url, info["demo_login"])

    def listed(consent: str) -> bool:
        text = html.unescape(admin.get(f"{admin_url}/customers?consent={consent}", timeout=10).text)
        return name in text

    assert _until(lambda: listed("marketing")), "the consenting guest never reached the admin"
    assert any(
        name in row for row in map(" ".join, _export(state_dir, tmp_path / "a", "--marketing"))
    )

    # 2. "My data" on the portal: one tap withdraws marketing consent.
    _, mine = guest.follow(f"{PORTAL}/my-data")
    assert "+84 ••• ••• 020" in mine and "Stop offers and news" in mine
    token = CSRF.search(mine)
    assert token
    status, location, _ = guest.http(
        f"{PORTAL}/my-data",
        form={"csrf_token": token.group(1) or token.group(2), "action": "withdraw", "lang": "en"},
    )
    assert status == 303 and "done=withdrawn" in location

    # 3. After sync the admin shows it withdrawn: the filter, the page, the audit log.
    assert _until(lambda: listed("no_marketing") and not listed("marketing")), "not withdrawn"
    text = html.unescape(admin.get(f"{admin_url}/customers?consent=no_marketing", timeout=10).text)
    row = next(r for r in re.split(r"<tr\b", text) if name in r)
    customer = re.search(r"/customers/(\d+)", row)
    assert customer, "no link to the customer"
    page = html.unescape(admin.get(f"{admin_url}/customers/{customer.group(1)}", timeout=10).text)
    assert page.count("mkt-v1") + page.count("marketing-v1") >= 2  # the yes, then the no
    audit = admin.get(f"{admin_url}/audit?action=guest_consent_withdrawn", timeout=10).text
    assert f"/customers/{customer.group(1)}" in audit or customer.group(1) in audit

    # 4. The router's logs (agent, portal, dnsmasq) hold no name or phone.
    for log_file in (state_dir / "logs").glob("*.log"):
        if log_file.stem.startswith(("admin", "forwarder")):
            continue  # not the router's
        text = log_file.read_text(errors="replace")
        assert name not in text and "912000020" not in text and "0912 000 020" not in text, log_file

    # 5. A marketing export leaves the guest out; a plain export keeps them.
    marketing = _export(state_dir, tmp_path / "m", "--marketing")
    assert not any(name in " ".join(row) for row in marketing)
    plain = _export(state_dir, tmp_path / "p")
    assert any(name in " ".join(row) for row in plain)
