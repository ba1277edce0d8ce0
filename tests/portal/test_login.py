"""The login form against the agent's protocol: what the guest sees, what the agent records."""

from __future__ import annotations

import threading

from portal_helpers import GUEST_IP, GUEST_MAC, PORTAL, csrf_of, form_post, phone_client

GOOD = {
    "channel": "form",
    "name": "  Nguyễn   Văn An ",
    "phone": "0166 123 4567",  # pre-2018 Viettel number: now 0361234567
    "consent_wifi": "yes",
}


def test_form_login_gets_the_guest_online_and_records_a_clean_customer(guest, agent):
    answer = form_post(guest, GOOD, headers={"Accept-Language": "vi-VN,vi;q=0.9,en;q=0.5"})
    assert answer.status_code == 303
    assert answer.headers["Location"].startswith("/success")
    assert agent.online_macs() == {GUEST_MAC}
    [event] = agent.logins
    login = event["data"]
    assert login["channel"] == "form"
    assert login["name"] == "Nguyễn Văn An"
    assert login["phone"] == "+84361234567"
    assert login["tags"] == ["wifi", "làm đẹp", "form"]
    assert login["consents"] == [
        {"purpose": "wifi", "granted": True, "text_version": "wifi-v1"},
        {"purpose": "marketing", "granted": False, "text_version": "mkt-v1"},
    ]
    assert login["device"]["ip"] == GUEST_IP
    assert login["device"]["randomized"] is True

    done = guest.get(f"{PORTAL}{answer.headers['Location']}")
    body = done.get_data(as_text=True)
    assert done.status_code == 200
    assert "Bạn đã kết nối" in body
    assert 'http-equiv="refresh" content="3;url=http://internet.test/welcome"' in body
    assert "60 phút" in body


def test_bad_phone_is_shown_next_to_the_field_in_the_guests_language(guest, agent):
    answer = form_post(
        guest, {**GOOD, "phone": "12345"}, headers={"Accept-Language": "th-TH,th;q=0.9"}
    )
    body = answer.get_data(as_text=True)
    assert answer.status_code == 422
    assert 'id="phone-err">เบอร์โทรศัพท์ไม่ถูกต้อง</p>' in body
    assert 'value="Nguyễn   Văn An"' in body  # what the guest typed is kept
    assert 'name="consent_wifi" value="yes" required checked' in body
    assert agent.online_macs() == set()


def test_foreign_phone_numbers_are_accepted_in_e164(guest, agent):
    answer = form_post(guest, {**GOOD, "phone": "+66 81 234 5678"})
    assert answer.status_code == 303
    assert agent.logins[0]["data"]["phone"] == "+66812345678"


def test_consent_is_never_pre_ticked_and_required_consent_is_enforced(guest, agent):
    page = guest.get(f"{PORTAL}/").get_data(as_text=True)
    assert "checked" not in page
    answer = form_post(guest, {k: v for k, v in GOOD.items() if k != "consent_wifi"})
    body = answer.get_data(as_text=True)
    assert answer.status_code == 422
    assert 'id="consent_wifi-err">' in body
    assert agent.online_macs() == set()


def test_marketing_consent_is_recorded_when_ticked(guest, agent):
    form_post(guest, {**GOOD, "consent_marketing": "yes"})
    consents = agent.logins[0]["data"]["consents"]
    assert {"purpose": "marketing", "granted": True, "text_version": "mkt-v1"} in consents


def test_email_is_validated(guest, agent):
    answer = form_post(guest, {**GOOD, "email": "an@@example", "lang": "en"})
    assert 'id="email-err">This email address does not look right.' in answer.get_data(as_text=True)
    answer = form_post(guest, {**GOOD, "email": "An.Nguyen@Example.COM"})
    assert answer.status_code == 303
    assert agent.logins[0]["data"]["email"] == "An.Nguyen@example.com"


