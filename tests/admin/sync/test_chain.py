"""A chain's admin as production runs it: two admin processes and two job workers
on one PostgreSQL, routers syncing through a round-robin. Issue 18's check at a
small scale (benchmarks/chain.py is the same at 1,000 routers): replays to the
other process and batches sent to both at once store every event exactly once.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from chaincheck import inspect
from chainkit import Fleet, RoundRobin, enroll_routers, make_chain, queue_exports, wait_for_jobs
from chainsync import Client, Plan, Tally, idle_polls, sync

from porchlight.admin.db import make_engine

pytestmark = [pytest.mark.pg, pytest.mark.slow]


def test_two_admin_processes_store_every_event_once(pg_url: str, tmp_path: Path) -> None:
    engine = make_engine(pg_url)
    chain = make_chain(engine, locations=5)
    fleet = Fleet(pg_url, tmp_path)
    # many phones at few venues: two routers often create the same customer at once
    plan = Plan(rounds=2, sessions=2, phones=60, replay=0.25, twin=0.25, threads=8, retry_cap=2)
    tally = Tally()
    try:
        fleet.start()
        balancer = RoundRobin(fleet.urls)
        routers = enroll_routers(engine, chain, 50, balancer)
        exports = queue_exports(engine, chain, 4)
        client = Client(balancer, tally, plan)
        sync(client, routers)
        idle_polls(client, routers)
        assert wait_for_jobs(engine, chain.tenant_id, timeout=60)
        assert fleet.alive()
    finally:
        fleet.stop()
    assert len({r.token for r in routers}) == 50  # each router its own device token
    assert tally.replays > 0 and tally.twins > 0
    assert tally.anomalies == [] and tally.unacked == []
    found = inspect(engine, chain.tenant_id, [r.router_id for r in routers], tally)
    engine.dispose()
    assert found.problems() == []
    assert found.events_sent == 50 * (2 * 2 * 2 + 2 * 2)  # logins, starts, ends
    assert found.visits == found.ended_visits == 200
    assert found.jobs == {"done": len(exports)}
    assert set(tally.statuses) >= {"config 200", "idle config 304", "batch 200"}
