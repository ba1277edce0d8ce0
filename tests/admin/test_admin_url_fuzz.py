"""URLs never give 500: every GET page's query string fuzzed as a signed-in owner and manager.

Hypothesis builds query strings from the parameters the pages read, the
customer list's filters and random names, with values meant to break
parsers: crafted `after` cursors (NaN, infinity, a float, a naive datetime,
a huge id, the wrong type for the sort), dates from year 1 to 9999, huge and
negative numbers, control characters. The counts of requests and 500s are
printed (``-s`` shows them); the test fails on any 5xx.
"""

from __future__ import annotations

import base64
import json
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pagekit import page_urls

EXAMPLES = 40

NAMES = [
    "q", "location", "channel", "tag", "tag_mode", "province", "postal", "updated_from",
    "updated_to", "visits_min", "visits_max", "group", "consent", "sort", "after", "before",
    "days", "lang", "all", "other", "archived", "action", "next", "preview_lang", "page",
]  # fmt: skip


def _cursor(value: Any) -> str:
    raw = value if isinstance(value, str) else json.dumps(value, allow_nan=True)
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


CURSORS = [
    _cursor(v)
    for v in (
        [1, float("nan"), 5],
        [1, float("inf"), 5],
        [1, float("-inf"), 5],
        [1, 1.5, 5],
        [1, ["dt", "2026-01-01T00:00:00"], 5],  # naive
        [1, ["dt", "0001-01-01T00:00:00+14:00"], 5],
        [1, ["dt", "9999-12-31T23:59:59+00:00"], 5],
        [1, ["dec", "NaN"], 5],
        [1, ["dec", "Infinity"], 5],
        [1, ["dec", "1e999999"], 5],
        [1, 10**30, 10**30],
        [1, 5, 2**63],
        [2, None, -(2**70)],
        [1, "name", 5],
        [1, "x" * 10_000, 5],
        [1, {"a": 1}, 5],
        [3, 5, 5],
        "[1, 5",
        "",
    )
] + ["%%%", "!!!!", "A" * 4000]

NASTY = [
    "0", "-1", "1e309", "NaN", "inf", "-inf", "99999999999999999999999", str(2**63), str(-(2**31)),
    "0001-01-01", "9999-12-31", "2026-02-30", "2026-12-06T10:00:00", "00:00", " ", "\x00", "\x7f",
    "%00", "null", "none", "true", "[]", "{}", "../../etc/passwd", "//evil.example", "'; --",
    "<script>", "ลูกค้า", "🙂", "a" * 3000,
]  # fmt: skip

values = st.one_of(
    st.sampled_from(NASTY),
    st.sampled_from(CURSORS),
    st.integers(min_value=-(2**80), max_value=2**80).map(str),
    st.dates(min_value=datetime(1, 1, 1).date()).map(lambda d: d.isoformat()),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.text(max_size=40),
)
pairs = st.lists(
    st.tuples(st.one_of(st.sampled_from(NAMES), st.text(min_size=1, max_size=10)), values),
    max_size=6,
)


@pytest.fixture
def pages(app: Any, world: Any, factory: Any) -> list[str]:
    now = datetime.now(UTC)
    cid = factory.customer(
        world.tenant_id,
        "Lan",
        "+84912345678",
        visits=[(world.q1, now - timedelta(days=2), "form"), (world.q3, now, "zalo")],
        tags=["vip"],
    )
    ids = {"customer_id": cid, "location_id": world.q1}
    return page_urls(app, ids)


@pytest.mark.slow
@pytest.mark.parametrize("role", ["owner", "manager"])
def test_no_query_string_gives_a_500(app: Any, client_as: Any, pages: list[str], role: str) -> None:
    app.config["PROPAGATE_EXCEPTIONS"] = False  # an error is a 500, as under gunicorn
    client = client_as(role)
    assert len(pages) > 15
    failures: list[str] = []
    tally: Counter[str] = Counter()

    @settings(
        max_examples=EXAMPLES * len(pages),
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(page=st.sampled_from(pages), query=pairs)
    def check(page: str, query: list[tuple[str, str]]) -> None:
        url = page + "?" + urlencode(query)
        response = client.get(url)
        tally["requests"] += 1
        if response.status_code >= 500:
            tally["500"] += 1
            failures.append(url)
        response.close()

    for page in pages:  # every page with every crafted cursor and extreme date at least once
        for after in CURSORS:
            check.hypothesis.inner_test(page, [("after", after)])  # type: ignore[attr-defined]
        check.hypothesis.inner_test(  # type: ignore[attr-defined]
            page, [("updated_from", "0001-01-01"), ("updated_to", "9999-12-31")]
        )
    check()
    print(f"\nURL fuzz as {role}: {tally['requests']} requests, {tally['500']} x 500")
    assert failures == []