def test_click_through_needs_only_the_terms(guest, agent):
    answer = form_post(guest, {"channel": "click", "consent_wifi": "yes"})
    assert answer.status_code == 303
    assert agent.logins[0]["data"]["channel"] == "click"
    assert agent.logins[0]["data"]["tags"] == ["wifi", "làm đẹp", "click"]


def test_vouchers_and_each_refusal_in_the_guests_language(guest, agent):
    cases = [
        ("NOPE", "Mã voucher không hợp lệ."),
        ("OLD", "Mã voucher này đã hết hạn."),
    ]
    for code, message in cases:
        answer = form_post(
            guest, {"channel": "voucher", "voucher": code, "consent_wifi": "yes", "lang": "vi"}
        )
        assert answer.status_code == 422
        assert f'id="voucher-err">{message}</p>' in answer.get_data(as_text=True)
    answer = form_post(guest, {"channel": "voucher", "voucher": "ONCE", "consent_wifi": "yes"})
    assert answer.status_code == 303
    assert agent.logins[0]["data"]["voucher"] == "ONCE"

    agent.add_client("10.99.0.24", "3a:11:22:33:44:66")
    other = phone_client(guest.application, "10.99.0.24")
    answer = form_post(
        other, {"channel": "voucher", "voucher": "ONCE", "consent_wifi": "yes", "lang": "en"}
    )
    assert "This voucher has already been used up." in answer.get_data(as_text=True)
    assert agent.online_macs() == {GUEST_MAC}


