"""The admin's PostgreSQL pool: a ping only after idleness, a dead connection
replaced, list pages planned without parallel workers (admin/db.py)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa

from porchlight.admin import db
from porchlight.admin.db import make_engine

pytestmark = pytest.mark.pg


@pytest.fixture
def pings(
    _pg_server_url: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[sa.Engine, list[int]]]:
    engine = make_engine(_pg_server_url)
    counted: list[int] = []
    real = engine.dialect.do_ping

    def counting(dbapi_conn: Any) -> bool:
        counted.append(1)
        return bool(real(dbapi_conn))

    monkeypatch.setattr(engine.dialect, "do_ping", counting)
    yield engine, counted
    engine.dispose()


def test_a_connection_in_use_is_not_pinged_again(pings: tuple[sa.Engine, list[int]]) -> None:
    """A list page checks out five times: with pool_pre_ping each was a round trip."""
    engine, counted = pings
    for _ in range(5):
        with engine.connect() as conn:
            assert conn.exec_driver_sql("SELECT 1").scalar() == 1
    assert counted == []


def test_an_idle_connection_is_pinged_and_a_dead_one_replaced(
    pings: tuple[sa.Engine, list[int]], _pg_server_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine, counted = pings
    monkeypatch.setattr(db, "PING_AFTER_IDLE_S", 0.05)
    with engine.connect() as conn:
        pid = conn.exec_driver_sql("SELECT pg_backend_pid()").scalar()
    other = make_engine(_pg_server_url)
    with other.connect() as killer:
        assert killer.exec_driver_sql(f"SELECT pg_terminate_backend({int(pid)})").scalar()
    other.dispose()
    time.sleep(0.2)
    with engine.connect() as conn:  # the ping finds it dead: a new connection, no error
        assert conn.exec_driver_sql("SELECT pg_backend_pid()").scalar() != pid
    assert len(counted) == 1


@pytest.mark.parametrize("db_kind", ["pg"], indirect=True)
def test_list_pages_are_planned_without_parallel_workers(app: Any, client_as: Any) -> None:
    """A keyset page stops after 51 rows: two parallel workers cost more to start
    than they save (tags-all at 1M: 10 ms serial, 31-36 ms parallel under load)."""
    engine = app.extensions["porchlight.engine"]
    seen: list[str] = []

    @sa.event.listens_for(engine, "after_cursor_execute")
    def after(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if "LIMIT" in statement and "sort_key" in statement:
            with cursor.connection.cursor() as probe:
                probe.execute("SHOW max_parallel_workers_per_gather")
                seen.append(probe.fetchone()[0])

    client = client_as("owner")
    assert client.get("/customers?tag=vip&tag=wifi&tag_mode=all").status_code == 200
    assert client.get("/customers?sort=name").status_code == 200
    sa.event.remove(engine, "after_cursor_execute", after)
    assert seen and set(seen) == {"0"}
    with engine.connect() as conn:  # SET LOCAL: the pool's next user plans as usual
        assert conn.exec_driver_sql("SHOW max_parallel_workers_per_gather").scalar() != "0"
