"""Fixtures for admin tests, meant for every admin area to reuse.

- `app`: the admin app on a fresh, migrated SQLite database (a copy of one
  migrated once per session). Mark a test ``@pytest.mark.both_dbs`` to run it
  on SQLite and on a real PostgreSQL database (a randomly named database made
  for this session with the CREATEDB role, emptied before each test, dropped
  at the end). ``app_pg`` is PostgreSQL only.
- `engine`: the app's engine. `factory`: makes tenants, locations, users,
  customers with visits (counters kept consistent).
- `world`: tenant "acme" with locations Q1 and Q3, an owner, a manager of Q1
  and a viewer; `client_as("owner" | "manager" | "viewer")` a signed-in test
  client; `owner_client`, `manager_client`, `viewer_client` shortcuts.
  Every test user's password is `PASSWORD` (fixture `password`).
- `csrf(client)`: a valid CSRF token for the client's session (CSRF is
  on in these apps, as in production).
"""

from __future__ import annotations

import re
import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from pgdb import new_pg_database
from werkzeug.security import generate_password_hash

from porchlight.admin import schema, sessions
from porchlight.admin.app import create_app
from porchlight.admin.customers import channel_rollup, customer_rollup, visit_rollup
from porchlight.admin.customers.groups import ensure_default_groups, recompute_groups
from porchlight.admin.db import make_engine
from porchlight.admin.migrate import upgrade

SECRET = "test-secret-key-0123456789abcdef"
PASSWORD = "correct horse battery"
_HASH: dict[str, str] = {}


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "both_dbs: run the test on SQLite and on PostgreSQL")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "db_kind" in metafunc.fixturenames and metafunc.definition.get_closest_marker("both_dbs"):
        metafunc.parametrize(
            "db_kind", ["sqlite", pytest.param("pg", marks=pytest.mark.pg)], indirect=True
        )


@pytest.fixture
def db_kind(request: pytest.FixtureRequest) -> str:
    return getattr(request, "param", "sqlite")


@pytest.fixture(scope="session")
def _sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("admin-template") / "template.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    with engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()
    return path


@pytest.fixture(scope="session")
def _pg_server_url() -> Iterator[str]:
    """A fresh PostgreSQL database for this session, migrated; dropped after."""
    with new_pg_database("porchlight_admin") as url:
        engine = make_engine(url)
        upgrade(engine)
        engine.dispose()
        yield url


@pytest.fixture
def empty_pg() -> Iterator[str]:
    """A new PostgreSQL database with no tables (a migration test's start); dropped after."""
    with new_pg_database("porchlight_migrate") as url:
        yield url


def _empty_pg(url: str) -> None:
    engine = make_engine(url)
    with engine.begin() as conn:  # DELETE is much faster than TRUNCATE on tiny tables
        for table in reversed(schema.metadata.sorted_tables):
            conn.execute(table.delete())
    engine.dispose()


