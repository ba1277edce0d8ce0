"""Each OS's captive-portal detection sequence, before and after login."""

from __future__ import annotations

import json
import time

import pytest
from portal_helpers import PORTAL, form_post

from porchlight.portal.detection import APPLE_SUCCESS, FIREFOX_CANONICAL

LOGIN = {"channel": "form", "name": "An", "phone": "0912345678", "consent_wifi": "yes"}

# (OS, probe URL, user agent, status after login, exact body after login)
PROBES = [
    ("iOS", "http://captive.apple.com/hotspot-detect.html", "CaptiveNetworkSupport-443.1 wispr",
     200, APPLE_SUCCESS),
    ("macOS (old)", "http://www.apple.com/library/test/success.html", "CaptiveNetworkSupport",
     200, APPLE_SUCCESS),
    ("Android", "http://connectivitycheck.gstatic.com/generate_204", "Dalvik/2.1.0", 204, ""),
    ("Android (vendor)", "http://connectivitycheck.android.com/gen_204", "Dalvik/2.1.0", 204, ""),
    ("Chrome OS", "http://clients3.google.com/generate_204", "Mozilla/5.0 (X11; CrOS)", 204, ""),
    ("Windows 10/11", "http://www.msftconnecttest.com/connecttest.txt", "Microsoft NCSI",
     200, "Microsoft Connect Test"),
    ("Windows 7/8", "http://www.msftncsi.com/ncsi.txt", "Microsoft NCSI", 200, "Microsoft NCSI"),
    ("Firefox", "http://detectportal.firefox.com/canonical.html", "Mozilla/5.0 Firefox/120.0",
     200, FIREFOX_CANONICAL),
    ("Firefox", "http://detectportal.firefox.com/success.txt", "Mozilla/5.0 Firefox/120.0",
     200, "success\n"),
]  # fmt: skip


@pytest.mark.parametrize(("os_name", "url", "agent_string", "status", "body"), PROBES)
def test_probe_opens_the_portal_before_login_and_closes_it_after(
    guest, agent, os_name, url, agent_string, status, body
):
    headers = {"User-Agent": agent_string}
    before = guest.get(url, headers=headers)
    assert before.status_code == 302, os_name
    assert before.headers["Location"] == f"{PORTAL}/"
    assert before.headers["Cache-Control"] == "no-store"
    sheet = guest.get(before.headers["Location"], headers=headers)
    assert sheet.status_code == 200
    assert 'name="csrf_token"' in sheet.get_data(as_text=True)

    assert form_post(guest, LOGIN).status_code == 303

    after = guest.get(url, headers=headers)
    assert after.status_code == status, os_name
    assert after.get_data(as_text=True) == body
    assert after.headers["Cache-Control"] == "no-store"


def test_any_other_page_leads_to_the_portal_whatever_the_host_header_says(guest):
    for url in ("http://internet.test/news?id=1", "http://evil.example/login?next=//evil"):
        answer = guest.get(url)
        assert answer.status_code == 302
        assert answer.headers["Location"] == f"{PORTAL}/"


def test_a_page_reached_through_an_old_connection_after_login_points_to_itself(guest, agent):
    form_post(guest, LOGIN)
    answer = guest.get("http://internet.test/news?id=1", headers={"Accept-Language": "en"})
    assert answer.status_code == 200
    assert 'href="http://internet.test/news?id=1"' in answer.get_data(as_text=True)


def test_unknown_client_and_agent_down_still_lead_to_the_portal(guest, agent):
    del agent.clients["10.99.0.23"]
    assert guest.get("http://captive.apple.com/hotspot-detect.html").status_code == 302
    agent.stop()
    answer = guest.get("http://connectivitycheck.gstatic.com/generate_204")
    assert answer.status_code == 302
    assert answer.headers["Location"] == f"{PORTAL}/"


def test_rfc8908_captive_api(guest, agent):
    before = guest.get(f"{PORTAL}/api/captive")
    assert before.headers["Content-Type"] == "application/captive+json"
    assert "no-store" in before.headers["Cache-Control"]
    assert json.loads(before.data) == {"captive": True, "user-portal-url": f"{PORTAL}/"}
    form_post(guest, LOGIN)
    after = json.loads(guest.get(f"{PORTAL}/api/captive").data)
    assert after["captive"] is False
    assert after["seconds-remaining"] == 3600
    assert after["user-portal-url"] == f"{PORTAL}/"


def test_unknown_portal_path_is_a_404_not_a_redirect(guest):
    assert guest.get(f"{PORTAL}/nope").status_code == 404


def test_error_pages_speak_the_guests_language(guest):
    answer = guest.get(f"{PORTAL}/nope", headers={"Accept-Language": "vi"})
    assert "Trang này không tồn tại." in answer.get_data(as_text=True)
    huge = guest.post(f"{PORTAL}/login", data={"name": "x" * 40000})
    assert huge.status_code == 413


def test_another_worker_sees_the_login_within_the_probe_cache_time(agent):
    from portal_helpers import phone_client

    from porchlight.portal.app import create_app

    settings = {"SECRET_KEY": "s", "AGENT_SOCKET": agent.path, "PORTAL_URL": PORTAL}
    worker_a = create_app({**settings, "CLIENT_CACHE_SECONDS": 0.3})
    worker_b = create_app({**settings, "CLIENT_CACHE_SECONDS": 0.3})
    probe = "http://captive.apple.com/hotspot-detect.html"
    assert phone_client(worker_b).get(probe).status_code == 302  # B caches "pending"
    assert form_post(phone_client(worker_a), LOGIN).status_code == 303
    assert phone_client(worker_a).get(probe).status_code == 200  # A forgot its copy
    time.sleep(0.35)
    assert phone_client(worker_b).get(probe).get_data(as_text=True) == APPLE_SUCCESS


def test_ipv4_mapped_addresses_are_the_guests_ipv4(app, agent):
    from portal_helpers import phone_client

    mapped = phone_client(app, "::ffff:10.99.0.23")
    assert form_post(mapped, LOGIN).status_code == 303
    assert agent.online_macs() == {"3a:11:22:33:44:55"}
    assert mapped.get("http://captive.apple.com/hotspot-detect.html").status_code == 200


def test_a_guest_deauthorized_elsewhere_is_sent_back_to_the_portal_at_once(guest, agent):
    """The per-worker client cache never keeps a deauthorized guest 'online'."""
    url = "http://connectivitycheck.gstatic.com/generate_204"
    assert form_post(guest, LOGIN).status_code == 303
    assert guest.get(url).status_code == 204  # online, and now cached as online
    for client in agent.clients.values():  # the operator ran `porchlight agent deauth`
        client["state"] = "pending"
    assert guest.get(url).status_code == 302
    page = guest.get("http://internet.test/")
    assert page.status_code == 302 and page.headers["Location"] == f"{PORTAL}/"
