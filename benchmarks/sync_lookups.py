"""The two look-ups migration 0005 indexed, timed straight on the engine.

- the returning-device look-up by MAC that sync ingest makes for a
  `returning` login without phone or e-mail (`CustomerResolver._by_device`);
- the dashboard's new-customer count over 30 days (customers whose
  first_visit_at falls in the period).

Used by benchmarks/admin_list.py (`--only lookup`, `--devices N`); run alone:
    .venv/bin/python benchmarks/sync_lookups.py --db URL [--devices N] [--runs 200]
Prints p50/p95 in ms and each query's plan.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from porchlight.admin import schema
from porchlight.admin.db import make_engine
from porchlight.admin.sync.ingest_customers import CustomerResolver


def _mac(i: int) -> str:
    return "02:" + ":".join(f"{(i >> s) & 0xFF:02x}" for s in (32, 24, 16, 8, 0))


def seed_devices(engine: Engine, tenant_id: int, total: int) -> None:
    """Devices for the tenant's customers until there are `total` (1-3 per customer)."""
    d, c = schema.devices, schema.customers
    with engine.begin() as conn:
        have = conn.execute(sa.select(sa.func.count()).select_from(d)).scalar_one()
        if have >= total:
            return
        ids = conn.execute(sa.select(c.c.id).where(c.c.tenant_id == tenant_id)).scalars().all()
    rng = random.Random(5)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    t0 = time.perf_counter()
    n = have
    batch: list[dict[str, Any]] = []
    while n < total:
        cid = ids[n % len(ids)]
        seen = start + timedelta(minutes=rng.randrange(500_000))
        batch.append(
            {
                "tenant_id": tenant_id,
                "customer_id": cid,
                "mac": _mac(n),
                "randomized": True,
                "first_seen_at": seen,
                "last_seen_at": seen,
            }  # fmt: skip
        )
        n += 1
        if len(batch) == 20_000 or n == total:
            with engine.begin() as conn:
                conn.execute(d.insert(), batch)
            batch = []
    with engine.begin() as conn:
        conn.exec_driver_sql("ANALYZE")
    print(f"# devices: {total:,} ({time.perf_counter() - t0:.0f} s to add)")


def _timed(fn: Callable[[int], Any], runs: int) -> tuple[float, float]:
    times = []
    for i in range(runs):
        t0 = time.perf_counter()
        fn(i)
        times.append((time.perf_counter() - t0) * 1000)
    times.sort()
    return statistics.median(times), times[min(len(times) - 1, int(0.95 * (len(times) - 1)))]


def _plan(engine: Engine, stmt: Any) -> str:
    with engine.connect() as conn:
        sql = str(stmt.compile(conn, compile_kwargs={"literal_binds": True}))
        prefix = "EXPLAIN QUERY PLAN " if conn.dialect.name == "sqlite" else "EXPLAIN "
        rows = conn.exec_driver_sql(prefix + sql).all()
    return " | ".join(str(r[-1]).strip() for r in rows)


def run(engine: Engine, tenant_id: int, runs: int) -> None:
    d, c = schema.devices, schema.customers
    with engine.connect() as conn:
        n_devices = conn.execute(sa.select(sa.func.count()).select_from(d)).scalar_one()
    if not n_devices:
        print("# no devices: pass --devices N to time the MAC look-up")
    rng = random.Random(11)
    since = datetime.now(UTC) - timedelta(days=30)
    new_count = (
        sa.select(sa.func.count())
        .select_from(c)
        .where(c.c.tenant_id == tenant_id, c.c.first_visit_at >= since)
    )
    with engine.connect() as conn:
        resolver = CustomerResolver(conn, tenant_id, "VN", datetime.now(UTC))
        p50, p95 = _timed(lambda i: resolver._by_device(_mac(rng.randrange(n_devices or 1))), runs)
        print(f"{'lookup: returning device by MAC':44} {p50:8.2f} {p95:8.2f}")
        p50, p95 = _timed(lambda i: conn.execute(new_count).scalar_one(), max(10, runs // 10))
        print(f"{'lookup: new customers, 30 days (count)':44} {p50:8.2f} {p95:8.2f}")
    by_mac = (
        sa.select(d.c.customer_id)
        .where(d.c.tenant_id == tenant_id, d.c.mac == _mac(7))
        .order_by(d.c.last_seen_at.desc())
        .limit(1)
    )
    print(f"#   plan by MAC: {_plan(engine, by_mac)}")
    print(f"#   plan new customers: {_plan(engine, new_count)}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--db", required=True)
    ap.add_argument("--tenant", default="bench")
    ap.add_argument("--devices", type=int, default=0)
    ap.add_argument("--runs", type=int, default=200)
    args = ap.parse_args()
    engine = make_engine(args.db)
    with engine.connect() as conn:
        tenant_id = conn.execute(
            sa.select(schema.tenants.c.id).where(schema.tenants.c.slug == args.tenant)
        ).scalar_one()
    if args.devices:
        seed_devices(engine, tenant_id, args.devices)
    run(engine, tenant_id, args.runs)
    return 0


if __name__ == "__main__":
    sys.exit(main())