@pytest.fixture
def db_url(db_kind: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    if db_kind == "pg":
        url = request.getfixturevalue("_pg_server_url")
        _empty_pg(url)
        return url
    template = request.getfixturevalue("_sqlite_template")
    path = tmp_path / "admin.db"
    shutil.copyfile(template, path)
    return f"sqlite:///{path}"


def make_test_app(url: str, tmp_path: Path, **extra: Any) -> Any:
    config = {
        "SECRET_KEY": SECRET,
        "DATABASE_URL": url,
        "DATA_DIR": str(tmp_path / "data"),
        "TESTING": True,
        **extra,
    }
    return create_app(config)


@pytest.fixture
def app(db_url: str, tmp_path: Path) -> Iterator[Any]:
    application = make_test_app(db_url, tmp_path)
    yield application
    application.extensions["porchlight.engine"].dispose()


@pytest.fixture
def app_pg(_pg_server_url: str, tmp_path: Path) -> Iterator[Any]:
    _empty_pg(_pg_server_url)
    application = make_test_app(_pg_server_url, tmp_path)
    yield application
    application.extensions["porchlight.engine"].dispose()


@pytest.fixture
def engine(app: Any) -> sa.Engine:
    return app.extensions["porchlight.engine"]


def _now() -> datetime:
    return datetime.now(UTC)


def password_hash(password: str = PASSWORD) -> str:
    if password not in _HASH:
        _HASH[password] = generate_password_hash(password)
    return _HASH[password]


class Factory:
    """Rows for tests, written the way ingest and import write them."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine

    def tenant(self, slug: str | None = None, name: str = "Tenant") -> int:
        slug = slug or f"t-{uuid.uuid4().hex[:8]}"
        with self.engine.begin() as conn:
            tid = conn.execute(
                schema.tenants.insert().values(slug=slug, name=name, created_at=_now())
            ).inserted_primary_key[0]
            ensure_default_groups(conn, tid)
        return int(tid)

    def location(self, tenant_id: int, name: str, **kw: Any) -> int:
        values = {
            "tenant_id": tenant_id,
            "name": name,
            "country": "VN",
            "timezone": "Asia/Ho_Chi_Minh",
            "created_at": _now(),
            "updated_at": _now(),
            **kw,
        }
        with self.engine.begin() as conn:
            new = conn.execute(schema.locations.insert().values(**values))
            return int(new.inserted_primary_key[0])

    def user(
        self,
        tenant_id: int,
        role: str = "owner",
        email: str | None = None,
        locations: list[int] | None = None,
        locale: str = "en",
        password: str = PASSWORD,
    ) -> dict[str, Any]:
        email = email or f"{role}-{uuid.uuid4().hex[:6]}@example.test"
        with self.engine.begin() as conn:
            uid = conn.execute(
                schema.users.insert().values(
                    tenant_id=tenant_id,
                    email=email,
                    name=role.title(),
                    password_hash=password_hash(password),
                    role=role,
                    locale=locale,
                    created_at=_now(),
                )
            ).inserted_primary_key[0]
            for lid in locations or []:
                conn.execute(schema.user_locations.insert().values(user_id=uid, location_id=lid))
        return {"id": int(uid), "email": email, "password": password, "role": role}

    def customer(
        self,
        tenant_id: int,
        name: str = "Guest",
        phone: str | None = None,
        email: str | None = None,
        visits: list[tuple[int, datetime, str]] | None = None,
        tags: list[str] | None = None,
        **kw: Any,
    ) -> int:
        """A customer; `visits` are (location_id, started_at, channel)."""
        visits = sorted(visits or [], key=lambda v: v[1])
        now = _now()
        c = schema.customers
        with self.engine.begin() as conn:
            values: dict[str, Any] = {
                "tenant_id": tenant_id,
                "name": name,
                "phone": phone,
                "email": email,
                "visit_count": len(visits),
                "first_visit_at": visits[0][1] if visits else None,
                "last_visit_at": visits[-1][1] if visits else None,
                "last_channel": visits[-1][2] if visits else None,
                "last_location_id": visits[-1][0] if visits else None,
                "created_at": visits[0][1] if visits else now,
                "updated_at": now,
            }
            values.update(kw)
            cid = int(conn.execute(c.insert().values(**values)).inserted_primary_key[0])
            per_loc: dict[int, list[datetime]] = {}
            for lid, when, channel in visits:
                per_loc.setdefault(lid, []).append(when)
                conn.execute(
                    schema.visits.insert().values(
                        tenant_id=tenant_id,
                        customer_id=cid,
                        location_id=lid,
                        channel=channel,
                        started_at=when,
                        received_at=when,
                        ended_at=when + timedelta(minutes=42),
                        dwell_seconds=42 * 60,
                        mac="02:00:00:00:00:01",
                    )
                )
            visit_rollup.add(
                conn,
                [
                    {"tenant_id": tenant_id, "location_id": lid, "started_at": when}
                    for lid, when, _ch in visits
                ],
            )
            for lid, times in per_loc.items():
                conn.execute(
                    schema.customer_locations.insert().values(
                        customer_id=cid,
                        location_id=lid,
                        visit_count=len(times),
                        first_visit_at=min(times),
                        last_visit_at=max(times),
                    )
                )
            for channel in sorted({v[2] for v in visits}):
                last = max(when for _lid, when, ch in visits if ch == channel)
                conn.execute(
                    schema.customer_channels.insert().values(
                        customer_id=cid, channel=channel, tenant_id=tenant_id, last_visit_at=last
                    )
                )
            channel_rollup.add(conn, [cid])
            customer_rollup.add(conn, [cid])
            for tag in tags or []:
                t = schema.tags
                row = conn.execute(
                    sa.select(t.c.id).where(t.c.tenant_id == tenant_id, t.c.name == tag)
                ).first()
                tag_id = (
                    row.id
                    if row
                    else conn.execute(
                        t.insert().values(tenant_id=tenant_id, name=tag)
                    ).inserted_primary_key[0]
                )
                conn.execute(schema.customer_tags.insert().values(customer_id=cid, tag_id=tag_id))
            if "group_id" not in kw:
                recompute_groups(conn, tenant_id, [cid])
        return cid


@pytest.fixture
def password() -> str:
    return PASSWORD


@pytest.fixture
def factory(engine: sa.Engine) -> Factory:
    return Factory(engine)


@dataclass
class World:
    tenant_id: int
    q1: int
    q3: int
    users: dict[str, dict[str, Any]] = field(default_factory=dict)


@pytest.fixture
def world(factory: Factory) -> World:
    tid = factory.tenant("acme", "Acme Café")
    q1 = factory.location(tid, "Q1", province="Hồ Chí Minh", postal_code="700000")
    q3 = factory.location(tid, "Q3", province="Hà Nội", postal_code="100000")
    w = World(tid, q1, q3)
    w.users["owner"] = factory.user(tid, "owner")
    w.users["manager"] = factory.user(tid, "manager", locations=[q1])
    w.users["viewer"] = factory.user(tid, "viewer")
    return w


def new_session_id(app: Any, user_id: int) -> str:
    """A server-side session for `user_id` (admin/sessions.py); its id for the cookie."""
    with app.extensions["porchlight.engine"].begin() as conn:
        return sessions.start(conn, user_id)


def sign_in(client: Any, user: dict[str, Any]) -> Any:
    """Put `user` in the client's session (the sign-in form is tested on its own)."""
    session_id = new_session_id(client.application, user["id"])
    with client.session_transaction() as sess:
        sess["_user_id"] = session_id
        sess["_fresh"] = True
    return client


@pytest.fixture
def client_as(app: Any, world: World) -> Any:
    def make(role: str) -> Any:
        return sign_in(app.test_client(), world.users[role])

    return make


@pytest.fixture
def owner_client(client_as: Any) -> Any:
    return client_as("owner")


@pytest.fixture
def manager_client(client_as: Any) -> Any:
    return client_as("manager")


@pytest.fixture
def viewer_client(client_as: Any) -> Any:
    return client_as("viewer")


_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_token(client: Any, path: str = "/") -> str:
    """A CSRF token valid for `client`'s session (read from a rendered form)."""
    html = client.get(path, follow_redirects=True).get_data(as_text=True)
    match = _TOKEN.search(html)
    assert match, f"no CSRF token on {path}"
    return match.group(1)


@pytest.fixture
def csrf() -> Any:
    """`csrf(client, path="/")` -> a CSRF token for that client's session."""
    return csrf_token


@pytest.fixture
def make_app(tmp_path: Path) -> Iterator[Any]:
    """`make_app(url, **config)`: another app instance (e.g. a second worker)."""
    made: list[Any] = []

    def make(url: str, **extra: Any) -> Any:
        made.append(make_test_app(url, tmp_path, **extra))
        return made[-1]

    yield make
    for application in made:
        application.extensions["porchlight.engine"].dispose()
