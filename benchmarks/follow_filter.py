"""The customer list's "follows the venue" filter at scale: p50/p95 per scenario.

Seed first (the seed writes no follow answers; this script adds them once:
`--share` of the customers get a `line_follow` answer, a tenth of those a
newer "no" after it, and a few a `zalo_follow`), e.g.:

    PORCHLIGHT_ADMIN_DATABASE_URL=sqlite:////tmp/bench.db porchlight admin migrate
    PORCHLIGHT_ADMIN_DATABASE_URL=sqlite:////tmp/bench.db \\
        porchlight admin seed --customers 200000 --visits 600000 --locations 10
    .venv/bin/python benchmarks/follow_filter.py --db sqlite:////tmp/bench.db [--json]

Requests go through the real app (Flask test client, rendering included).
Targets as the list's (benchmarks/admin_list.py): a first page p95 < 50 ms,
combined filters < 150 ms, a count < 300 ms, a customer page < 50 ms.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from datetime import timedelta

import sqlalchemy as sa
from admin_list import owner

from porchlight.admin import schema, sessions
from porchlight.admin.app import create_app
from porchlight.admin.db import utcnow


def add_follow_answers(engine, tenant_id: int, share: float) -> int:
    """Give `share` of the tenant's customers follow answers (once); how many have one."""
    k, c = schema.consents, schema.customers
    with engine.begin() as conn:
        done = conn.execute(
            sa.select(sa.func.count())
            .select_from(k)
            .where(k.c.purpose.in_(("line_follow", "zalo_follow")))
        ).scalar_one()
        if done:
            return int(done)
        ids = conn.execute(sa.select(c.c.id).where(c.c.tenant_id == tenant_id)).scalars().all()
        location = conn.execute(
            sa.select(schema.locations.c.id).where(schema.locations.c.tenant_id == tenant_id)
        ).scalar()
        rng = random.Random(21)
        now = utcnow()
        rows = []
        for customer_id in rng.sample(ids, int(len(ids) * share)):
            given = now - timedelta(days=rng.randint(2, 300))
            rows.append((customer_id, "line_follow", True, given))
            if rng.random() < 0.1:  # blocked the OA later
                rows.append((customer_id, "line_follow", False, given + timedelta(days=1)))
            if rng.random() < 0.05:
                rows.append((customer_id, "zalo_follow", True, given))
        conn.execute(
            k.insert(),
            [
                {
                    "tenant_id": tenant_id,
                    "customer_id": cid,
                    "purpose": purpose,
                    "granted": granted,
                    "text_version": "line-oa:@bench",
                    "location_id": location,
                    "given_at": given,
                    "received_at": given,
                }
                for cid, purpose, granted, given in rows
            ],
        )
        return len(rows)


def timed(client, url: str, runs: int, accept: str | None = None) -> tuple[float, float]:
    headers = {"Accept": accept} if accept else {}
    client.get(url, headers=headers)  # warm
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        resp = client.get(url, headers=headers)
        times.append((time.perf_counter() - t0) * 1000)
        if resp.status_code != 200:
            raise SystemExit(f"{url}: HTTP {resp.status_code}")
    times.sort()
    return statistics.median(times), times[min(len(times) - 1, round(0.95 * (len(times) - 1)))]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--db", required=True)
    ap.add_argument("--tenant", default="bench")
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--share", type=float, default=0.1, help="customers who answered LINE")
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    args = ap.parse_args()
    app = create_app({"SECRET_KEY": "benchmark-secret-key-0123456789", "DATABASE_URL": args.db})
    engine = app.extensions["porchlight.engine"]
    with engine.connect() as conn:
        tenant_id = conn.execute(
            sa.select(schema.tenants.c.id).where(schema.tenants.c.slug == args.tenant)
        ).scalar_one()
        customers = conn.execute(
            sa.select(sa.func.count()).where(schema.customers.c.tenant_id == tenant_id)
        ).scalar_one()
    answers = add_follow_answers(engine, tenant_id, args.share)
    client = app.test_client()
    with engine.begin() as conn:
        session_id = sessions.start(conn, owner(engine, tenant_id))
    with client.session_transaction() as sess:
        sess["_user_id"] = session_id
    with engine.connect() as conn:
        follower = conn.execute(
            sa.select(schema.consents.c.customer_id)
            .where(schema.consents.c.purpose == "line_follow")
            .limit(1)
        ).scalar_one()
    scenarios = [
        ("list: follows LINE", "/customers?follows=line", 50, None),
        ("list: follows Zalo (rare)", "/customers?follows=zalo", 50, None),
        ("list: follows LINE + channel zalo", "/customers?follows=line&channel=zalo", 150, None),
        ("list: follows LINE, sort visits", "/customers?follows=line&sort=visits", 50, None),
        ("count: follows LINE", "/customers/count?follows=line", 300, "application/json"),
        ("customer page (follower)", f"/customers/{follower}", 50, None),
        # the same shapes without the follow filter, on the same machine and moment
        ("for comparison - list: no filter", "/customers", 50, None),
        ("for comparison - list: channel zalo", "/customers?channel=zalo", 50, None),
        (
            "for comparison - count: channel zalo",
            "/customers/count?channel=zalo",
            300,
            "application/json",
        ),
    ]
    results = {}
    for name, url, target, accept in scenarios:
        p50, p95 = timed(client, url, args.runs, accept)
        results[name] = {"p50_ms": round(p50, 1), "p95_ms": round(p95, 1), "target_ms": target}
    if args.json:
        print(json.dumps({"customers": customers, "follow_answers": answers, **results}))
        return 0
    print(f"{customers} customers, {answers} follow answers")
    print(f"{'scenario':40} {'p50 ms':>8} {'p95 ms':>8}  target")
    for name, r in results.items():
        ok = "ok" if r["p95_ms"] < r["target_ms"] else "OVER"
        print(f"{name:40} {r['p50_ms']:8.1f} {r['p95_ms']:8.1f}  <{r['target_ms']} {ok}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
