"""A location's chat accounts (LINE OA, Zalo OA) in its guest-page settings."""

from __future__ import annotations

from typing import Any

import pytest
from test_guest_page_web import config, new_session_id, page, save, versions

from porchlight.admin.locations import guest_page_settings as ps
from porchlight.admin.sync.location_config import default_settings
from porchlight.chat_accounts import chat_settings


def form(**changes: str) -> dict[str, str]:
    values = ps.form_values(default_settings("Café Q1"))
    values.update(changes)
    return values


def test_chat_accounts_are_cleaned_into_the_config() -> None:
    settings, errors = ps.clean_form(
        form(
            line_oa=" 123ABCDE ",
            line_bot_prompt="normal",
            line_chat_id="U" + "0a" * 16,
            zalo_oa="1234567890123",
        ),
        default_settings("Café Q1"),
    )
    assert errors == {}
    assert settings["portal"]["chat"] == {
        "line_oa": "@123abcde",
        "line_bot_prompt": "normal",
        "line_chat_id": "U" + "0a" * 16,
        "zalo_oa": "1234567890123",
    }
    assert chat_settings(settings) == settings["portal"]["chat"]
    assert ps.form_values(settings)["line_oa"] == "@123abcde"


def test_no_chat_accounts_leave_the_settings_as_they_were() -> None:
    settings, errors = ps.clean_form(form(), default_settings("Café Q1"))
    assert errors == {} and "chat" not in settings["portal"]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("line_oa", "@<script>"),
        ("line_oa", "@" + "a" * 60),
        ("line_bot_prompt", "always"),
        ("line_chat_id", "U123"),
        ("zalo_oa", "zalo.me/123"),
    ],
)
def test_malformed_chat_accounts_are_refused(field: str, value: str) -> None:
    settings, errors = ps.clean_form(form(**{field: value}), default_settings("Café Q1"))
    assert field in errors
    assert "line_oa" not in settings["portal"].get("chat", {}) or field != "line_oa"


@pytest.mark.both_dbs
def test_saved_line_account_reaches_the_router_config(
    owner_client: Any, tok: Any, engine: Any, world: Any
) -> None:
    response = save(owner_client, tok, engine, world.q1, line_oa="@porchcafe", zalo_oa="4242424242")
    assert response.status_code == 302
    after, _etag = config(engine, world.q1)
    assert after["portal"]["chat"] == {
        "line_oa": "@porchcafe",
        "line_bot_prompt": "aggressive",
        "zalo_oa": "4242424242",
    }
    html = owner_client.get(page(world.q1)).get_data(as_text=True)
    assert 'value="@porchcafe"' in html


@pytest.mark.both_dbs
def test_bad_line_account_saves_nothing_and_says_why(
    owner_client: Any, tok: Any, engine: Any, world: Any
) -> None:
    response = save(owner_client, tok, engine, world.q1, line_oa="line.me/porch cafe!")
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "Write the LINE Official Account ID like @123abcde." in html
    assert versions(engine, world.q1) == []


def test_a_thai_manager_reads_the_chat_accounts_in_thai(
    app: Any, factory: Any, tok: Any, engine: Any, world: Any
) -> None:
    user = factory.user(world.tenant_id, "manager", locations=[world.q1], locale="th")
    client = app.test_client()
    with client.session_transaction() as session:
        session["_user_id"] = new_session_id(app, user["id"])
    assert "บัญชีแชท" in client.get(page(world.q1)).get_data(as_text=True)
    response = save(client, tok, engine, world.q1, zalo_oa="oa.zalo.me/abc")
    assert response.status_code == 422
    assert "ไอดีของ Zalo Official Account เป็นตัวเลข" in response.get_data(as_text=True)
