"""The dashboard: totals, new vs returning, per day, hours, channels, per location."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest


def stat(html: str, name: str) -> str:
    # the figure, inside the link to the customers it counts when it has one
    return re.search(rf'id="stat-{name}">(?:<a [^>]*>)?([^<]*)<', html).group(1)


@pytest.fixture
def visits(world, factory):
    now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    w = world
    # new in the period, twice at Q1, by form
    factory.customer(
        w.tenant_id,
        "New",
        visits=[(w.q1, now - timedelta(days=2), "form"), (w.q1, now - timedelta(days=1), "form")],
    )
    # returning: first came long ago, again this week at Q3, by zalo
    factory.customer(
        w.tenant_id,
        "Regular",
        visits=[(w.q3, now - timedelta(days=200), "form"), (w.q3, now - timedelta(days=3), "zalo")],
    )
    # came only long ago
    factory.customer(w.tenant_id, "Gone", visits=[(w.q1, now - timedelta(days=100), "click")])
    return w


@pytest.mark.both_dbs
def test_figures_for_all_locations(owner_client, visits):
    html = owner_client.get("/?days=30").get_data(as_text=True)
    assert stat(html, "total") == "3"
    assert stat(html, "new") == "1"
    assert stat(html, "returning") == "1"
    assert stat(html, "visits") == "3"
    assert html.count("<rect") > 30 + 24  # a bar per day and per hour
    # channels: form and zalo customers in the period, most first
    assert re.search(r"Form.*most.*Zalo.*fewest", html, re.S)


@pytest.mark.both_dbs
def test_figures_for_one_location(owner_client, visits):
    html = owner_client.get(f"/?days=7&location={visits.q3}").get_data(as_text=True)
    assert (stat(html, "total"), stat(html, "new"), stat(html, "returning")) == ("1", "0", "1")
    assert stat(html, "visits") == "1"


def test_manager_sees_only_their_location(manager_client, visits):
    html = manager_client.get(f"/?location={visits.q3}").get_data(as_text=True)
    assert stat(html, "total") == "2"  # Q3 is not theirs: the whole of Q1 instead
    assert "Zalo" not in html


def test_nonsense_arguments_are_ignored(owner_client, visits):
    resp = owner_client.get("/?days=9999&location=abc")
    assert resp.status_code == 200 and stat(resp.get_data(as_text=True), "total") == "3"


def test_empty_tenant(owner_client):
    html = owner_client.get("/").get_data(as_text=True)
    assert stat(html, "total") == "0" and "No logins in this period yet." in html
