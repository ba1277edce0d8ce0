"""Customer search at a million customers (issue 17): p50/p95 per kind of query.

Builds a throwaway database (Vietnamese and Thai names with Zipf-like weights:
``nguyen`` matches ~1 in 3, a rare surname a few dozen; e-mails, phones, POS
codes; benchmarks/search_people.py), through migrations, bulk-loaded the way
``porchlight admin seed`` loads (secondary indexes and the search triggers
dropped, then built once: SQLite's FTS5 table filled through pl_search_doc,
PostgreSQL's pg_trgm index on pl_search_doc built), then ANALYZE. Then asks
the admin as a manager's browser does (Flask test client, owner signed in,
rendering included): the list page ``/customers?q=...`` (default sort and page
size) and its count ``/customers/count?q=...`` (JSON, fetched after the page).

    .venv/bin/python benchmarks/customer_search.py --db sqlite:////tmp/pl_search.db
    .venv/bin/python benchmarks/customer_search.py \\
        --db postgresql+psycopg://porchlight:porchlight@127.0.0.1:5432/porchlight_bench
        [--customers 1000000] [--runs 20] [--json] [--keep] [--reuse]

A PostgreSQL database is dropped and created again (its name must contain
"bench"); a SQLite file must be under /tmp. Both are deleted after the run
unless --keep (--reuse then skips the build). Target: p95 < 100 ms for the
search's own queries, page and count alike ("ok" column); the requests around
them add rendering and the total count. CPU is this process's (for PostgreSQL
the server's is not in it).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

import search_people
import sqlalchemy as sa
from admin_list import owner
from sqlalchemy.engine import Engine, make_url

from porchlight.admin import schema, seed, sessions
from porchlight.admin.app import create_app
from porchlight.admin.customers import list_page, page_query
from porchlight.admin.customers.filters import CustomerFilters
from porchlight.admin.db import make_engine
from porchlight.admin.migrate import upgrade

TARGET_MS = 100
CHUNK = 50_000
# kind -> queries (each run takes the next one, so a kind is not one cached query)
KINDS: dict[str, list[str]] = {
    "common surname": ["nguyen", "Nguyễn", "tran", "le van"],
    "rare name": ["khong", "Quách", "ton that", "au duong", "bach thi"],
    "two-word name": ["ngoc binh", "tran thi", "van hung", "thi lan"],
    "Thai name": ["สมชาย", "ใจดี", "สุดา ศรีสุข", "เกียรติก้อง"],
    "e-mail fragment": ["guest8509", "guest1234", "nguyenvanan", "hoa12@"],
    "phone last 4": ["8509", "1234", "7310", "0042"],
    "phone last 3": ["509", "234", "310"],
    "POS code": ["KH012345", "kh098765", "KH54321"],
    "3-letter fragment": ["anh", "thu", "uye", "ong"],
    "1-2 letters": ["d", "ng", "an"],
    "no match": ["zzqx", "qqqq", "xyzw"],
    "(no search)": [""],  # the list and its total, for comparison
}


def fresh_database(url: str) -> None:
    """An empty database at `url`: a new SQLite file, or a PostgreSQL database made again."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        path = Path(parsed.database or "")
        if not str(path.resolve()).startswith("/tmp/"):
            raise SystemExit("the SQLite file must be under /tmp (it is deleted)")
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        return
    name = parsed.database or ""
    if "bench" not in name:
        raise SystemExit("the PostgreSQL database's name must contain 'bench' (it is dropped)")
    admin = sa.create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    admin.dispose()


def drop_database(url: str) -> None:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        for suffix in ("", "-wal", "-shm"):
            Path(f"{parsed.database}{suffix}").unlink(missing_ok=True)
        return
    admin = sa.create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)')
    admin.dispose()


