"""The guest-page settings rules, field by field (no database)."""

from __future__ import annotations

from typing import Any

import pytest

from porchlight.admin.locations import guest_page_settings as ps
from porchlight.admin.sync.location_config import default_settings


def base() -> dict[str, Any]:
    return default_settings("Café Q1")


def form(**changes: str) -> dict[str, str]:
    values = ps.form_values(base())
    values.update(changes)
    return values


def test_unchanged_form_gives_back_the_same_settings() -> None:
    settings, errors = ps.clean_form(form(), base())
    assert errors == {}
    assert settings == base()


@pytest.mark.parametrize("minutes", ["0", "5256000", "-5", "abc", ""])
def test_session_length_zero_or_ten_years_is_refused(minutes: str) -> None:
    settings, errors = ps.clean_form(form(session_minutes=minutes), base())
    assert "session_minutes" in errors
    assert settings["session"]["length_seconds"] == 3600  # the previous value, for the preview


def test_session_bounds_are_inclusive() -> None:
    settings, errors = ps.clean_form(form(session_minutes="43200", idle_minutes="0"), base())
    assert errors == {}
    assert settings["session"]["length_seconds"] == 30 * 86400
    assert settings["session"]["idle_seconds"] is None


def test_idle_longer_than_session_is_refused() -> None:
    _settings, errors = ps.clean_form(form(session_minutes="30", idle_minutes="45"), base())
    assert "idle_minutes" in errors


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        ("Example.COM", ("domain", "example.com")),
        ("*.zalo.me", ("domain", "zalo.me")),
        ("phở.vn", ("domain", "xn--ph-rbt.vn")),
        ("203.0.113.7", ("cidr", "203.0.113.7/32")),
        ("2001:db8::/48", ("cidr", "2001:db8::/48")),
    ],
)
def test_walled_garden_accepts_domains_and_ranges(entry: str, expected: tuple[str, str]) -> None:
    assert ps.clean_walled_entry(entry) == expected


@pytest.mark.parametrize(
    "entry",
    [
        "https://facebook.com/login",
        "not a domain",
        "localhost",
        "exa_mple.com",
        "-a.com",
        "0.0.0.0/0",
        "a..b",
        "1.2.3",
    ],
)
def test_walled_garden_refuses_what_is_not_a_domain(entry: str) -> None:
    settings, errors = ps.clean_form(form(walled_garden=f"zalo.me\n{entry}"), base())
    assert "walled_garden" in errors
    assert entry.split("/")[0][:10] in errors["walled_garden"]
    assert settings["walled_garden"] == {"domains": [], "cidrs": []}


@pytest.mark.parametrize(
    ("entry", "said"),
    [
        ("com.vn", "public suffix"),
        ("co.uk", "public suffix"),
        ("github.io", "public suffix"),
        ("10.0.0.0/8", "private"),
        ("127.0.0.0/8", "private, local"),
        ("192.168.1.0/24", "private"),
        ("169.254.0.0/16", "local"),
        ("224.0.0.1", "multicast"),
        ("fe80::/64", "local"),
        ("8.0.0.0/12", "wider than a /16"),
    ],
)
def test_walled_garden_refuses_what_would_open_a_country_or_the_lan(entry: str, said: str) -> None:
    """Issue 15, finding 5: the same rules as the agent's, each naming the entry."""
    settings, errors = ps.clean_form(form(walled_garden=f"zalo.me\n{entry}"), base())
    assert said in errors["walled_garden"] and f"“{entry}”" in errors["walled_garden"]
    assert settings["walled_garden"] == {"domains": [], "cidrs": []}


def test_consent_text_with_html_is_refused() -> None:
    settings, errors = ps.clean_form(
        form(consent_wifi_en='I agree <a href="http://x">terms</a>'), base()
    )
    assert "HTML" in errors["consent_wifi_en"]
    assert settings["portal"]["consents"] == base()["portal"]["consents"]


