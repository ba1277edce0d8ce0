"""A tenant of N customers for the retention benchmark, built in SQL in a minute or two.

    .venv/bin/python benchmarks/retention_data.py --db URL [--customers N] [--stale-percent P]

Every row is made by the database itself (INSERT ... SELECT over a row
series: a recursive CTE on SQLite, generate_series on PostgreSQL), with the
secondary indexes, SQLite's search triggers and PostgreSQL's trigram indexes
dropped while loading and built once after, then ANALYZE. Per customer i, at
the real clock (no moved clock needed): two visits at one of 5 locations,
each with a MAC and byte counts, a device, a marketing consent with its MAC,
its per-location counter and channel. Every (100 / S)-th customer is stale
(--stale-percent S, default 5: last visit 25-35 months ago, erased by the
default 24-month window); the others came back within the last 80 days. Of
those, every (100 / D)-th (--old-device-percent D, default 10) first came up
to 300 days earlier on a phone not seen since: a pass deletes that device
and clears the first visit's MAC and bytes and the consent's MAC when that
was over 90 days ago; the rest have no device data older than 90 days, as
after a daily pass.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from porchlight.admin import migrate, schema
from porchlight.admin.db import make_engine
from porchlight.admin.seed import seed

DAY = 86400
TABLES = [
    schema.customers,
    schema.visits,
    schema.devices,
    schema.consents,
    schema.customer_locations,
    schema.customer_channels,
]


class Dialect:
    """The few expressions that differ between SQLite and PostgreSQL."""

    def __init__(self, name: str, now: int) -> None:
        self.pg = name == "postgresql"
        self.now = now

    def series(self, first: int, last: int) -> tuple[str, str]:
        """(prefix before SELECT, FROM source) giving rows i = first..last."""
        if self.pg:
            return "", f"generate_series({first}::bigint, {last}::bigint) AS s(i)"
        step = f"SELECT i + 1 FROM s WHERE i < {last}"
        return f"WITH RECURSIVE s(i) AS (SELECT {first} UNION ALL {step}) ", "s"

    def ago(self, seconds: str) -> str:
        """A timestamp `seconds` (an SQL expression) before now, as the column stores it."""
        if self.pg:
            return f"(to_timestamp({self.now} - ({seconds})) AT TIME ZONE 'UTC')"
        return (
            f"(strftime('%Y-%m-%d %H:%M:%S', {self.now} - ({seconds}), 'unixepoch') || '.000000')"
        )

    def mac(self) -> str:
        parts = [f"(i >> {shift}) & 255" for shift in (24, 16, 8, 0)]
        if self.pg:
            return "'02:00' || " + " || ".join(f"':' || lpad(to_hex({p}), 2, '0')" for p in parts)
        return "printf('02:00:%02x:%02x:%02x:%02x', " + ", ".join(parts) + ")"

    def phone(self) -> str:
        return "'+8490' || lpad(i::text, 7, '0')" if self.pg else "printf('+8490%07d', i)"


def _rows(
    conn: Connection, d: Dialect, n: int, every: tuple[int, int], where: tuple[int, ...]
) -> None:
    """Insert the tenant's customers and what is theirs (customer id = i)."""
    tenant, loc0, nlocs = where
    stale_every, old_every = every
    prefix, source = d.series(1, n)
    # la / fa: seconds since the last / first visit; dev: since the device was seen
    la = (
        f"CASE WHEN i % {stale_every} = 0 THEN {760 * DAY} + (i * 7919) % {300 * DAY} "
        f"ELSE (i * 7919) % {80 * DAY} END"
    )
    fa = (
        f"la + CASE WHEN i % {stale_every} = 0 OR i % {old_every} = 1 "
        f"THEN (i * 104729) % {300 * DAY} ELSE (i * 104729) % {5 * DAY} END"
    )
    derived = (
        f"(SELECT i, la, {fa} AS fa, {loc0} + i % {nlocs} AS loc "
        f"FROM (SELECT i, {la} AS la FROM {source}) AS x) AS t"
    )
    first, last, mac = d.ago("fa"), d.ago("la"), d.mac()
    statements = {
        "customers": (
            "id, tenant_id, name, phone, notes, visit_count, spend_total, first_visit_at, "
            "last_visit_at, last_channel, last_location_id, created_at, updated_at",
            f"i, {tenant}, 'Khách ' || i, {d.phone()}, '', 2, 0, {first}, {last}, 'form', "
            f"loc, {first}, {last}",
        ),
        "visits": (
            "tenant_id, customer_id, location_id, mac, channel, started_at, received_at, "
            "bytes_in, bytes_out",
            f"{tenant}, i, loc, {mac}, 'form', {{at}}, {{at}}, 1000000, 100000",
        ),
        "customer_locations": (
            "customer_id, location_id, visit_count, first_visit_at, last_visit_at",
            f"i, loc, 2, {first}, {last}",
        ),
        "customer_channels": ("customer_id, channel, tenant_id", f"i, 'form', {tenant}"),
        "devices": (
            "tenant_id, customer_id, mac, first_seen_at, last_seen_at",
            f"{tenant}, i, {mac}, {first}, "
            f"CASE WHEN i % {old_every} = 1 THEN {first} ELSE {last} END",
        ),
        "consents": (
            "tenant_id, customer_id, purpose, granted, text_version, location_id, mac, "
            "given_at, received_at",
            f"{tenant}, i, 'marketing', TRUE, 'm-v1', loc, {mac}, {first}, {first}",
        ),
    }
    for table, (columns, values) in statements.items():
        for at in (first, last) if table == "visits" else (None,):
            select = values.format(at=at) if at else values
            sql = f"INSERT INTO {table} ({columns}) {prefix}SELECT {select} FROM {derived}"  # noqa: S608
            started = time.monotonic()
            conn.exec_driver_sql(sql.replace("%", "%%") if d.pg else sql)  # psycopg: %% is %
            print(f"  {table}: {time.monotonic() - started:.1f} s", file=sys.stderr, flush=True)