def test_returning_device_is_welcomed_back_with_the_phone_digits(guest, agent):
    agent.clients[GUEST_IP]["remembered"] = {"name": "Lan", "channel": "form", "phone_check": True}
    page = guest.get(f"{PORTAL}/", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "Welcome back, Lan!" in page and 'name="phone_tail"' in page
    data = {"csrf_token": csrf_of(page), "channel": "returning", "phone_tail": " 6-7-8 "}
    answer = guest.post(f"{PORTAL}/login", data=data)
    assert answer.status_code == 303
    assert agent.logins[0]["data"]["channel"] == "returning"
    assert agent.proofs == [{"phone_tail": "678"}]


def test_no_welcome_back_without_a_proof_that_could_work(guest, agent):
    """No phone on file and no cookie from this browser: nothing to offer."""
    offer = {"name": "Lan", "channel": "click", "phone_check": False}
    agent.clients[GUEST_IP]["remembered"] = offer
    page = guest.get(f"{PORTAL}/", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "Welcome back" not in page
    answer = form_post(guest, {"channel": "returning", "lang": "en"})
    assert answer.status_code == 422 and agent.online_macs() == set()


def test_returning_is_refused_for_a_device_not_remembered(guest, agent):
    answer = form_post(guest, {"channel": "returning", "lang": "en"})
    assert answer.status_code == 422
    assert agent.online_macs() == set()


def test_post_without_a_valid_csrf_token_is_refused(guest, agent):
    answer = guest.post(f"{PORTAL}/login", data={**GOOD, "lang": "en"})
    assert answer.status_code == 400
    assert "This page expired. Please try again." in answer.get_data(as_text=True)
    page = guest.get(f"{PORTAL}/").get_data(as_text=True)
    stolen = phone_client(guest.application, "10.99.0.99")
    agent.add_client("10.99.0.99", "3a:00:00:00:00:99")
    answer = stolen.post(f"{PORTAL}/login", data={**GOOD, "csrf_token": csrf_of(page)})
    assert answer.status_code == 400  # a token is bound to the IP it was given to
    assert agent.online_macs() == set()


def test_guest_the_agent_cannot_see_gets_a_retry_message(guest, agent):
    del agent.clients[GUEST_IP]
    answer = form_post(guest, {**GOOD, "lang": "en"})
    body = answer.get_data(as_text=True)
    assert answer.status_code == 409
    assert "see your device on the Wi-Fi yet." in body
    assert 'name="csrf_token"' in body  # the form is there to try again
    agent.add_client(GUEST_IP, GUEST_MAC)
    token = csrf_of(body)
    again = guest.post(f"{PORTAL}/login", data={**GOOD, "csrf_token": token})
    assert again.status_code == 303


def test_agent_down_says_so_in_the_guests_language(guest, agent):
    agent.stop()
    page = guest.get(f"{PORTAL}/", headers={"Accept-Language": "vi"})
    assert page.status_code == 503
    assert "tạm thời gián đoạn" in page.get_data(as_text=True)
    answer = guest.post(f"{PORTAL}/login", data={**GOOD, "csrf_token": "x"})
    assert answer.status_code == 503


def test_form_posted_twice(guest, agent):
    page = guest.get(f"{PORTAL}/").get_data(as_text=True)
    data = {**GOOD, "csrf_token": csrf_of(page)}
    assert guest.post(f"{PORTAL}/login", data=data).status_code == 303
    again = guest.post(f"{PORTAL}/login", data=data)
    assert again.status_code == 303  # already online: straight to the success page
    assert len(agent.logins) == 1

    # A stale form re-sent by a guest who is not online says so, in their language.
    agent.clients[GUEST_IP]["state"] = "pending"
    again = guest.post(f"{PORTAL}/login", data={**data, "lang": "en"})
    assert again.status_code == 409
    assert "This form was already sent." in again.get_data(as_text=True)


def test_double_click_logs_in_once_and_both_answers_lead_to_success(guest, agent):
    agent.authorize_delay = 0.3
    page = guest.get(f"{PORTAL}/").get_data(as_text=True)
    data = {**GOOD, "csrf_token": csrf_of(page)}
    codes: list[int] = []

    def post():
        client = phone_client(guest.application, GUEST_IP)
        codes.append(client.post(f"{PORTAL}/login", data=data).status_code)

    threads = [threading.Thread(target=post) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert codes == [303, 303]
    assert len(agent.logins) == 1


def test_blocked_device_is_told_to_ask_the_staff(guest, agent):
    agent.clients[GUEST_IP]["state"] = "blocked"
    page = guest.get(f"{PORTAL}/", headers={"Accept-Language": "en"})
    assert "Please ask the staff." in page.get_data(as_text=True)
    answer = form_post(guest, {**GOOD, "lang": "en"})
    assert answer.status_code == 403
    assert agent.online_macs() == set()


def test_login_attempts_are_rate_limited_per_mac(guest, agent):
    codes = [form_post(guest, {**GOOD, "phone": "1"}).status_code for _ in range(11)]
    assert codes[:10] == [422] * 10
    assert codes[10] == 429
    answer = form_post(guest, {**GOOD, "lang": "en"})
    assert "Too many attempts." in answer.get_data(as_text=True)
    assert agent.online_macs() == set()


def test_unknown_channel_is_refused(guest, agent):
    answer = form_post(guest, {"channel": "sms", "consent_wifi": "yes"})
    assert answer.status_code == 422
    assert agent.online_macs() == set()


def test_already_online_guest_sees_success_not_the_form(guest, agent):
    form_post(guest, GOOD)
    page = guest.get(f"{PORTAL}/", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "Enjoy the Wi-Fi at Café Sài Gòn." in page
    assert 'name="csrf_token"' not in page


def test_output_is_escaped(guest, agent):
    answer = form_post(guest, {**GOOD, "name": '<script>alert(1)</script>"', "phone": "x"})
    body = answer.get_data(as_text=True)
    assert "<script>" not in body
    assert "&lt;script&gt;" in body


def test_security_headers(guest):
    page = guest.get(f"{PORTAL}/")
    csp = page.headers["Content-Security-Policy"]
    assert "default-src 'none'" in csp and "script-src" not in csp
    assert page.headers["X-Frame-Options"] == "DENY"
    assert page.headers["X-Content-Type-Options"] == "nosniff"
    assert page.headers["Cache-Control"] == "no-store"
