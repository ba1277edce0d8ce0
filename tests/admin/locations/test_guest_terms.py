"""A venue's own Wi-Fi terms: saved per language, versioned with the consent, shown to guests."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
from test_guest_page_web import config, save

from porchlight.admin import schema
from porchlight.guest_page.page import render_login

TERMS_VI = "Quán lưu tên và số điện thoại trong 12 tháng.\n\nKhông chia sẻ cho bên thứ ba."


def _wifi(engine: Any, location_id: int) -> dict[str, Any]:
    built, _etag = config(engine, location_id)
    return next(c for c in built["portal"]["consents"] if c["purpose"] == "wifi")


@pytest.mark.both_dbs
def test_own_terms_are_versioned_and_shown_behind_read_the_terms(
    owner_client: Any, tok: Any, engine: Any, world: Any
) -> None:
    assert "terms" not in _wifi(engine, world.q1)  # the default terms until a venue writes its own
    response = save(
        owner_client,
        tok,
        engine,
        world.q1,
        terms_wifi_en="We keep your name.",
        terms_wifi_vi=TERMS_VI,
    )
    assert response.status_code == 302
    wifi = _wifi(engine, world.q1)
    assert wifi["terms"] == {"vi": TERMS_VI, "th": "We keep your name.", "en": "We keep your name."}
    assert wifi["version"] == "wifi-v2"  # answers given from now on point at these terms
    save(owner_client, tok, engine, world.q1, welcome_en="Only the welcome")
    assert _wifi(engine, world.q1)["version"] == "wifi-v2"
    save(owner_client, tok, engine, world.q1, terms_wifi_en="", terms_wifi_vi="", terms_wifi_th="")
    wifi = _wifi(engine, world.q1)
    assert "terms" not in wifi and wifi["version"] == "wifi-v3"

    save(owner_client, tok, engine, world.q1, terms_wifi_vi=TERMS_VI)
    html = render_login(config(engine, world.q1)[0], "vi")
    assert "<p>Quán lưu tên và số điện thoại trong 12 tháng.</p>" in html
    assert "<p>Không chia sẻ cho bên thứ ba.</p>" in html
    assert "Dữ liệu được xóa chậm nhất" not in html  # the default terms give way
    form = owner_client.get(f"/locations/{world.q1}/guest-page").get_data(as_text=True)
    assert "Không chia sẻ cho bên thứ ba." in form


@pytest.mark.parametrize(
    ("value", "message"),
    [("Điều <b>khoản</b>", "HTML is not allowed"), ("x" * 8001, "at most 8000 characters")],
)
def test_bad_terms_are_refused_and_nothing_is_saved(
    owner_client: Any, tok: Any, engine: Any, world: Any, value: str, message: str
) -> None:
    response = save(owner_client, tok, engine, world.q1, terms_wifi_vi=value)
    assert response.status_code == 422
    body = response.get_data(as_text=True)
    assert message in body.split('id="err-terms_wifi_vi"')[1][:300]
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count(schema.portal_settings.c.id))).scalar() == 0