def _drop_indexes(conn: Connection) -> list[str]:
    """Drop the secondary indexes and search triggers; the SQL to make them again."""
    again: list[str] = []
    if conn.dialect.name == "postgresql":
        rows = conn.execute(
            sa.text(
                "SELECT i.indexname, i.indexdef FROM pg_indexes i WHERE i.tablename = ANY(:t) "
                "AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)"
            ),
            {"t": [t.name for t in TABLES]},
        ).all()
        for name, definition in rows:
            conn.exec_driver_sql(f'DROP INDEX "{name}"')
            again.append(definition)
        return again
    rows = conn.execute(
        sa.text(
            "SELECT type, name, sql FROM sqlite_master WHERE tbl_name IN "
            f"({','.join(repr(t.name) for t in TABLES)}) AND sql IS NOT NULL "
            "AND (type = 'index' OR (type = 'trigger' AND name LIKE 'customers_search_fts%'))"
        )
    ).all()
    for kind, name, sql in rows:
        conn.exec_driver_sql(f'DROP {kind.upper()} "{name}"')
        again.append(sql)
    return again


def build(
    engine: Engine, customers: int, stale_percent: float, old_device_percent: float
) -> dict[str, Any]:
    """Tenant 'bench' (5 locations) with `customers` customers made as the module says."""
    started = time.monotonic()
    migrate.upgrade(engine)
    seed(engine, 1, 0, 5)  # the tenant, its locations, groups and tags; one customer
    c = schema.customers
    with engine.begin() as conn:
        tenant_id = conn.execute(
            sa.select(schema.tenants.c.id).where(schema.tenants.c.slug == "bench")
        ).scalar_one()
        conn.execute(c.delete().where(c.c.tenant_id == tenant_id))
        if conn.execute(sa.select(sa.func.count()).select_from(c)).scalar_one():
            raise SystemExit("the database has other customers: build into an empty one")
        loc_ids = sorted(
            conn.execute(
                sa.select(schema.locations.c.id).where(schema.locations.c.tenant_id == tenant_id)
            ).scalars()
        )
    if loc_ids != list(range(loc_ids[0], loc_ids[0] + len(loc_ids))):
        raise SystemExit(f"the tenant's locations are not consecutive ids: {loc_ids}")
    d = Dialect(engine.dialect.name, int(time.time()))
    with engine.begin() as conn:
        if not d.pg:
            conn.exec_driver_sql("PRAGMA cache_size=-1000000")
        again = _drop_indexes(conn)
        every = (max(1, round(100 / stale_percent)), max(2, round(100 / old_device_percent)))
        _rows(conn, d, customers, every, (tenant_id, loc_ids[0], len(loc_ids)))
        print(
            f"  rows: {time.monotonic() - started:.0f} s; indexes...", file=sys.stderr, flush=True
        )
        for sql in again:
            conn.exec_driver_sql(sql)
        if d.pg:
            conn.exec_driver_sql(f"SELECT setval('customers_id_seq', {customers + 1})")
        else:
            conn.exec_driver_sql(
                "INSERT INTO customers_search_fts(rowid, doc) SELECT id, "
                "pl_search_doc(name, email, external_code, phone) FROM customers"
            )
            # One segment, as automerge leaves a grown index over time: the bulk
            # insert left large segments in level 0 and a merge of 10,000 pages
            # under way, which the pass's first writes would carry on.
            conn.exec_driver_sql(
                "INSERT INTO customers_search_fts(customers_search_fts) VALUES ('optimize')"
            )
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("ANALYZE")
        if not d.pg:  # all in the main file: a copy of it alone is the whole database
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    return {
        "customers": customers,
        "stale_percent": stale_percent,
        "old_device_percent": old_device_percent,
        "tenant_id": tenant_id,
        "build_seconds": round(time.monotonic() - started, 1),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", required=True, help="an empty database (sqlite:///... or PG)")
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--stale-percent", type=float, default=5.0)
    parser.add_argument("--old-device-percent", type=float, default=10.0)
    args = parser.parse_args()
    engine = make_engine(args.db)
    print(json.dumps(build(engine, args.customers, args.stale_percent, args.old_device_percent)))
    engine.dispose()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
