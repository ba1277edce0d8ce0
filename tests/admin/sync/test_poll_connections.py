"""A config poll or heartbeat is one database connection and one transaction.

1,000 routers poll every 30 s; each poll took three connections (token, rate
count, config), each with its pool ping, BEGIN and COMMIT/ROLLBACK: ~22 round
trips, which cost the admin more CPU than building the config
(benchmarks/chain.py). The rate count still holds for refused requests.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import event
from synckit import Venue

from porchlight.admin.app import create_app

SECRET = "sync-tests-secret-key-0123456789"


@pytest.fixture
def app(db_url: str) -> Iterator[Any]:
    application = create_app({"SECRET_KEY": SECRET, "DATABASE_URL": db_url})
    application.config["API_POLLS_PER_MINUTE"] = 3
    yield application
    application.extensions["porchlight.engine"].dispose()


def test_config_poll_and_heartbeat_take_one_connection_each(app: Any, venue: Venue) -> None:
    checkouts: list[int] = []
    event.listen(app.extensions["porchlight.engine"], "checkout", lambda *a: checkouts.append(1))
    client = app.test_client()
    auth = {"Authorization": f"Bearer {venue.token}"}
    first = client.get("/api/v1/config", headers=auth)
    assert (first.status_code, len(checkouts)) == (200, 1)
    again = client.get("/api/v1/config", headers={**auth, "If-None-Match": first.headers["ETag"]})
    assert (again.status_code, len(checkouts)) == (304, 2)
    beat = client.post("/api/v1/heartbeat", json={"clients_online": 3}, headers=auth)
    assert (beat.status_code, len(checkouts)) == (200, 3)
    assert beat.get_json() == {"commands": []}


def test_refused_heartbeats_count_against_the_poll_limit(app: Any, venue: Venue) -> None:
    client = app.test_client()
    auth = {"Authorization": f"Bearer {venue.token}"}
    for _ in range(2):
        bad = client.post("/api/v1/heartbeat", json={"clients_online": -1}, headers=auth)
        assert bad.status_code == 422
    assert client.get("/api/v1/config", headers=auth).status_code == 200  # the third
    refused = client.get("/api/v1/config", headers=auth)
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) >= 1
    wrong = client.get("/api/v1/config", headers={"Authorization": "Bearer plr_" + "x" * 43})
    assert wrong.status_code == 401
