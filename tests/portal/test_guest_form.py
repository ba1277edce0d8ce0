"""The form checks: clean data out, or field errors; never a crash (hypothesis fuzz)."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from portal_fake_agent import CONFIG
from portal_helpers import form_post

from porchlight.events import validate_event
from porchlight.guest_page.guest_form import clean_email, validate_login
from porchlight.guest_page.i18n import MESSAGES

FIELD_TEXT = st.one_of(
    st.text(max_size=500),
    st.sampled_from(["", " ", "\u200b", "0166 123 4567", "+84 912 345 678", "a@b.co", "ONCE"]),
    st.text(alphabet="\u0300\u0e31\u200d\u202e\x00\n\t 0123456789+", max_size=60),
)
FORMS = st.fixed_dictionaries(
    {},
    optional={
        "name": FIELD_TEXT,
        "phone": FIELD_TEXT,
        "email": FIELD_TEXT,
        "voucher": FIELD_TEXT,
        "consent_wifi": st.sampled_from(["yes", "no", "", "YES"]),
        "consent_marketing": st.sampled_from(["yes", ""]),
    },
)
CHANNELS = st.sampled_from(["form", "click", "voucher", "returning", "zalo", "sms", ""])


@settings(max_examples=300, deadline=None)
@given(form=FORMS, channel=CHANNELS)
def test_any_form_gives_a_valid_login_or_known_error_keys(form, channel):
    result = validate_login(form, channel, CONFIG)
    if result.login is None:
        assert result.errors
        assert all(key in MESSAGES for key in result.errors.values())
        return
    event = {
        "id": "0b0e1c2a-7f3e-4a51-9a37-2f8f4b9f6a10",
        "type": "login",
        "occurred_at": "2026-11-25T10:00:00Z",
        "mac": "3a:11:22:33:44:55",
        "data": {**result.login, "session_id": "s1", "device": {}},
    }
    clean = validate_event(event)["data"]
    assert clean["channel"] == channel
    if channel == "form":
        assert clean["name"] and len(clean["name"]) <= 80 and clean["name"] == clean["name"].strip()
        assert clean["phone"].startswith("+")
    consent = {c["purpose"]: c["granted"] for c in clean["consents"]}
    if channel != "returning":
        assert consent["wifi"] is True  # never online without the required consent
        assert consent["marketing"] is (form.get("consent_marketing") == "yes")


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(form=FORMS)
def test_posting_anything_never_breaks_the_page(guest, agent, form):
    portal = guest.application.extensions["porchlight_portal"]
    portal.mac_rate = portal.ip_rate = (10_000, 60)
    agent.clients["10.99.0.23"]["state"] = "pending"
    answer = form_post(guest, {"channel": "form", "lang": "en", **form})
    assert answer.status_code in (303, 422)
    if answer.status_code == 422:
        body = answer.get_data(as_text=True)
        assert 'class="err"' in body and 'name="csrf_token"' in body


def test_vietnamese_old_and_new_numbers_are_one_customer():
    old = validate_login(
        {"name": "An", "phone": "01201234567", "consent_wifi": "yes"}, "form", CONFIG
    )
    new = validate_login(
        {"name": "An", "phone": "070 123 4567", "consent_wifi": "yes"}, "form", CONFIG
    )
    assert old.login["phone"] == new.login["phone"] == "+84701234567"


def test_names_are_trimmed_and_bounded():
    form = {"phone": "0912345678", "consent_wifi": "yes"}
    assert validate_login({**form, "name": "x" * 81}, "form", CONFIG).errors == {
        "name": "err_name_too_long"
    }
    assert validate_login({**form, "name": "12345"}, "form", CONFIG).errors == {
        "name": "err_name_invalid"
    }
    ok = validate_login({**form, "name": "\u200b Somchai\tใจดี \n"}, "form", CONFIG)
    assert ok.login["name"] == "Somchai ใจดี"


def test_email_check():
    assert clean_email("Lan.Tran+wifi@Mail.Example.VN") == "Lan.Tran+wifi@mail.example.vn"
    for bad in ("lan", "lan@", "@x.vn", "a..b@x.vn", "a@x", "a b@x.vn", "a@-x.vn"):
        assert clean_email(bad) is None, bad


def test_a_plain_client_posts_by_field_name(guest, agent):
    """The lab drives the login with no JavaScript: these names are the contract."""
    answer = form_post(
        guest,
        {"channel": "form", "name": "An", "phone": "0912345678", "consent_wifi": "yes"},
    )
    assert answer.status_code == 303
    assert answer.headers["Location"].startswith("/success")


def test_voucher_codes_typed_on_a_phone_are_normalized():
    config = {**CONFIG, "portal": {**CONFIG["portal"], "channels": ["voucher"]}}
    result = validate_login({"voucher": " abcd-efgh ", "consent_wifi": "yes"}, "voucher", config)
    assert result.login["voucher"] == "ABCDEFGH"
    off = {**CONFIG, "portal": {**CONFIG["portal"], "fields": {"name": "off", "phone": "required"}}}
    result = validate_login({"phone": "0912345678", "consent_wifi": "yes"}, "form", off)
    assert result.login["name"] is None
