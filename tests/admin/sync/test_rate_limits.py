"""The sync API's shared rate-limit window (`guard.shared_hit`), on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
import uuid
from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from porchlight.admin.schema import rate_limits
from porchlight.admin.sync.guard import shared_hit


@pytest.fixture(params=["sqlite", pytest.param("pg", marks=pytest.mark.pg)])
def store(request: pytest.FixtureRequest) -> Engine:
    if request.param == "sqlite":
        return request.getfixturevalue("engine")
    return request.getfixturevalue("pg_engine")


def test_concurrent_hits_allow_exactly_the_limit(store: Engine) -> None:
    key = f"api:test:{uuid.uuid4().hex}"
    answers: list[int | None] = []
    lock = threading.Lock()

    def hit_ten() -> None:
        for _ in range(10):
            with store.begin() as conn:
                wait = shared_hit(conn, key, 25)
            with lock:
                answers.append(wait)

    threads = [threading.Thread(target=hit_ten) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert len(answers) == 60
    assert answers.count(None) == 25
    assert all(1 <= w <= 60 for w in answers if w is not None)


def test_a_new_window_starts_after_a_minute(store: Engine) -> None:
    from porchlight.admin.db import utcnow

    key = f"api:test:{uuid.uuid4().hex}"
    rl = rate_limits.c
    with store.begin() as conn:
        waits = [shared_hit(conn, key, 2) for _ in range(3)]
        assert waits[:2] == [None, None] and 59 <= (waits[2] or 0) <= 60
        conn.execute(
            rate_limits.update()
            .where(rl.key == key)
            .values(window_start=utcnow() - timedelta(seconds=61))
        )
        assert shared_hit(conn, key, 2) is None
        assert conn.execute(sa.select(rl.count).where(rl.key == key)).scalar() == 1
