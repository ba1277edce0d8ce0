"""The required consent's error sits in its box, the page opens at it, the terms are one tap away.

Real portal, real agent (its socket API and gate on the agent's fake kernel),
in vi, th and en. Without JavaScript the page gets to the error twice over:
the form posts to ``/login#error`` and the first field in error carries
``id="error"`` (the browser scrolls to the fragment) and ``autofocus``.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest
from portal_helpers import PORTAL, form_post, phone_client

from porchlight.portal.app import create_app

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "agent"))
from agentkit import started_agent  # noqa: E402  (the agent's own test runner)

MAC = "3a:10:20:30:40:77"
IP = "10.99.0.77"
WORDS = {
    "vi": ("Vui lòng đồng ý để sử dụng Wi-Fi.", "Đọc điều khoản Wi-Fi", "24 tháng"),
    "th": ("กรุณายอมรับเพื่อใช้งาน Wi-Fi", "อ่านเงื่อนไขการใช้ Wi-Fi", "24 เดือน"),
    "en": ("Please accept to use the Wi-Fi.", "Read the Wi-Fi terms", "24 months"),
}


@pytest.fixture
def phone(tmp_path):
    with started_agent(tmp_path) as (agent, kernel):
        agent.gate.seen(MAC, ip=IP)
        config = dict(agent.gate.config)
        config["portal"] = {**config["portal"], "channels": ["form", "click", "voucher"]}
        config["privacy"] = {"device_days": 90, "customer_months": 24}
        agent.apply_config(config)
        app = create_app({"SECRET_KEY": "t", "AGENT_SOCKET": str(agent.server.path)})
        yield phone_client(app, IP), kernel


def _box(html: str, purpose: str) -> str:
    """The consent's own box: from its <div class="consent-box"> to the next box or button."""
    start = html.index(f'name="consent_{purpose}"')
    start = html.rindex('<div class="consent-box', 0, start)
    return html[start : html.index("</div>", html.index("</label>", start)) + 6]


@pytest.mark.parametrize("lang", ["vi", "th", "en"])
@pytest.mark.parametrize("channel", ["form", "click"])
def test_missing_consent_is_shown_in_its_box_and_the_page_opens_there(phone, lang, channel):
    client, kernel = phone
    fields = {"channel": channel, "name": "Lan", "phone": "0912345678", "lang": lang}
    answer = form_post(client, fields)
    html = answer.get_data(as_text=True)
    assert answer.status_code == 422
    error, read_terms, months = WORDS[lang]
    box = _box(html, "wifi")
    assert box.startswith('<div class="consent-box bad-box" id="error">')
    assert f'<p class="err" id="consent_wifi-err">{error}</p>' in box
    assert 'aria-invalid="true" aria-describedby="consent_wifi-err" autofocus' in box
    assert html.count(" autofocus") == 1 and html.count('id="error"') == 1
    assert 'class="notice"' not in html  # not only at the top: there, nothing at all
    assert re.search(r'<form method="post" action="/login#error"[^>]*novalidate>', html)
    # the terms, one tap away inside the same box, in the guest's language
    assert f'<details class="terms"><summary>{read_terms}</summary>' in box
    assert months in box
    assert MAC not in kernel.sets.get("allowed", {})


def test_the_first_error_gets_the_focus_when_there_are_several(phone):
    client, _ = phone
    answer = form_post(client, {"channel": "form", "name": "", "phone": "1", "lang": "en"})
    html = answer.get_data(as_text=True)
    assert '<label for="f-name" id="error">' in html
    assert re.search(r'id="f-name"[^>]* autofocus>', html)
    assert html.count(" autofocus") == 1 and html.count('id="error"') == 1
    assert 'id="consent_wifi-err"' in html and 'id="phone-err"' in html


def test_the_terms_are_on_the_first_page_too_and_nothing_is_marked(phone):
    client, _ = phone
    html = client.get(f"{PORTAL}/?lang=th").get_data(as_text=True)
    assert "อ่านเงื่อนไขการใช้ Wi-Fi" in html
    assert "ข้อมูลของฉัน" in html  # where the guest sees and erases their data
    assert 'id="error"' not in html and "autofocus" not in html
    assert 'class="consent-box bad-box"' not in html
