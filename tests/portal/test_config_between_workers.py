"""Two portal workers cache the agent's config on their own: a page one of them
rendered from a new config must be accepted by the other (CI saw "this way of
logging in is not available here" for a voucher the page had just offered)."""

from __future__ import annotations

import re

from portal_helpers import PORTAL, csrf_of, phone_client

from porchlight.portal.app import create_app


def _worker(agent):
    return create_app({"SECRET_KEY": "shared-secret", "AGENT_SOCKET": agent.path,
                       "PORTAL_URL": PORTAL, "CONFIG_CACHE_SECONDS": 60.0})  # fmt: skip


def _two_workers_one_behind(agent):
    """Worker B caches a config without vouchers; the owner then turns vouchers on
    and worker A (first asked now) renders the page with them."""
    agent.config["portal"]["channels"] = ["form", "click"]
    worker_a, worker_b = _worker(agent), _worker(agent)
    assert 'value="voucher"' not in phone_client(worker_b).get(f"{PORTAL}/").get_data(True)
    agent.config["portal"]["channels"] = ["form", "click", "voucher"]
    page = phone_client(worker_a).get(f"{PORTAL}/").get_data(as_text=True)
    assert 'value="voucher"' in page
    return page, phone_client(worker_b)


def test_a_form_rendered_by_one_worker_is_checked_by_the_other_against_its_config(agent):
    page, guest_on_b = _two_workers_one_behind(agent)
    tag = re.search(r'name="config_tag" value="([0-9a-f]+)"', page).group(1)
    answer = guest_on_b.post(f"{PORTAL}/login", data={
        "csrf_token": csrf_of(page), "config_tag": tag, "lang": "vi", "channel": "voucher",
        "voucher": "CAFE2026", "consent_wifi": "yes"})  # fmt: skip
    assert answer.status_code == 303, answer.get_data(as_text=True)[:400]
    assert agent.logins and agent.logins[0]["data"]["voucher"] == "CAFE2026"


def test_a_post_without_the_tag_is_checked_afresh_when_its_channel_is_missing(agent):
    page, guest_on_b = _two_workers_one_behind(agent)
    answer = guest_on_b.post(f"{PORTAL}/login", data={
        "csrf_token": csrf_of(page), "lang": "vi", "channel": "voucher",
        "voucher": "CAFE2026", "consent_wifi": "yes"})  # fmt: skip
    assert answer.status_code == 303, answer.get_data(as_text=True)[:400]


def test_a_channel_the_agent_really_lacks_is_still_refused(agent):
    _, guest_on_b = _two_workers_one_behind(agent)
    agent.config["portal"]["channels"] = ["form", "click"]
    page = guest_on_b.get(f"{PORTAL}/").get_data(as_text=True)
    answer = guest_on_b.post(f"{PORTAL}/login", data={
        "csrf_token": csrf_of(page), "lang": "vi", "channel": "voucher",
        "voucher": "CAFE2026", "consent_wifi": "yes"})  # fmt: skip
    assert answer.status_code == 422
    assert "Cách đăng nhập này không có tại đây." in answer.get_data(as_text=True)
    assert not agent.logins