def test_plain_text_with_angle_brackets_and_ampersand_is_fine() -> None:
    _settings, errors = ps.clean_form(form(welcome_en="Wi-Fi < 5 min & free"), base())
    assert errors == {}


def test_new_consent_text_gets_a_new_version_old_one_keeps_its() -> None:
    settings, errors = ps.clean_form(form(consent_wifi_vi="Điều khoản mới"), base(), {"wifi": 3})
    assert errors == {}
    by_purpose = {c["purpose"]: c for c in settings["portal"]["consents"]}
    assert by_purpose["wifi"]["version"] == "wifi-v4"
    assert by_purpose["wifi"]["text"]["vi"] == "Điều khoản mới"
    assert by_purpose["marketing"]["version"] == "marketing-v1"  # unchanged text, same version


def test_empty_marketing_text_means_marketing_is_not_asked_and_wifi_is_required() -> None:
    empty = {f"consent_marketing_{lang}": "" for lang in ps.LANGS}
    settings, errors = ps.clean_form(form(**empty), base())
    assert errors == {}
    assert [c["purpose"] for c in settings["portal"]["consents"]] == ["wifi"]
    assert settings["portal"]["consents"][0]["required"] is True
    no_wifi = {f"consent_wifi_{lang}": " " for lang in ps.LANGS}
    _settings, errors = ps.clean_form(form(**no_wifi), base())
    assert "consent_wifi_en" in errors


def test_empty_language_takes_the_english_text() -> None:
    settings, _errors = ps.clean_form(form(welcome_th="", welcome_en="Hello"), base())
    assert settings["portal"]["welcome"]["th"] == "Hello"


@pytest.mark.parametrize(("raw", "clean"), [("#ABC", "#aabbcc"), ("0f766e", "#0f766e")])
def test_colors_are_normalized(raw: str, clean: str) -> None:
    settings, errors = ps.clean_form(form(color_primary=raw), base())
    assert errors == {}
    assert settings["portal"]["colors"]["primary"] == clean


@pytest.mark.parametrize("raw", ["red", "#12345", "#0f766e;background:url(x)", ""])
def test_bad_colors_are_refused(raw: str) -> None:
    _settings, errors = ps.clean_form(form(color_background=raw), base())
    assert "#0f766e" in errors["color_background"]


def test_channels_follow_the_order_given_and_one_is_needed() -> None:
    values = form(channel_click="on", channel_voucher="on")
    values.update(order_click="1", order_form="2", order_voucher="3", order_returning="4")
    settings, errors = ps.clean_form(values, base())
    assert errors == {}
    assert settings["portal"]["channels"] == ["click", "form", "voucher", "returning"]
    none_on = {k: v for k, v in form().items() if not k.startswith("channel_")}
    _settings, errors = ps.clean_form(none_on, base())
    assert "channels" in errors


def test_form_channel_needs_phone_or_email() -> None:
    _settings, errors = ps.clean_form(form(field_phone="off", field_email="off"), base())
    assert "field_phone" in errors
    settings, errors = ps.clean_form(form(field_phone="off", field_email="required"), base())
    assert errors == {}
    assert settings["portal"]["fields"]["email"] == "required"


@pytest.mark.parametrize(
    "url", ["javascript:alert(1)", "ftp://x.com", "http://", "https://a b.com"]
)
def test_after_login_url_must_be_a_web_address(url: str) -> None:
    _settings, errors = ps.clean_form(form(success_url=url), base())
    assert "success_url" in errors


def test_tags_bandwidth_and_remember_window() -> None:
    values = form(tags="wifi, vip ,wifi", bandwidth_mbps="2.5", remember_days="30")
    settings, errors = ps.clean_form(values, base())
    assert errors == {}
    assert settings["tags"] == ["wifi", "vip"]
    assert settings["session"]["bandwidth_kbps"] == 2500
    assert settings["session"]["remember_seconds"] == 30 * 86400
    _settings, errors = ps.clean_form(form(bandwidth_mbps="0"), base())
    assert "bandwidth_mbps" in errors
