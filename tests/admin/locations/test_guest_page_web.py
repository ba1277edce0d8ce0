"""Guest-page settings through the admin: saved as versions, bad input saves nothing."""

from __future__ import annotations

import io
from typing import Any

import pytest
import sqlalchemy as sa
from PIL import Image
from werkzeug.datastructures import FileStorage
from werkzeug.test import stream_encode_multipart

from porchlight.admin import schema, sessions
from porchlight.admin.locations import guest_page_settings as ps
from porchlight.admin.sync.location_config import build_location_config, latest_settings


def new_session_id(app: Any, user_id: int) -> str:
    """A server-side session (admin/sessions.py) for the cookie's ``_user_id``."""
    with app.extensions["porchlight.engine"].begin() as conn:
        return sessions.start(conn, user_id)


def page(location_id: int) -> str:
    return f"/locations/{location_id}/guest-page"


def current_form(engine: Any, location_id: int) -> dict[str, str]:
    with engine.connect() as conn:
        values = ps.form_values(ps.current_settings(conn, location_id))
        row = latest_settings(conn, location_id)
    values["base_version"] = str(row.version if row else 0)
    return values


def versions(engine: Any, location_id: int) -> list[int]:
    table = schema.portal_settings
    with engine.connect() as conn:
        return [
            r[0]
            for r in conn.execute(
                sa.select(table.c.version)
                .where(table.c.location_id == location_id)
                .order_by(table.c.version)
            )
        ]


def config(engine: Any, location_id: int) -> tuple[dict[str, Any], str]:
    with engine.connect() as conn:
        return build_location_config(conn, location_id)


def save(
    client: Any, tok: Any, engine: Any, location_id: int, files: dict | None = None, **changes: Any
) -> Any:
    data: dict[str, Any] = current_form(engine, location_id)
    data.update(changes)
    data["csrf_token"] = tok(client, page(location_id))
    data.update(files or {})
    return client.post(page(location_id), data=data, content_type="multipart/form-data")


def png_bytes(size: tuple[int, int] = (800, 400)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (15, 118, 110)).save(out, "PNG")
    return out.getvalue()


@pytest.mark.both_dbs
def test_save_makes_a_new_version_the_routers_get_and_an_audit_row(
    owner_client: Any, tok: Any, engine: Any, world: Any
) -> None:
    _before, etag_before = config(engine, world.q1)
    response = save(
        owner_client, tok, engine, world.q1, welcome_en="Hello from Q1", color_primary="#AA3300"
    )
    assert response.status_code == 302
    assert versions(engine, world.q1) == [1]
    after, etag_after = config(engine, world.q1)
    assert etag_after != etag_before
    assert after["portal"]["welcome"]["en"] == "Hello from Q1"
    assert after["portal"]["colors"]["primary"] == "#aa3300"
    with engine.connect() as conn:
        audit = conn.execute(
            sa.select(schema.audit_log).where(schema.audit_log.c.action == "guest_page_save")
        ).one()
    assert audit.details["version"] == 1
    html = owner_client.get(page(world.q1)).get_data(as_text=True)
    assert "Version 1" in html and "Hello from Q1" in html
    assert save(owner_client, tok, engine, world.q1, welcome_en="Again").status_code == 302
    assert versions(engine, world.q1) == [1, 2]


@pytest.mark.both_dbs
def test_changed_consent_text_gets_a_new_version_and_old_one_stays_in_history(
    owner_client: Any, tok: Any, engine: Any, world: Any
) -> None:
    save(owner_client, tok, engine, world.q1, consent_wifi_en="Terms one")
    save(owner_client, tok, engine, world.q1, consent_wifi_en="Terms two")
    save(owner_client, tok, engine, world.q1, welcome_en="Only the welcome changed")
    table = schema.portal_settings
    with engine.connect() as conn:
        rows = conn.execute(sa.select(table.c.settings).order_by(table.c.version)).scalars().all()
    wifi = [next(c for c in s["portal"]["consents"] if c["purpose"] == "wifi") for s in rows]
    assert [(w["version"], w["text"]["en"]) for w in wifi] == [
        ("wifi-v2", "Terms one"),
        ("wifi-v3", "Terms two"),
        ("wifi-v3", "Terms two"),
    ]


