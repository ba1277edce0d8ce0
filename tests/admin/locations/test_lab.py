"""In the venue lab (real agent, portal, admin): a guest-page change shows on the
router's login page within one config poll, and a guest logs in with a voucher
made in the admin."""

from __future__ import annotations

import html
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path

import pytest
import requests

pytestmark = [pytest.mark.root, pytest.mark.slow]

POLL_DEADLINE = 45  # the agent polls every 30 s (±10 %)
PORCHLIGHT = [sys.executable, "-m", "porchlight.cli"]
CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"|value="([^"]+)"[^>]*name="csrf_token"')


def _run(*argv: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(argv), capture_output=True, text=True, timeout=timeout, check=False)


def _in_netns(netns: str, *argv: str) -> subprocess.CompletedProcess[str]:
    return _run("ip", "netns", "exec", netns, *argv, timeout=30)


@pytest.fixture
def state_dir() -> Iterator[Path]:
    base = Path(tempfile.mkdtemp(prefix="porchlight-loctest-", dir="/tmp"))
    base.chmod(0o711)
    path = base / "state"
    try:
        yield path
    finally:
        from porchlight.lab import down as lab_down
        from porchlight.lab import state as lab_state

        if (path / lab_state.STATE_FILE).exists():
            recorded = lab_state.load(str(path))
            try:
                lab_down.down(str(path))
            except Exception:  # noqa: BLE001 - clean up whatever is left below
                pass
            existing = _run("ip", "netns", "list").stdout
            for name in recorded.namespaces if recorded else []:
                if name in existing:
                    _run("ip", "netns", "del", name)
        shutil.rmtree(base, ignore_errors=True)


class FormValues(HTMLParser):
    """The values a browser would submit from the form with id `form_id`."""

    def __init__(self, form_id: str) -> None:
        super().__init__()
        self.form_id, self.inside, self.values = form_id, False, {}
        self._textarea: str | None = None
        self._select: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.inside = a.get("id") == self.form_id
        if not self.inside or "name" not in a and tag != "option":
            return
        if tag == "input" and a.get("type") not in ("file", "submit"):
            if a.get("type") != "checkbox" or "checked" in a:
                self.values[a["name"]] = a.get("value", "on" if a.get("type") == "checkbox" else "")
        elif tag == "textarea":
            self._textarea = a["name"]
            self.values[a["name"]] = ""
        elif tag == "select":
            self._select = a["name"]
        elif tag == "option" and self._select and "selected" in a:
            self.values[self._select] = a.get("value", "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "textarea":
            self._textarea = None
        elif tag == "select":
            self._select = None
        elif tag == "form":
            self.inside = False

    def handle_data(self, data: str) -> None:
        if self._textarea:
            self.values[self._textarea] += data


def form_values(page: str, form_id: str) -> dict[str, str]:
    parser = FormValues(form_id)
    parser.feed(page)
    return parser.values


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _guest_get(netns: str, url: str, jar: Path, form: dict[str, str] | None = None) -> str:
    argv = ["curl", "-sS", "-m", "10", "-L", "-b", str(jar), "-c", str(jar),
            "-H", "Accept-Language: vi"]  # fmt: skip
    for key, value in (form or {}).items():
        argv += ["--data-urlencode", f"{key}={value}"]
    done = _in_netns(netns, *argv, url)
    assert done.returncode == 0, done.stderr
    return html.unescape(done.stdout)


def test_guest_page_change_and_voucher_reach_the_lab_router(
    state_dir: Path, tmp_path: Path
) -> None:
    from porchlight.lab import guest_dhcp
    from porchlight.lab.state import load

    up = _run(*PORCHLIGHT, "lab", "up", "--state-dir", str(state_dir),
              "--admin-port", str(_free_port()))  # fmt: skip
    assert up.returncode == 0, up.stderr + up.stdout
    info = load(str(state_dir)).info
    if not info.get("enrolled"):
        pytest.fail(f"lab router not enrolled: {info.get('skipped')}")
    admin, login = info["admin_url"], info["demo_login"]
    guest_ns, mac = info["guests"][0]["netns"], info["guests"][0]["mac"]
    guest_dhcp.request_lease(state_dir, guest_ns)
    jar = tmp_path / "cookies.txt"
    portal = "http://10.77.0.1:8080/"

    # The admin, as the venue owner: new welcome text and a voucher batch.
    s = requests.Session()
    token = CSRF.search(s.get(f"{admin}/login", timeout=10).text)
    s.post(f"{admin}/login", timeout=10, data={
        "email": login["email"], "password": login["password"],
        "csrf_token": token.group(1) or token.group(2)})  # fmt: skip
    listing = s.get(f"{admin}/locations/", timeout=10).text
    location_id = re.search(r'href="/locations/(\d+)">Lab Café<', listing).group(1)
    # The batch first: any config that shows the new text below carries its codes too.
    vouchers_url = f"{admin}/locations/{location_id}/vouchers"
    token = CSRF.search(s.get(vouchers_url, timeout=10).text)
    made = s.post(vouchers_url, timeout=10, data={
        "count": "2", "duration": "1", "unit": "hours", "max_uses": "1", "max_devices": "1",
        "csrf_token": token.group(1) or token.group(2)})  # fmt: skip
    code = re.search(r'<td class="mono code">([A-Z0-9]{8})</td>', made.text).group(1)
    page_url = f"{admin}/locations/{location_id}/guest-page"
    values = form_values(s.get(page_url, timeout=10).text, "settings-form")
    welcome = f"Xin chào phòng lab {int(time.time())}"
    # vouchers are opt-in on a new location: the owner turns them on with the text
    values.update(welcome_vi=welcome, color_primary="#7c3aed", channel_voucher="on")
    saved = s.post(page_url, data=values, timeout=10)
    assert saved.history and saved.history[0].status_code == 302, saved.text[:500]  # saved
    assert 'data-testid="form-error"' not in saved.text

    # Within one poll the router's login page shows the new text.
    deadline = time.monotonic() + POLL_DEADLINE
    page = _guest_get(guest_ns, portal, jar)
    while welcome not in page and time.monotonic() < deadline:
        time.sleep(2)
        page = _guest_get(guest_ns, portal, jar)
    assert welcome in page, "the router did not show the new welcome text within one poll"
    assert "#7c3aed" in page

    # The guest logs in with the voucher (typed in lower case, as phones do).
    token = CSRF.search(page)
    action = re.search(r'<form[^>]*action="([^"]*login[^"]*)"', page).group(1)
    answer = _guest_get(guest_ns, requests.compat.urljoin(portal, action), jar, form={
        "csrf_token": token.group(1) or token.group(2), "lang": "vi", "channel": "voucher",
        "voucher": code.lower(), "consent_wifi": "yes"})  # fmt: skip
    allowed = _in_netns(info["router_netns"], "nft", "-j", "list", "set", "inet", "porchlight",
                        "allowed")  # fmt: skip
    errors = re.findall(r'class="(?:err|notice)"[^>]*>([^<]*)<', answer)
    assert mac in allowed.stdout.lower(), (errors, allowed.stdout)
