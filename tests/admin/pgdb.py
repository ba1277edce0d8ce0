"""A new PostgreSQL database on the test server (PORCHLIGHT_TEST_PG_URL), for one
session or one test; dropped after."""

from __future__ import annotations

import os
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import sqlalchemy as sa


@contextmanager
def new_pg_database(prefix: str) -> Iterator[str]:
    """Its URL (password kept), an empty database named `prefix` plus a random tail; the
    test is skipped where no server is configured."""
    base = os.environ.get("PORCHLIGHT_TEST_PG_URL")
    if not base:
        pytest.skip("needs PORCHLIGHT_TEST_PG_URL")
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    server = sa.create_engine(
        sa.engine.make_url(base).set(database="postgres"), isolation_level="AUTOCOMMIT"
    )
    with server.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield sa.engine.make_url(base).set(database=name).render_as_string(hide_password=False)
    finally:
        _drop(server, name)
        server.dispose()


def _drop(server: sa.Engine, name: str) -> None:
    """DROP ... WITH (FORCE), tried again for a few seconds: it refuses while a
    backend it may not signal (another role's, a server worker's) is still
    connected (seen once at a session's end); a database left over then is a
    line on stderr, not a failed test (warnings are errors in this suite)."""
    for attempt in range(10):
        try:
            with server.connect() as conn:
                conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            return
        except sa.exc.DBAPIError as e:
            if attempt == 9:
                print(f"test database {name} left behind: {e.orig}", file=sys.stderr)
                return
            time.sleep(0.5)