BAD_INPUT = [
    ({"walled_garden": "zalo.me\nhttps://facebook.com/login"}, "walled_garden", "web address"),
    ({"walled_garden": "this is not a domain"}, "walled_garden", "not a domain"),
    ({"session_minutes": "0"}, "session_minutes", "between 5 minutes and 30 days"),
    ({"session_minutes": str(10 * 365 * 24 * 60)}, "session_minutes", "30 days"),
    ({"consent_wifi_vi": "Đồng ý <b>điều khoản</b>"}, "consent_wifi_vi", "HTML is not allowed"),
    ({"color_primary": "red"}, "color_primary", "#0f766e"),
]


@pytest.mark.parametrize(("changes", "field", "message"), BAD_INPUT)
def test_bad_input_shows_a_clear_message_and_saves_nothing(
    owner_client: Any, tok: Any, engine: Any, world: Any, changes: dict, field: str, message: str
) -> None:
    save(owner_client, tok, engine, world.q1, welcome_en="Good version")
    _config, etag = config(engine, world.q1)
    response = save(owner_client, tok, engine, world.q1, welcome_en="Half saved?", **changes)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert f'id="err-{field}"' in html
    assert message in html
    assert "Nothing was saved" in html
    assert versions(engine, world.q1) == [1]
    assert config(engine, world.q1)[1] == etag  # routers keep the last good config
    assert "Half saved?" in html  # the user's other edits are kept in the form


@pytest.mark.parametrize(
    ("payload", "filename", "message"),
    [
        (b"MZ\x90\x00 this is an exe" * 100, "logo.png", "not an image"),
        (
            b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
            "logo.svg",
            "contains a script",
        ),
    ],
)
def test_bad_logo_is_refused_with_a_message(
    owner_client: Any,
    tok: Any,
    engine: Any,
    world: Any,
    payload: bytes,
    filename: str,
    message: str,
) -> None:
    response = save(
        owner_client,
        tok,
        engine,
        world.q1,
        files={"logo": (io.BytesIO(payload), filename)},
        welcome_en="With a bad logo",
    )
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert versions(engine, world.q1) == []