def build(engine: Engine, customers: int) -> dict[str, float]:
    """Tenant "bench" with `customers` customers; seconds per step."""
    steps: dict[str, float] = {}
    t0 = time.monotonic()
    upgrade(engine)
    with engine.begin() as conn:
        tenant_id, loc_ids = seed._tenant(conn, "bench", 5)
    indexes = list(schema.customers.indexes)
    with engine.begin() as conn:
        trgm, fts_triggers = seed._drop_indexes(conn, indexes)
    steps["migrate"] = time.monotonic() - t0
    rng = random.Random(17)
    t0 = time.monotonic()
    for first in range(1, customers + 1, CHUNK):
        n = min(CHUNK, customers + 1 - first)
        with engine.begin() as conn:
            if conn.dialect.name == "sqlite":
                conn.exec_driver_sql("PRAGMA synchronous=OFF")
            writer = seed.Writer(conn)
            batch = list(search_people.rows(rng, first, n, tenant_id, loc_ids, writer.time))
            writer.rows(schema.customers, search_people.COLUMNS, batch)
    steps["insert"] = time.monotonic() - t0
    t0 = time.monotonic()
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":  # GIN builds in memory, not in 64 MB runs
            conn.exec_driver_sql("SET LOCAL maintenance_work_mem = '1GB'")
        seed._build_indexes(conn, indexes, trgm, fts_triggers)
    steps["indexes and search"] = time.monotonic() - t0
    t0 = time.monotonic()
    with engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql(f"SELECT setval('customers_id_seq', {customers + 1})")
            conn.commit()
            conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("VACUUM ANALYZE")
        else:
            conn.exec_driver_sql("ANALYZE")
            conn.commit()
    steps["analyze"] = time.monotonic() - t0
    return steps


def timed(client: Any, url: str, accept: str | None = None) -> tuple[float, float, Any]:
    """(wall ms, this process's CPU ms, the response) of one GET."""
    headers = {"Accept": accept} if accept else {}
    w0, c0 = time.perf_counter(), time.process_time()
    resp = client.get(url, headers=headers)
    wall, cpu = (time.perf_counter() - w0) * 1000, (time.process_time() - c0) * 1000
    if resp.status_code != 200:
        raise SystemExit(f"{url}: HTTP {resp.status_code}")
    return wall, cpu, resp


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p * (len(ordered) - 1))))]


def sql_times(app: Any, engine: Engine, queries: list[str], runs: int) -> dict[str, float]:
    """The search's own queries, no rendering, no total: the list page's ids
    (`page_query.page_ids`: probe, page, never-visited phase) and its match count
    (`list_page.matching_count`), p50/p95 ms over `runs`."""
    page, count, cpu = [], [], []
    with app.app_context(), engine.connect() as conn:
        tenant_id = conn.execute(
            sa.select(schema.tenants.c.id).where(schema.tenants.c.slug == "bench")
        ).scalar_one()
        for i in range(runs):
            filters = CustomerFilters(q=queries[i % len(queries)] or None)
            t0, c0 = time.perf_counter(), time.process_time()
            page_query.page_ids(conn, filters, tenant_id, None, "VN", 50)
            page.append((time.perf_counter() - t0) * 1000)
            cpu.append((time.process_time() - c0) * 1000)
            t0 = time.perf_counter()
            list_page.matching_count(conn, filters, tenant_id, None, "VN")
            count.append((time.perf_counter() - t0) * 1000)
    return {
        "sql_page_p50": statistics.median(page),
        "sql_page_p95": pct(page, 0.95),
        "sql_page_cpu_p50": statistics.median(cpu),
        "sql_count_p50": statistics.median(count),
        "sql_count_p95": pct(count, 0.95),
    }


def measure(client: Any, app: Any, engine: Engine, runs: int) -> dict[str, dict[str, Any]]:
    """Per kind: page and count requests p50/p95 (wall and CPU), the search's own
    queries alone (`sql_times`), and what each query matched."""
    out: dict[str, dict[str, Any]] = {}
    for kind, queries in KINDS.items():
        matched = {}
        for q in queries:  # warm each once; note its count as the page shows it
            client.get("/customers?q=" + quote(q))
            _w, _c, resp = timed(client, "/customers/count?q=" + quote(q), "application/json")
            got = resp.get_json()
            matched[q] = got["matching"] if got["at_least"] is None else f"{got['at_least']:,}+"
        page, page_cpu, count, count_cpu = [], [], [], []
        for i in range(runs):
            q = quote(queries[i % len(queries)])
            wall, cpu, _r = timed(client, "/customers?q=" + q)
            page.append(wall)
            page_cpu.append(cpu)
            wall, cpu, _r = timed(client, "/customers/count?q=" + q, "application/json")
            count.append(wall)
            count_cpu.append(cpu)
        out[kind] = {
            "page_p50": statistics.median(page),
            "page_p95": pct(page, 0.95),
            "page_cpu_p50": statistics.median(page_cpu),
            "count_p50": statistics.median(count),
            "count_p95": pct(count, 0.95),
            "count_cpu_p50": statistics.median(count_cpu),
            "matched": matched,
            **sql_times(app, engine, queries, runs),
        }
    return out


