"""`porchlight admin seed`: bulk realistic data for benchmarks and demos.

Writes customers, visits, per-location counters, channels, tags and groups
for one tenant straight through the DB driver (executemany on SQLite, COPY on
PostgreSQL), in chunks, with the same counters ingest keeps. Deterministic
for a given --seed. Then ANALYZE so the planner knows the indexes.
"""

from __future__ import annotations

import argparse
import logging
import random
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from porchlight.admin import schema
from porchlight.admin.customers import channel_rollup, customer_rollup, visit_rollup
from porchlight.admin.db import utcnow
from porchlight.errors import UsageError

log = logging.getLogger(__name__)

FAMILY = ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ", "Đặng", "Bùi",
          "Đỗ", "Hồ", "Ngô", "Dương", "Lý"]  # fmt: skip
MIDDLE = ["Văn", "Thị", "Minh", "Ngọc", "Thanh", "Hữu", "Đức", "Thu", "Quang", "Hoài"]
GIVEN = ["An", "Bình", "Chi", "Dũng", "Giang", "Hà", "Hải", "Hằng", "Hiếu", "Hoa", "Hùng",
         "Hương", "Khánh", "Lan", "Linh", "Long", "Mai", "Minh", "Nam", "Ngọc", "Phương",
         "Quân", "Sơn", "Tâm", "Thảo", "Trang", "Trung", "Tuấn", "Vy", "Yến"]  # fmt: skip
PROVINCES = [("Hồ Chí Minh", "700000"), ("Hà Nội", "100000"), ("Đà Nẵng", "550000"),
             ("Cần Thơ", "900000"), ("Hải Phòng", "180000"), ("Khánh Hòa", "650000")]  # fmt: skip
CHANNELS = ["form"] * 6 + ["click"] * 2 + ["zalo"] * 3 + ["returning"] * 3 + ["voucher", "google"]
TAGS = ["wifi", "zalo", "làm đẹp", "cà phê", "sinh nhật", "khách quen", "vip", "trà sữa"]
CHUNK = 5000
# PostgreSQL trigram indexes: 0003's lower(name) and 0009's expression (before 0014),
# 0014's on the stored search document
TRGM = ("ix_customers_name_trgm", "ix_customers_search_trgm", "ix_customers_search_doc_trgm")
FTS = "customers_search_fts"
CUST_COLS = ["id", "tenant_id", "name", "phone", "email", "notes", "province", "postal_code",
             "group_id", "group_fixed", "visit_count", "spend_total", "first_visit_at",
             "last_visit_at", "last_channel", "last_location_id", "created_at",
             "updated_at"]  # fmt: skip
VISIT_COLS = ["id", "tenant_id", "customer_id", "location_id", "channel", "started_at",
              "received_at", "ended_at", "dwell_seconds", "mac"]  # fmt: skip


def _ts(value: datetime) -> str:
    """The text SQLAlchemy's SQLite DateTime stores (naive UTC)."""
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


