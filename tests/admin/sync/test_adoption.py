"""Routers flashed from an image announce themselves and wait to be adopted.

An announcement grants nothing (no config, no code) until a manager adopts
it into a location on the Routers page; then the announcer with the same
secret, and only it, gets a one-time code once, which /api/v1/enroll trades
for the device token. Announce requests are bounded and rate-limited."""

from __future__ import annotations

import re
import secrets
import shutil
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from porchlight.admin import schema
from porchlight.admin.db import make_engine
from porchlight.admin.sync.adoption import MAX_WAITING, new_adoption_key


@pytest.fixture(params=["sqlite", pytest.param("pg", marks=pytest.mark.pg)])
def db_url(request: pytest.FixtureRequest, template_db: Path, tmp_path: Path) -> str:
    """Adoption on both databases (this folder's own db_url is SQLite only): the
    admin tests' PostgreSQL database for the session, emptied for each test."""
    if request.param == "sqlite":
        shutil.copy(template_db, tmp_path / "admin.db")
        return f"sqlite:///{tmp_path / 'admin.db'}"
    url = str(request.getfixturevalue("_pg_server_url"))
    engine = make_engine(url)
    with engine.begin() as conn:
        for table in reversed(schema.metadata.sorted_tables):
            conn.execute(table.delete())
    engine.dispose()
    return url


def _key(engine: Any, slug: str = "acme") -> str:
    with engine.begin() as conn:
        return new_adoption_key(conn, slug)


def _body(key: str, secret: str | None = None, **extra: Any) -> dict[str, Any]:
    return {
        "key": key,
        "secret": secret or secrets.token_hex(32),
        "serial": "PC-0042",
        "macs": ["AA:BB:CC:00:00:01", "aa-bb-cc-00-00-02"],
        "agent_version": "0.1.0",
        "location_hint": "Q1",
        **extra,
    }


def _adopt(client: Any, csrf: Any, location_id: int) -> Any:
    page = f"/locations/{location_id}/routers"
    html = client.get(page).get_data(as_text=True)
    match = re.search(r'data-announcement="(\d+)"', html)
    assert match, "no router waiting on the Routers page"
    path = f"{page}/adopt/{match.group(1)}"
    return client.post(path, data={"csrf_token": csrf(client, page)}, follow_redirects=True)


def test_announce_grants_nothing_until_adopted_then_hands_over_once(
    app: Any, engine: Any, world: Any, manager_client: Any, csrf: Any
) -> None:
    router = app.test_client()
    body = _body(_key(engine))
    first = router.post("/api/v1/announce", json=body)
    assert first.status_code == 202 and first.get_json() == {
        "status": "waiting",
        "poll_seconds": 10,
    }
    assert "code" not in first.get_json()
    again = router.post("/api/v1/announce", json=body)
    assert again.status_code == 202
    with engine.connect() as conn:
        rows = conn.execute(sa.select(schema.router_announcements)).all()
        assert len(rows) == 1 and rows[0].macs == ["aa:bb:cc:00:00:01", "aa:bb:cc:00:00:02"]
        assert conn.execute(sa.select(sa.func.count()).select_from(schema.routers)).scalar() == 0

    page = _adopt(manager_client, csrf, world.q1).get_data(as_text=True)
    assert "Router adopted" in page and "Router PC-0042" in page

    stranger = router.post("/api/v1/announce", json=_body(body["key"]))  # another secret
    assert stranger.status_code == 202 and "code" not in stranger.get_json()
    answer = router.post("/api/v1/announce", json=body)
    assert answer.status_code == 200, answer.get_json()
    code = answer.get_json()["code"]
    assert router.post("/api/v1/announce", json=body).status_code == 409  # once only
    enrolled = router.post("/api/v1/enroll", json={"code": code, "hostname": "porchlight"})
    assert enrolled.status_code == 201
    assert enrolled.get_json()["location"]["id"] == world.q1
    with engine.connect() as conn:
        audit = conn.execute(
            sa.select(schema.audit_log.c.action).where(schema.audit_log.c.action == "router_adopt")
        ).all()
    assert len(audit) == 1


def test_announce_refuses_a_wrong_key_and_bad_fields(app: Any, engine: Any, world: Any) -> None:
    router = app.test_client()
    key = _key(engine)
    wrong = router.post("/api/v1/announce", json=_body("pla_not-a-key"))
    assert wrong.status_code == 403 and wrong.get_json()["error"] == "invalid_key"
    for bad, field in (
        ({"serial": "x" * 65}, "serial"),
        ({"serial": "a\x00b"}, "serial"),
        ({"secret": "short"}, "secret"),
        ({"macs": []}, "macs"),
        ({"macs": ["not-a-mac"]}, "macs"),
        ({"macs": [f"aa:bb:cc:00:00:{n:02x}" for n in range(9)]}, "macs"),
    ):
        answer = router.post("/api/v1/announce", json=_body(key, **bad))
        assert answer.status_code == 422, (bad, answer.get_json())
        assert answer.get_json().get("field") == field, answer.get_json()
    big = router.post("/api/v1/announce", json=_body(key, location_hint="x" * 5000))
    assert big.status_code == 413
    with engine.connect() as conn:
        assert conn.execute(sa.select(schema.router_announcements)).first() is None


def test_announcements_are_rate_limited_and_bounded(app: Any, engine: Any, world: Any) -> None:
    app.config["API_ANNOUNCE_PER_MINUTE"] = 3
    router = app.test_client()
    key = _key(engine)
    codes = [router.post("/api/v1/announce", json=_body(key)).status_code for _ in range(4)]
    assert codes == [202, 202, 202, 429]
    app.config["API_ANNOUNCE_PER_MINUTE"] = 10_000
    for _ in range(MAX_WAITING - 3):
        assert router.post("/api/v1/announce", json=_body(key)).status_code == 202
    full = router.post("/api/v1/announce", json=_body(key))
    assert full.status_code == 429 and full.get_json()["error"] == "too_many_waiting"


def test_another_tenant_never_sees_or_adopts_the_router(
    app: Any, engine: Any, world: Any, factory: Any, csrf: Any, owner_client: Any
) -> None:
    factory.tenant("other", "Other Café")
    body = _body(_key(engine, "other"))
    assert app.test_client().post("/api/v1/announce", json=body).status_code == 202
    with engine.connect() as conn:
        announcement = conn.execute(sa.select(schema.router_announcements.c.id)).scalar()
    path = f"/locations/{world.q1}/routers"
    html = owner_client.get(path).get_data(as_text=True)
    assert "PC-0042" not in html and "data-announcement" not in html
    page = owner_client.post(
        f"{path}/adopt/{announcement}",
        data={"csrf_token": csrf(owner_client, path)},
        follow_redirects=True,
    ).get_data(as_text=True)
    assert "no longer waiting for adoption" in page
    with engine.connect() as conn:
        assert conn.execute(sa.select(schema.router_announcements.c.router_id)).scalar() is None
    assert app.test_client().post("/api/v1/announce", json=body).status_code == 202


def test_viewers_see_no_adopt_button(app: Any, engine: Any, world: Any, viewer_client: Any) -> None:
    app.test_client().post("/api/v1/announce", json=_body(_key(engine)))
    page = viewer_client.get(f"/locations/{world.q1}/routers").get_data(as_text=True)
    assert "data-announcement" not in page
