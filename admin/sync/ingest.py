"""Apply a batch of router events to the admin store, exactly once.

`ingest_batch` runs inside one write transaction (`write_transaction`): the
event ids go into the `sync_events` ledger with INSERT .. ON CONFLICT DO
NOTHING RETURNING, and only the ids that ledger insert returned are applied.
Ids seen before from the same router (a replay, a retry after a lost ack, a
concurrent duplicate) are acked but change nothing; an id the ledger holds for
another router rejects the whole batch (`ForeignEventError`). On SQLite the
transaction is BEGIN IMMEDIATE (writers queue on the file lock); on
PostgreSQL a per-tenant advisory lock serializes ingest for one tenant, so two
routers of a chain cannot both create the same new customer.

Login events find the customer by tenant + normalized phone, then e-mail, then
social id — never by MAC; a `returning` login without any of these (the agent
vouched for the device) is credited to the customer last seen on that device.
Each applied login adds a visit (started_at = router's occurred_at,
received_at = admin's clock), bumps the counters on `customers` and
`customer_locations` (and the customer's threshold group), and records
channel, tags, device and consents.
`session_end` completes the visit of that router's session, in whichever
order the two arrive (admin/sync/ingest_ends.py keeps an early end until its
visit is written).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from porchlight.admin.chat import linking as chat_linking
from porchlight.admin.customers import channel_rollup, customer_rollup, visit_rollup
from porchlight.admin.customers.groups import recompute_groups
from porchlight.admin.db import begin_immediate, utcnow
from porchlight.admin.privacy import guest_events, minimise
from porchlight.admin.schema import (
    consents,
    locations,
    sync_events,
    visits,
)
from porchlight.admin.sync.enrollment import RouterIdentity
from porchlight.admin.sync.ingest_customers import CustomerResolver
from porchlight.admin.sync.ingest_ends import apply_ends, apply_pending_ends
from porchlight.admin.sync.ingest_rows import (
    add_tags,
    bump_counters,
    dialect_insert,
    upsert_devices,
)
from porchlight.events import parse_time

log = logging.getLogger(__name__)

ADVISORY_NAMESPACE = 0x504C  # "PL": first key of pg_advisory_xact_lock(int, int)


@dataclass
class IngestResult:
    acked: list[str]
    duplicates: int
    applied: int = 0
    visits: int = 0
    pending_ends: int = 0  # session_end events kept until their login arrives
    late_ends: int = 0  # kept session_end events applied by this batch's logins
    guest_events: int = 0  # consent / erasure_request events from the portal's "My data"
    new_customers: int = 0
    customer_ids: set[int] = field(default_factory=set)


@contextmanager
def write_transaction(engine: Engine, tenant_id: int) -> Iterator[Connection]:
    """One write transaction, serialized per tenant (SQLite: the whole file)."""
    with engine.connect() as conn:
        if conn.dialect.name == "sqlite":
            begin_immediate(conn)  # polled every 2 ms: SQLite's own handler backs off to 100 ms
        else:
            conn.execute(
                sa.text("SELECT pg_advisory_xact_lock(:ns, :tenant)"),
                {"ns": ADVISORY_NAMESPACE, "tenant": tenant_id},
            )
        try:
            yield conn
        except BaseException:
            conn.rollback()
            raise
        conn.commit()


def _record_ledger(
    conn: Connection, router: RouterIdentity, events: list[dict[str, Any]], now: datetime
) -> set[str]:
    rows = [
        {
            "id": e["id"],
            "router_id": router.router_id,
            "type": e["type"],
            "occurred_at": parse_time(e["occurred_at"]),
            "received_at": now,
        }
        for e in events
    ]
    stmt = (
        dialect_insert(conn, sync_events)
        .on_conflict_do_nothing(index_elements=["id"])
        .returning(sync_events.c.id)
    )
    # executemany + RETURNING: one cached statement, sent as multi-row INSERTs.
    return {str(x) for x in conn.execute(stmt, rows).scalars()}


class ForeignEventError(Exception):
    """An event id the ledger holds for another router: a forged or cross-router replay."""

    def __init__(self, event_id: str, index: int) -> None:
        super().__init__(f"event {event_id} was sent by another router")
        self.event_id = event_id
        self.index = index


def _refuse_foreign(
    conn: Connection, router: RouterIdentity, seen: list[str], events: list[dict[str, Any]]
) -> None:
    """Raise (rolling the batch back) if a seen id belongs to another router.

    The error names the first such event by its position in the batch as
    sent (duplicates included), which is the index the agent parks.
    """
    if not seen:
        return
    foreign = set(
        conn.execute(
            sa.select(sync_events.c.id)
            .where(
                sync_events.c.id.in_(seen),
                sa.or_(
                    sync_events.c.router_id.is_(None), sync_events.c.router_id != router.router_id
                ),
            )
            .order_by(sync_events.c.id)
        ).scalars()
    )
    for index, event in enumerate(events):
        if event["id"] in foreign:
            raise ForeignEventError(str(event["id"]), index)


def ingest_batch(
    conn: Connection,
    router: RouterIdentity,
    events: list[dict[str, Any]],
    *,
    now: datetime | None = None,
) -> IngestResult:
    """Apply validated (`validate_event`-cleaned) events; return what to ack."""
    now = now or utcnow()
    unique: dict[str, dict[str, Any]] = {}
    for event in events:
        unique.setdefault(event["id"], event)
    acked = list(unique)
    if not unique:
        return IngestResult(acked=[], duplicates=len(events))
    fresh_ids = _record_ledger(conn, router, list(unique.values()), now)
    _refuse_foreign(conn, router, [i for i in unique if i not in fresh_ids], events)
    fresh = [e for e in unique.values() if e["id"] in fresh_ids]
    result = IngestResult(acked=acked, duplicates=len(events) - len(fresh), applied=len(fresh))
    logins = [e for e in fresh if e["type"] == "login"]
    ends = [e for e in fresh if e["type"] == "session_end"]
    if logins:
        _apply_logins(conn, router, logins, now, result)
    if ends:
        result.pending_ends = apply_ends(conn, router, ends, now)
    asked = [e for e in fresh if e["type"] in guest_events.GUEST_EVENT_TYPES]
    if asked:  # after the logins: a withdrawal may name a session of this very batch
        result.guest_events = guest_events.apply(conn, router, asked, now)
    return result


def _apply_logins(
    conn: Connection,
    router: RouterIdentity,
    logins: list[dict[str, Any]],
    now: datetime,
    result: IngestResult,
) -> None:
    region = conn.execute(
        sa.select(locations.c.country).where(locations.c.id == router.location_id)
    ).scalar()
    logins = minimise.strip_unasked(logins, minimise.asked_fields(conn, router.location_id))
    resolver = CustomerResolver(conn, router.tenant_id, str(region or "VN"), now)
    resolver.preload(logins)
    rows = _LoginRows(router, now)
    resolved = [(event, resolver.resolve(event)) for event in logins]
    resolver.flush()
    for event, row in resolved:
        if row is None:
            log.info("login %s carries no phone, e-mail or social id: no customer", event["id"])
            continue
        customer_id = int(row["id"])
        result.customer_ids.add(customer_id)
        rows.add(event, customer_id)
    result.new_customers = resolver.created
    if rows.visits:
        rows.write(conn, result)
        # a Zalo follow / Messenger referral that came before this login (admin/chat)
        linked = [(event, int(row["id"])) for event, row in resolved if row is not None]
        chat_linking.link_logins(conn, router.tenant_id, linked, now)


@dataclass
class _LoginRows:
    """What a batch's logins write, gathered per table (one statement each)."""

    router: RouterIdentity
    now: datetime
    visits: list[dict[str, Any]] = field(default_factory=list)
    per_customer: dict[int, dict[str, Any]] = field(default_factory=dict)
    channels: dict[tuple[int, str], datetime] = field(default_factory=dict)  # last visit
    tags: set[tuple[int, str]] = field(default_factory=set)
    devices: dict[tuple[int, str], dict[str, Any]] = field(default_factory=dict)
    consents: list[dict[str, Any]] = field(default_factory=list)

    def add(self, event: dict[str, Any], customer_id: int) -> None:
        router, data = self.router, event["data"]
        started = parse_time(event["occurred_at"])
        self.visits.append(
            {
                "tenant_id": router.tenant_id,
                "customer_id": customer_id,
                "location_id": router.location_id,
                "router_id": router.router_id,
                "session_id": data["session_id"],
                "mac": event["mac"],
                "channel": data["channel"],
                "started_at": started,
                "received_at": self.now,
            }
        )
        agg = self.per_customer.setdefault(
            customer_id, {"n": 0, "first": started, "last": started, "channel": data["channel"]}
        )
        agg["n"] += 1
        agg["first"] = min(agg["first"], started)
        if started >= agg["last"]:
            agg["last"], agg["channel"] = started, data["channel"]
        key = (customer_id, data["channel"])
        self.channels[key] = max(started, self.channels.get(key, started))
        self.tags.update((customer_id, tag) for tag in data["tags"])
        self._add_device(event, customer_id, started)
        for consent in data["consents"]:
            self.consents.append(
                {
                    "tenant_id": router.tenant_id,
                    "customer_id": customer_id,
                    "purpose": consent["purpose"],
                    "granted": consent["granted"],
                    "text_version": consent["text_version"],
                    "location_id": router.location_id,
                    "mac": event["mac"],
                    "given_at": started,
                    "received_at": self.now,
                }
            )

    def _add_device(self, event: dict[str, Any], customer_id: int, started: datetime) -> None:
        device = event["data"]["device"]
        key = (customer_id, event["mac"])
        previous = self.devices.get(key)
        if previous is None or previous["last_seen_at"] <= started:
            self.devices[key] = {
                "tenant_id": self.router.tenant_id,
                "customer_id": customer_id,
                "mac": event["mac"],
                "hostname": device["hostname"],
                "vendor_class": device["vendor_class"],
                "randomized": bool(device["randomized"]),
                "first_seen_at": previous["first_seen_at"] if previous else started,
                "last_seen_at": started,
            }

    def write(self, conn: Connection, result: IngestResult) -> None:
        router, now = self.router, self.now
        conn.execute(visits.insert(), self.visits)
        visit_rollup.add(conn, self.visits)  # the dashboard's visits per hour, same transaction
        result.visits = len(self.visits)
        result.late_ends = apply_pending_ends(conn, router, {r["session_id"] for r in self.visits})
        touched = sorted(self.per_customer)
        customer_rollup.subtract(conn, touched)  # first/last visits move: the dashboard's
        bump_counters(conn, router, self.per_customer, now)
        customer_rollup.add(conn, touched)
        recompute_groups(conn, router.tenant_id, sorted(self.per_customer))
        # the customers' channels, and the dashboard's channel_hours
        channel_rollup.record_visits(conn, router.tenant_id, self.channels)
        if self.tags:
            add_tags(conn, router.tenant_id, self.tags)
        upsert_devices(conn, list(self.devices.values()))
        if self.consents:
            conn.execute(consents.insert(), self.consents)