class Writer:
    """Bulk rows through the raw driver connection (fast), per dialect."""

    def __init__(self, conn: Connection) -> None:
        self.sqlite = conn.dialect.name == "sqlite"
        self.raw: Any = conn.connection.dbapi_connection

    def time(self, value: datetime | None) -> Any:
        if value is None:
            return None
        return _ts(value) if self.sqlite else value.replace(tzinfo=None)

    def rows(self, table: sa.Table, columns: list[str], rows: list[tuple[Any, ...]]) -> None:
        if not rows:
            return
        cur = self.raw.cursor()
        if self.sqlite:
            marks = ",".join("?" * len(columns))
            sql = f"INSERT INTO {table.name} ({','.join(columns)}) VALUES ({marks})"  # noqa: S608
            cur.executemany(sql, rows)
        else:
            with cur.copy(f"COPY {table.name} ({','.join(columns)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        cur.close()


def _tenant(conn: Connection, slug: str, locations: int) -> tuple[int, list[int]]:
    from porchlight.admin.customers.groups import ensure_default_groups
    from porchlight.admin.users import create_location, create_tenant

    t = schema.tenants
    tenant_id = conn.execute(sa.select(t.c.id).where(t.c.slug == slug)).scalar()
    if tenant_id is None:
        tenant_id = create_tenant(conn, slug, f"Bench {slug}")
    ensure_default_groups(conn, tenant_id)
    loc = schema.locations
    have = list(
        conn.execute(
            sa.select(loc.c.id).where(loc.c.tenant_id == tenant_id).order_by(loc.c.id)
        ).scalars()
    )
    for i in range(len(have), locations):
        province, postal = PROVINCES[i % len(PROVINCES)]
        have.append(
            create_location(
                conn, tenant_id, f"Chi nhánh {i + 1:02d}", province=province, postal_code=postal
            )
        )
    return int(tenant_id), have[:locations]


def _visit_counts(rng: random.Random, customers: int, visits: int) -> Iterator[int]:
    """Per-customer visit counts summing to `visits`: many once, a few regulars."""
    mean = visits / max(customers, 1)
    remaining = visits
    for i in range(customers):
        left = customers - i
        if left == 1:
            yield max(remaining, 0)
            return
        k = min(int(rng.expovariate(1 / mean)) + (1 if mean >= 1 else 0), remaining)
        remaining -= k
        yield k


def _load(
    engine: Engine,
    rng: random.Random,
    counts: Iterator[int],
    customers: int,
    tenant_id: int,
    loc_ids: list[int],
    tag_ids: list[int],
    thresholds: list[tuple[int, int]],
    next_id: int,
    next_visit: int,
    started: float,
) -> int:
    """Insert the customers and everything under them, in chunks; the next visit id."""
    now = utcnow()
    loc_province = {lid: PROVINCES[i % len(PROVINCES)] for i, lid in enumerate(loc_ids)}
    year = 365 * 86400
    made = 0
    while made < customers:
        n = min(CHUNK, customers - made)
        cust_rows, visit_rows, cl_rows, ch_rows, tag_rows = [], [], [], [], []
        with engine.begin() as conn:
            if conn.dialect.name == "sqlite":
                conn.exec_driver_sql("PRAGMA cache_size=-1000000")
                conn.exec_driver_sql("PRAGMA synchronous=OFF")
            w = Writer(conn)
            for j in range(n):
                cid = next_id + made + j
                k = next(counts)
                home = rng.choice(loc_ids)
                others = rng.sample(loc_ids, min(2, len(loc_ids)))
                times = sorted(now - timedelta(seconds=rng.random() * year) for _ in range(k))
                per_loc: dict[int, list[datetime]] = {}
                channels: dict[str, datetime] = {}  # channel -> last visit
                last_ch, last_loc = None, None
                for when in times:
                    lid = home if rng.random() < 0.8 else rng.choice(others)
                    ch = rng.choice(CHANNELS)
                    channels[ch] = when
                    per_loc.setdefault(lid, []).append(when)
                    dwell = rng.randint(300, 7200)
                    visit_rows.append((next_visit, tenant_id, cid, lid, ch, w.time(when),
                                       w.time(when), w.time(when + timedelta(seconds=dwell)),
                                       dwell, None))  # fmt: skip
                    next_visit += 1
                    last_ch, last_loc = ch, lid
                group_id = None
                for threshold, gid in thresholds:
                    if k >= threshold:
                        group_id = gid
                province, postal = loc_province[home]
                first = times[0] if times else None
                last = times[-1] if times else None
                created = first or now - timedelta(seconds=rng.random() * year)
                name = f"{rng.choice(FAMILY)} {rng.choice(MIDDLE)} {rng.choice(GIVEN)}"
                email = f"guest{cid}@example.vn" if rng.random() < 0.3 else None
                spend = round(rng.random() * 5_000_000 / 1000) * 1000 if rng.random() < 0.4 else 0
                tags = rng.sample(tag_ids, rng.choice((0, 0, 1, 1, 2)))
                row = (cid, tenant_id, name, f"+8490{cid % 10_000_000:07d}", email, "",
                       province, postal, group_id, False, k, spend, w.time(first), w.time(last),
                       last_ch, last_loc, w.time(created), w.time(last or created))  # fmt: skip
                cust_rows.append(row if w.sqlite else (*row, sorted(tags)))  # PG: 0021's tag_ids
                for lid, ts in per_loc.items():
                    cl_rows.append((cid, lid, len(ts), w.time(ts[0]), w.time(ts[-1])))
                for ch, last_at in channels.items():
                    ch_rows.append((cid, ch, tenant_id, w.time(last_at)))
                for tag_id in tags:
                    tag_rows.append((cid, tag_id))
            w.rows(schema.customers, CUST_COLS if w.sqlite else [*CUST_COLS, "tag_ids"], cust_rows)
            w.rows(schema.visits, VISIT_COLS, visit_rows)
            w.rows(schema.customer_locations,
                   ["customer_id", "location_id", "visit_count", "first_visit_at", "last_visit_at"],
                   cl_rows)  # fmt: skip
            w.rows(schema.customer_channels,
                   ["customer_id", "channel", "tenant_id", "last_visit_at"], ch_rows)  # fmt: skip
            w.rows(schema.customer_tags, ["customer_id", "tag_id"], tag_rows)
        made += n
        if made % (CHUNK * 20) == 0 or made == customers:
            log.info("seeded %s/%s customers (%.0f s)", made, customers, time.monotonic() - started)
    return next_visit


def seed(
    engine: Engine,
    customers: int,
    visits: int,
    locations: int,
    *,
    tenant: str = "bench",
    rng_seed: int = 1,
) -> dict[str, Any]:
    if customers < 1 or visits < 0 or locations < 1:
        raise UsageError("--customers and --locations must be at least 1, --visits at least 0")
    rng = random.Random(rng_seed)
    started = time.monotonic()
    with engine.begin() as conn:
        tenant_id, loc_ids = _tenant(conn, tenant, locations)
        thresholds, tag_ids = _groups_and_tags(conn, tenant_id)
        next_id, next_visit = _next_id(conn, schema.customers), _next_id(conn, schema.visits)
    bulk_tables = [
        schema.customers,
        schema.visits,
        schema.customer_locations,
        schema.customer_channels,
        schema.customer_tags,
    ]
    indexes = [ix for table in bulk_tables for ix in table.indexes]
    with engine.begin() as conn:
        pg_defs, fts_triggers = _drop_indexes(conn, indexes)
    counts = _visit_counts(rng, customers, visits)
    first_visit_id = next_visit
    try:
        next_visit = _load(engine, rng, counts, customers, tenant_id, loc_ids, tag_ids,
                           thresholds, next_id, next_visit, started)  # fmt: skip
    finally:
        log.info("building indexes (%.0f s)", time.monotonic() - started)
        with engine.begin() as conn:
            _build_indexes(conn, indexes, pg_defs, fts_triggers)
    visits_written = next_visit - first_visit_id
    with engine.begin() as conn:
        visit_rollup.add_visit_ids(conn, first_visit_id, next_visit)
        channel_rollup.recount(conn, tenant_id)
        customer_rollup.recount(conn, tenant_id)
    with engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(sa.text(f"SELECT setval('customers_id_seq', {next_id + customers})"))
            conn.execute(sa.text(f"SELECT setval('visits_id_seq', {next_visit})"))
            conn.commit()
            conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("ANALYZE")
        else:
            conn.exec_driver_sql("ANALYZE")
            conn.commit()
    return {
        "tenant": tenant,
        "tenant_id": tenant_id,
        "customers": customers,
        "visits": visits_written,
        "locations": len(loc_ids),
        "seconds": round(time.monotonic() - started, 1),
    }


def _groups_and_tags(conn: Connection, tenant_id: int) -> tuple[list[tuple[int, int]], list[int]]:
    """The tenant's (min visits, group id) thresholds, sorted; its tag ids (TAGS made)."""
    g = schema.groups
    thresholds = sorted(
        (r.min_visits, r.id)
        for r in conn.execute(
            sa.select(g).where(g.c.tenant_id == tenant_id, g.c.min_visits.is_not(None))
        )
    )
    t = schema.tags
    for name in TAGS:
        if (
            conn.execute(
                sa.select(t.c.id).where(t.c.tenant_id == tenant_id, t.c.name == name)
            ).first()
            is None
        ):
            conn.execute(t.insert().values(tenant_id=tenant_id, name=name))
    tag_ids = list(conn.execute(sa.select(t.c.id).where(t.c.tenant_id == tenant_id)).scalars())
    return thresholds, tag_ids


def _next_id(conn: Connection, table: sa.Table) -> int:
    return (
        int(conn.execute(sa.select(sa.func.coalesce(sa.func.max(table.c.id), 0))).scalar_one()) + 1
    )


def _drop_indexes(
    conn: Connection, indexes: list[sa.Index]
) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """Bulk-load practice: drop the secondary indexes, load, build them once.

    Returns PostgreSQL's indexes as the database defines them (name, definition:
    the migrations add trigram indexes and INCLUDE columns the metadata does not
    describe), and SQLite's search triggers (migration 0009), to build again.
    """
    pg_defs: list[tuple[str, str]] = []
    fts_triggers: list[tuple[str, str]] = []
    names = [str(ix.name) for ix in indexes]
    if conn.dialect.name == "postgresql":  # as the migrations left them (0019, 0021 INCLUDE)
        names += TRGM
        query = sa.text("SELECT indexname, indexdef FROM pg_indexes WHERE indexname = ANY(:n)")
        found = {r.indexname: r.indexdef for r in conn.execute(query, {"n": names})}
        pg_defs = [(name, found[name]) for name in names if name in found]
    for name in names:
        conn.execute(sa.text(f'DROP INDEX IF EXISTS "{name}"'))
    if conn.dialect.name != "postgresql":
        # The FTS triggers index every name as it is written (seeding
        # 200,000 customers: 40.7 s with them, 29.8 s dropping them and
        # rebuilding once): drop them, load, rebuild the FTS table once.
        fts_triggers = [
            (r.name, r.sql)
            for r in conn.execute(
                sa.text(
                    "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' "
                    "AND tbl_name = 'customers' AND name LIKE :p"
                ),
                {"p": f"{FTS}%"},
            )
        ]
        for name, _sql in fts_triggers:
            conn.execute(sa.text(f'DROP TRIGGER "{name}"'))
    return pg_defs, fts_triggers


def _build_indexes(
    conn: Connection,
    indexes: list[sa.Index],
    pg_defs: list[tuple[str, str]],
    fts_triggers: list[tuple[str, str]],
) -> None:
    defined = {name for name, _definition in pg_defs}
    for ix in indexes:
        if ix.name not in defined:
            ix.create(conn, checkfirst=True)
    for name, definition in pg_defs:
        conn.execute(sa.text(definition))
        if name in TRGM and (
            name != "ix_customers_search_doc_trgm"
        ):  # an expression's statistics (0014's: the column's)
            conn.execute(sa.text(f'ALTER INDEX "{name}" ALTER COLUMN 1 SET STATISTICS 1000'))
    if fts_triggers:
        for _name, sql in fts_triggers:
            conn.execute(sa.text(sql))
        conn.execute(sa.text("DELETE FROM customers_search_fts"))
        conn.execute(
            sa.text(
                "INSERT INTO customers_search_fts(rowid, doc) SELECT id, "
                "pl_search_doc(name, email, external_code, phone) FROM customers"
            )
        )


def _cmd_seed(args: argparse.Namespace) -> int:
    import json

    from porchlight.admin.db import engine_from_env
    from porchlight.admin.migrate import upgrade

    engine = engine_from_env()
    upgrade(engine)
    result = seed(
        engine, args.customers, args.visits, args.locations, tenant=args.tenant, rng_seed=args.seed
    )
    print(json.dumps(result))
    return 0


def register(sub: Any) -> None:
    p = sub.add_parser("seed", help="bulk benchmark data: customers, visits, locations")
    p.add_argument("--customers", type=int, default=10_000)
    p.add_argument("--visits", type=int, default=100_000)
    p.add_argument("--locations", type=int, default=5)
    p.add_argument("--tenant", default="bench", help="tenant slug (made if missing)")
    p.add_argument("--seed", type=int, default=1, help="random seed")
    p.set_defaults(func=_cmd_seed)
