"""A new PostgreSQL database on the test server (PORCHLIGHT_TEST_PG_URL), for one
session or one test; dropped after."""

from __future__ import annotations

import os
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
        with server.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        server.dispose()