def signed_in_client(app: Any, engine: Engine) -> Any:
    with engine.connect() as conn:
        tenant_id = conn.execute(
            sa.select(schema.tenants.c.id).where(schema.tenants.c.slug == "bench")
        ).scalar_one()
    uid = owner(engine, tenant_id)
    client = app.test_client()
    with engine.begin() as conn:
        session_id = sessions.start(conn, uid)
    with client.session_transaction() as sess:
        sess["_user_id"] = session_id
    return client


def table(result: dict[str, Any]) -> str:
    lines = [
        f"# {result['db']}  customers={result['customers']:,}  runs={result['runs']}/kind  "
        f"load {result['load_before']} -> {result['load_after']}",
        f"# build: {', '.join(f'{k} {v:.0f} s' for k, v in result['build_s'].items())}",
        "# request: through the app (rendering; the count request also counts every customer"
        " for the total); sql: the search's own queries (page ids; match count). ms",
        f"{'kind':18} {'page p50':>9} {'p95':>7} {'cpu':>6} {'count p50':>10} {'p95':>7} "
        f"{'cpu':>6} {'sql page p50':>12} {'p95':>6} {'cpu':>5} {'sql count p50':>13} "
        f"{'p95':>6}  ok  matches (as the count shows them)",
    ]
    for kind, r in result["kinds"].items():
        ok = "ok" if max(r["sql_page_p95"], r["sql_count_p95"]) < TARGET_MS else "OVER"
        shown = ", ".join(
            f"{q}: {n:,}" if isinstance(n, int) else f"{q}: {'not counted' if n is None else n}"
            for q, n in r["matched"].items()
        )
        lines.append(
            f"{kind:18} {r['page_p50']:9.1f} {r['page_p95']:7.1f} {r['page_cpu_p50']:6.1f} "
            f"{r['count_p50']:10.1f} {r['count_p95']:7.1f} {r['count_cpu_p50']:6.1f} "
            f"{r['sql_page_p50']:12.1f} {r['sql_page_p95']:6.1f} {r['sql_page_cpu_p50']:5.1f} "
            f"{r['sql_count_p50']:13.1f} "
            f"{r['sql_count_p95']:6.1f}  {ok:4} {shown}"
        )
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--db", required=True, help="sqlite:////tmp/x.db or postgresql+psycopg://...")
    ap.add_argument("--customers", type=int, default=1_000_000)
    ap.add_argument("--runs", type=int, default=20, help="timed requests per kind")
    ap.add_argument("--json", action="store_true", help="print one JSON object instead")
    ap.add_argument("--keep", action="store_true", help="keep the database for --reuse")
    ap.add_argument("--reuse", action="store_true", help="skip the build (a kept database)")
    args = ap.parse_args()
    load_before = os.getloadavg()[0]
    steps: dict[str, float] = {}
    if not args.reuse:
        fresh_database(args.db)
        engine = make_engine(args.db)
        steps = build(engine, args.customers)
        engine.dispose()
    app = create_app({"SECRET_KEY": "benchmark-secret-key-0123456789", "DATABASE_URL": args.db})
    engine = app.extensions["porchlight.engine"]
    try:
        client = signed_in_client(app, engine)
        kinds = measure(client, app, engine, args.runs)
    finally:
        engine.dispose()
        if not args.keep:
            drop_database(args.db)
    result = {
        "db": make_url(args.db).get_backend_name(),
        "customers": args.customers,
        "runs": args.runs,
        "load_before": round(load_before, 2),
        "load_after": round(os.getloadavg()[0], 2),
        "build_s": {k: round(v, 1) for k, v in steps.items()},
        "target_ms": TARGET_MS,
        "kinds": kinds,
    }
    print(json.dumps(result, ensure_ascii=False) if args.json else table(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
