"""What the chain's routers sent (`chainsync.Tally`) against what the database holds.

Every event exactly once (the `sync_events` ledger, by id and router), one
visit per login with an identity (none doubled, each ended by its
session_end), one customer per phone, and the counters and rollups the
dashboard reads adding up to the visits. `problems()` lists every mismatch.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from chainsync import Tally
from sqlalchemy.engine import Engine

from porchlight.admin.schema import (
    customer_locations,
    customers,
    jobs,
    pending_session_ends,
    sync_events,
    visit_hours,
    visits,
)


@dataclass
class Found:
    events_sent: int
    events_stored: int
    missing: list[str] = field(default_factory=list)  # sent, acked, not in the ledger
    extra: list[str] = field(default_factory=list)  # in the ledger, never sent (or other router)
    logins: int = 0
    visits: int = 0
    doubled_visits: int = 0  # (router, session) with more than one visit
    ends: int = 0
    ended_visits: int = 0
    pending_ends: int = 0
    phones: int = 0
    customers: int = 0
    visit_count_sum: int = 0  # customers.visit_count summed
    location_count_sum: int = 0  # customer_locations.visit_count summed
    hour_visits_sum: int = 0  # visit_hours.visits summed (the dashboard's rollup)
    jobs: dict[str, int] = field(default_factory=dict)  # status -> count
    job_attempts_over_one: int = 0

    def problems(self) -> list[str]:
        out = []
        if self.missing:
            out.append(f"{len(self.missing)} events lost, e.g. {self.missing[:3]}")
        if self.extra:
            out.append(f"{len(self.extra)} events stored that this router did not send")
        if self.events_stored != self.events_sent:
            out.append(f"ledger holds {self.events_stored} events, {self.events_sent} were sent")
        if self.doubled_visits:
            out.append(f"{self.doubled_visits} sessions have more than one visit")
        expected = {
            "visits": (self.visits, self.logins),
            "ended visits": (self.ended_visits, self.ends),
            "kept session ends": (self.pending_ends, 0),
            "customers": (self.customers, self.phones),
            "customers.visit_count": (self.visit_count_sum, self.logins),
            "customer_locations.visit_count": (self.location_count_sum, self.logins),
            "visit_hours.visits": (self.hour_visits_sum, self.logins),
        }
        for name, (got, want) in expected.items():
            if got != want:
                out.append(f"{name}: {got}, expected {want}")
        if self.job_attempts_over_one:
            out.append(f"{self.job_attempts_over_one} jobs were claimed more than once")
        return out


def _scalar(conn: sa.Connection, query: Any) -> int:
    return int(conn.execute(query).scalar() or 0)


def inspect(engine: Engine, tenant_id: int, router_ids: list[int], tally: Tally) -> Found:
    """Count what reached the database for this tenant and these routers."""
    with engine.connect() as conn:
        ledger = {
            str(row.id): int(row.router_id)
            for row in conn.execute(
                sa.select(sync_events.c.id, sync_events.c.router_id).where(
                    sync_events.c.router_id.in_(router_ids)
                )
            )
        }
        v = visits.c
        in_tenant = v.tenant_id == tenant_id
        found = Found(events_sent=len(tally.events), events_stored=len(ledger))
        found.missing = sorted(i for i in tally.events if i not in ledger)
        found.extra = sorted(i for i, r in ledger.items() if tally.events.get(i) != r)
        found.logins, found.ends = len(tally.logins), len(tally.ends)
        found.phones = len(set(tally.logins.values()))
        found.visits = _scalar(conn, sa.select(sa.func.count()).where(in_tenant))
        per_session = (
            sa.select(v.router_id, v.session_id)
            .where(in_tenant)
            .group_by(v.router_id, v.session_id)
            .having(sa.func.count() > 1)
            .subquery()
        )
        found.doubled_visits = _scalar(conn, sa.select(sa.func.count()).select_from(per_session))
        found.ended_visits = _scalar(
            conn, sa.select(sa.func.count()).where(in_tenant, v.ended_at.is_not(None))
        )
        found.pending_ends = _scalar(
            conn,
            sa.select(sa.func.count())
            .select_from(pending_session_ends)
            .where(pending_session_ends.c.router_id.in_(router_ids)),
        )
        _count_customers(conn, tenant_id, found)
        for status, n in conn.execute(
            sa.select(jobs.c.status, sa.func.count())
            .where(jobs.c.tenant_id == tenant_id)
            .group_by(jobs.c.status)
        ):
            found.jobs[str(status)] = int(n)
        found.job_attempts_over_one = _scalar(
            conn,
            sa.select(sa.func.count()).where(jobs.c.tenant_id == tenant_id, jobs.c.attempts > 1),
        )
    return found


def _count_customers(conn: sa.Connection, tenant_id: int, found: Found) -> None:
    c = customers.c
    found.customers = _scalar(conn, sa.select(sa.func.count()).where(c.tenant_id == tenant_id))
    found.visit_count_sum = _scalar(
        conn, sa.select(sa.func.sum(c.visit_count)).where(c.tenant_id == tenant_id)
    )
    found.location_count_sum = _scalar(
        conn,
        sa.select(sa.func.sum(customer_locations.c.visit_count))
        .select_from(customer_locations.join(customers))
        .where(c.tenant_id == tenant_id),
    )
    found.hour_visits_sum = _scalar(
        conn,
        sa.select(sa.func.sum(visit_hours.c.visits)).where(visit_hours.c.tenant_id == tenant_id),
    )
