"""Fixtures for the sync tests: a real admin database and server, real agent stores.

The admin database is migrated once per session into a template file and
copied per test (fast); PostgreSQL tests get one randomly-named database per
session (created with the CREATEDB role, dropped after) and a fresh tenant per
test. The admin server is the real Flask app under werkzeug in a thread on
loopback, or real gunicorn in a subprocess where a test kills it.
"""

from __future__ import annotations

import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pgdb import new_pg_database
from sqlalchemy.engine import Engine
from synckit import Venue, make_venue
from werkzeug.serving import make_server

from porchlight.admin import migrate
from porchlight.admin.db import make_engine

SECRET = "sync-tests-secret-key-0123456789"


@pytest.fixture(scope="session")
def template_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "admin.db"
    engine = make_engine(f"sqlite:///{path}")
    migrate.upgrade(engine)
    engine.dispose()
    return path


@pytest.fixture
def db_url(template_db: Path, tmp_path: Path) -> str:
    target = tmp_path / "admin.db"
    shutil.copy(template_db, target)
    return f"sqlite:///{target}"


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    eng = make_engine(db_url)
    yield eng
    eng.dispose()


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    with new_pg_database("porchlight_sync") as url:
        eng = make_engine(url)
        migrate.upgrade(eng)
        eng.dispose()
        yield url


@pytest.fixture
def pg_engine(pg_url: str) -> Iterator[Engine]:
    eng = make_engine(pg_url)
    yield eng
    eng.dispose()


@pytest.fixture
def venue(engine: Engine) -> Venue:
    return make_venue(engine)


class LiveAdmin:
    def __init__(self, url: str, app: Any) -> None:
        self.url = url
        self.app = app


@pytest.fixture
def live_admin(db_url: str) -> Iterator[LiveAdmin]:
    from porchlight.admin.app import create_app

    app = create_app({"SECRET_KEY": SECRET, "DATABASE_URL": db_url, "TESTING": True})
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield LiveAdmin(f"http://127.0.0.1:{server.server_port}", app)
    finally:
        server.shutdown()
        thread.join(5)
        app.extensions["porchlight.engine"].dispose()
