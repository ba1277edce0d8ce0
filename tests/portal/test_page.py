"""The login page as the admin preview and phones get it: small, self-contained, branded."""

from __future__ import annotations

import copy
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from portal_fake_agent import CONFIG
from portal_helpers import PORTAL

from porchlight.guest_page.page import render_login, render_success


@pytest.mark.parametrize("lang", ["vi", "th", "en"])
def test_page_is_small_and_loads_nothing_from_elsewhere(lang):
    html = render_login(CONFIG, lang, csrf_token="t" * 80, remembered={"name": "Lan"})
    assert len(html.encode()) < 30 * 1024
    assert "<script" not in html
    assert not re.search(r'(src|href)="(https?:)?//', html)  # nothing external
    assert f'<html lang="{lang}">' in html
    assert 'name="viewport" content="width=device-width' in html


def test_page_is_in_each_language_with_a_switcher():
    assert "Họ và tên" in render_login(CONFIG, "vi")
    assert "เบอร์โทรศัพท์" in render_login(CONFIG, "th")
    english = render_login(CONFIG, "en")
    assert "Phone number" in english and "Welcome to Café Sài Gòn!" in english
    for code in ("vi", "th", "en"):
        assert f'href="/?lang={code}"' in english


def test_branding_comes_from_the_config_and_cannot_inject_css_or_html():
    config = copy.deepcopy(CONFIG)
    config["portal"]["venue_name"] = "Tiệm <b>Hoa</b>"
    config["portal"]["colors"] = {"primary": "#123abc", "background": "red;}</style><script>"}
    html = render_login(config, "en", logo_src="/logo?v=1")
    assert "--p:#123abc" in html
    assert "</style><script>" not in html
    assert "--bg:#f8fafc" in html  # the bad color fell back to the default
    assert "Tiệm &lt;b&gt;Hoa&lt;/b&gt;" in html
    assert '<img src="/logo?v=1"' in html


def test_fields_and_channels_follow_the_venue_choice():
    config = copy.deepcopy(CONFIG)
    config["portal"]["channels"] = ["form"]
    config["portal"]["fields"] = {"name": "optional", "email": "required"}
    html = render_login(config, "en")
    assert 'name="phone"' not in html
    assert re.search(r'name="email"[^>]*required', html)
    assert not re.search(r'name="name"[^>]*required', html)
    assert 'value="voucher"' not in html and 'value="click"' not in html
    assert "Continue with" not in html


def test_success_page_never_links_to_a_script_url():
    config = copy.deepcopy(CONFIG)
    config["portal"]["success_url"] = "javascript:alert(1)"
    html = render_success(config, "en")
    assert "javascript:" not in html and "refresh" not in html


def test_logo_is_served_by_the_portal(guest, agent):
    png = (
        "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4nGNg"
        "YPj/HwADAgH/eL9GtQAAAABJRU5ErkJggg=="
    )
    agent.config["portal"]["logo_url"] = png
    page = guest.get(f"{PORTAL}/").get_data(as_text=True)
    src = re.search(r'<img src="([^"]+)"', page).group(1)
    logo = guest.get(PORTAL + src)
    assert logo.status_code == 200
    assert logo.headers["Content-Type"] == "image/png"
    assert logo.data.startswith(b"\x89PNG")
    agent.config["portal"]["logo_url"] = "data:image/svg+xml;base64,PHN2Zy8+"
    assert guest.get(f"{PORTAL}/logo").status_code == 404


def test_language_from_accept_language_then_switcher_cookie(guest):
    page = guest.get(f"{PORTAL}/", headers={"Accept-Language": "th,en;q=0.5"})
    assert '<html lang="th">' in page.get_data(as_text=True)
    switched = guest.get(f"{PORTAL}/?lang=en", headers={"Accept-Language": "th"})
    assert '<html lang="en">' in switched.get_data(as_text=True)
    again = guest.get(f"{PORTAL}/", headers={"Accept-Language": "th"})
    assert '<html lang="en">' in again.get_data(as_text=True)  # the choice sticks
    stranger = phone_default(guest)
    assert '<html lang="vi">' in stranger  # no preference: the location's country


def phone_default(guest):
    from portal_helpers import phone_client

    return phone_client(guest.application).get(f"{PORTAL}/").get_data(as_text=True)


JUNK = st.one_of(
    st.none(), st.booleans(), st.integers(), st.text(max_size=30),
    st.lists(st.text(max_size=10), max_size=3),
    st.dictionaries(st.sampled_from(["vi", "th", "en", "x"]), st.text(max_size=20), max_size=3),
)  # fmt: skip


@settings(max_examples=150, deadline=None)
@given(
    portal=st.fixed_dictionaries(
        {},
        optional={
            "venue_name": JUNK, "colors": JUNK, "welcome": JUNK, "channels": JUNK,
            "fields": st.one_of(JUNK, st.dictionaries(
                st.sampled_from(["name", "phone", "email"]),
                st.sampled_from(["required", "optional", "off", "hidden", "x"]))),
            "consents": st.one_of(JUNK, st.lists(st.fixed_dictionaries(
                {"purpose": st.sampled_from(["wifi", "marketing", "x"])},
                optional={"required": JUNK, "version": JUNK, "text": JUNK}), max_size=3)),
            "success_url": JUNK,
        },
    ),
    lang=st.sampled_from(["vi", "th", "en", "fr", ""]),
)  # fmt: skip
def test_any_settings_the_admin_preview_sends_render_a_page(portal, lang):
    config = {"location": {"country": "TH"}, "portal": portal}
    html = render_login(config, lang, action="#")
    assert html.startswith("<!doctype html>") and "<script" not in html
    render_success(config, lang, seconds_remaining=90)
