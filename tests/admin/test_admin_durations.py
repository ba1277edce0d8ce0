"""Durations in the admin read from the catalog (context "duration"), in each locale."""

from __future__ import annotations

import pytest

from porchlight.admin.i18n import fmt_duration, fmt_duration_long

CASES = {
    "en": ("42 min", "1 h 5 min", "2 days 1 hour", "1 day", "0 minutes"),
    "vi": ("42 phút", "1 giờ 5 phút", "2 ngày 1 giờ", "1 ngày", "0 phút"),
    "th": ("42 นาที", "1 ชม. 5 นาที", "2 วัน 1 ชั่วโมง", "1 วัน", "0 นาที"),
}


@pytest.mark.parametrize("lang", ["en", "vi", "th"])
def test_durations_in_each_language(app, lang):
    with app.test_request_context("/", headers={"Accept-Language": lang}):
        got = (
            fmt_duration(42 * 60),
            fmt_duration(65 * 60 + 10),
            fmt_duration_long(2 * 86400 + 3600),
            fmt_duration_long(86400),
            fmt_duration_long(20),
        )
    assert got == CASES[lang]