@pytest.mark.slow
def test_fifty_megabyte_logo_is_refused_before_reading_it(
    owner_client: Any, tok: Any, engine: Any, world: Any
) -> None:
    big = io.BytesIO(b"\x89PNG\r\n\x1a\n" + b"\0" * (50 * 1024 * 1024))
    data: dict[str, Any] = current_form(engine, world.q1)
    data.update(csrf_token=tok(owner_client, page(world.q1)), logo=FileStorage(big, "huge.png"))
    # encoded in memory: the test client's own temp file would be left open
    stream, length, boundary = stream_encode_multipart(data, use_tempfile=False)
    response = owner_client.post(
        page(world.q1),
        input_stream=stream,
        content_length=length,
        content_type=f"multipart/form-data; boundary={boundary}",
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 413, (response.location, html[:300])
    assert "the most is 2.0 MB" in html and "Nothing was saved" in html
    assert versions(engine, world.q1) == []


def test_good_logo_is_resized_and_reaches_the_config(
    owner_client: Any, tok: Any, engine: Any, world: Any
) -> None:
    response = save(
        owner_client, tok, engine, world.q1, files={"logo": (io.BytesIO(png_bytes()), "logo.png")}
    )
    assert response.status_code == 302
    with engine.connect() as conn:
        row = latest_settings(conn, world.q1)
    assert row.logo_type == "image/jpeg"
    assert Image.open(io.BytesIO(row.logo)).size == (480, 240)
    assert config(engine, world.q1)[0]["portal"]["logo_url"].startswith("data:image/jpeg;base64,")
    # a later save without a file keeps the logo; "remove" drops it
    save(owner_client, tok, engine, world.q1, welcome_en="Keep logo")
    assert config(engine, world.q1)[0]["portal"]["logo_url"]
    save(owner_client, tok, engine, world.q1, remove_logo="on")
    assert config(engine, world.q1)[0]["portal"]["logo_url"] is None


def test_someone_elses_newer_save_is_not_overwritten(
    owner_client: Any, manager_client: Any, tok: Any, engine: Any, world: Any
) -> None:
    stale = current_form(engine, world.q1)
    save(manager_client, tok, engine, world.q1, welcome_en="Manager's text")
    stale.update(welcome_en="Owner's older edit", csrf_token=tok(owner_client, page(world.q1)))
    response = owner_client.post(page(world.q1), data=stale)
    assert response.status_code == 422
    assert "while you were editing" in response.get_data(as_text=True)
    assert config(engine, world.q1)[0]["portal"]["welcome"]["en"] == "Manager's text"


def test_roles_viewer_reads_manager_only_their_location(
    viewer_client: Any, manager_client: Any, tok: Any, engine: Any, world: Any
) -> None:
    html = viewer_client.get(page(world.q1)).get_data(as_text=True)
    assert "Save as a new version" not in html
    data = current_form(engine, world.q1) | {"csrf_token": tok(viewer_client, page(world.q1))}
    assert viewer_client.post(page(world.q1), data=data).status_code == 403
    assert manager_client.get(page(world.q3)).status_code == 404
    assert manager_client.get(page(world.q3) + "/preview").status_code == 404
    assert versions(engine, world.q1) == []


def test_preview_renders_the_draft_in_each_language(
    owner_client: Any, tok: Any, engine: Any, world: Any
) -> None:
    data = current_form(engine, world.q1)
    data.update(welcome_th="สวัสดีจากร้าน", color_background="#ffeedd")
    data["csrf_token"] = tok(owner_client, page(world.q1))
    response = owner_client.post(page(world.q1) + "/preview", data=data | {"preview_lang": "th"})
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "สวัสดีจากร้าน" in html and "#ffeedd" in html
    assert "frame-ancestors 'self'" in response.headers["Content-Security-Policy"]
    assert versions(engine, world.q1) == []  # previewing saves nothing
    saved = owner_client.get(page(world.q1) + "/preview?lang=en").get_data(as_text=True)
    assert "Welcome! Enjoy free Wi-Fi." in saved


def test_a_vietnamese_manager_gets_the_page_and_its_errors_in_vietnamese(
    app: Any, factory: Any, tok: Any, engine: Any, world: Any
) -> None:
    user = factory.user(world.tenant_id, "manager", locations=[world.q1], locale="vi")
    client = app.test_client()
    with client.session_transaction() as session:
        session["_user_id"] = new_session_id(app, user["id"])
    assert "Lưu thành phiên bản mới" in client.get(page(world.q1)).get_data(as_text=True)
    response = save(client, tok, engine, world.q1, session_minutes="0")
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Thời lượng phiên: từ 5 phút đến 30 ngày" in html


def test_an_older_version_can_be_used_again_as_the_newest(
    owner_client: Any, tok: Any, engine: Any, world: Any
) -> None:
    save(owner_client, tok, engine, world.q1, welcome_en="First text")
    save(owner_client, tok, engine, world.q1, welcome_en="A mistake")
    response = owner_client.post(
        page(world.q1) + "/restore/1", data={"csrf_token": tok(owner_client, page(world.q1))}
    )
    assert response.status_code == 302
    assert versions(engine, world.q1) == [1, 2, 3]
    assert config(engine, world.q1)[0]["portal"]["welcome"]["en"] == "First text"
    html = owner_client.get(page(world.q1)).get_data(as_text=True)
    assert "Version 1 is back, saved as version 3" in html
    assert (
        owner_client.post(
            page(world.q1) + "/restore/9", data={"csrf_token": tok(owner_client, page(world.q1))}
        ).status_code
        == 404
    )
