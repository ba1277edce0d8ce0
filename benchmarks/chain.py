"""A chain on one PostgreSQL: two admin processes, two job workers, 1,000 routers syncing.

    .venv/bin/python benchmarks/chain.py [--routers 1000] [--rounds 3] [--sessions 2]
        [--threads 16] [--pg URL] [--json]

Issue 18's goal: no lost or doubled events, config polls p95 < 100 ms on an
idle box. Makes its own database (from --pg, default $PORCHLIGHT_TEST_PG_URL,
a role with CREATEDB; dropped after), starts two `porchlight admin serve`
(gunicorn, 2 workers each, PROXY_COUNT=1) and two `porchlight admin worker`,
the client alternating between the two ports (the proxy's round-robin).
Routers enroll over HTTP (each its own device token), then every round send
a batch of events (logins + session_starts of new guests, session_ends of the
last round's; a share replayed to the other process after the answer, a share
sent to both at once), a heartbeat and a config poll (If-None-Match), as fast
as --threads client threads go (a closed loop: its latencies are those of a
saturated admin). A few export jobs are queued for the two workers meanwhile.
Then every router polls its config once more with nothing else running
("idle"), the polls spread over --poll-window seconds (30: the agent's poll
interval, so 1,000 routers make 33 polls/s).
The database is checked at the end: every event once, customers, visits,
counters and rollups; a mismatch makes the exit status 1.
The machinery is tests/admin/sync/chainkit.py, chainsync.py, chaincheck.py.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "admin" / "sync"))

from chaincheck import inspect  # noqa: E402
from chainkit import (  # noqa: E402
    Fleet,
    RoundRobin,
    enroll_routers,
    make_chain,
    queue_exports,
    wait_for_jobs,
)
from chainsync import Client, Plan, Tally, idle_polls, sync  # noqa: E402

from porchlight.admin import migrate  # noqa: E402
from porchlight.admin.db import make_engine  # noqa: E402

EXPORT_JOBS = 6
GOAL_POLL_P95_MS = 100.0


def _pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(len(ordered) * q))] * 1000, 1)


def _postgres_cpu() -> float:
    """CPU seconds of the PostgreSQL server on this box: the postmaster, its live
    children and (cutime/cstime) the children it has reaped, i.e. every backend
    since it started, of every database (the server is shared with other work)."""
    stats = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            head, tail = (entry / "stat").read_text().rsplit(")", 1)
        except OSError:
            continue
        if head.endswith("(postgres"):
            stats[int(entry.name)] = tail.split()
    total = 0
    for fields in stats.values():
        total += int(fields[11]) + int(fields[12])  # utime + stime
        if int(fields[1]) not in stats:  # the postmaster: its parent is not postgres
            total += int(fields[13]) + int(fields[14])  # cutime + cstime
    return total / os.sysconf("SC_CLK_TCK")


def _database(base: str) -> tuple[str, sa.Engine, str]:
    name = f"porchlight_chain_{secrets.token_hex(4)}"
    server = sa.create_engine(
        sa.engine.make_url(base).set(database="postgres"), isolation_level="AUTOCOMMIT"
    )
    with server.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    url = sa.engine.make_url(base).set(database=name).render_as_string(hide_password=False)
    return url, server, name


def run(args: argparse.Namespace, db_url: str, tmp: Path) -> dict[str, Any]:
    engine = make_engine(db_url)
    migrate.upgrade(engine)
    chain = make_chain(engine, args.locations)
    fleet = Fleet(db_url, tmp, gunicorn_workers=args.gunicorn_workers)
    plan = Plan(
        rounds=args.rounds, sessions=args.sessions, threads=args.threads, phones=args.phones
    )
    tally = Tally()
    try:
        fleet.start()
        balancer = RoundRobin(fleet.urls)
        t0 = time.perf_counter()
        routers = enroll_routers(engine, chain, args.routers, balancer, threads=args.threads)
        enroll_s = time.perf_counter() - t0
        queue_exports(engine, chain, EXPORT_JOBS)
        client = Client(balancer, tally, plan)
        load_before = os.getloadavg()
        cpu0, pg0, own0 = fleet.cpu_seconds(), _postgres_cpu(), time.process_time()
        t0 = time.perf_counter()
        sync(client, routers)
        sync_s = time.perf_counter() - t0
        cpu1, pg1, own1 = fleet.cpu_seconds(), _postgres_cpu(), time.process_time()
        uptime = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
        time.sleep(args.settle)  # the box quiets down before the idle polls
        idle_load = os.getloadavg()
        cpu2 = fleet.cpu_seconds()["admins"]
        idle_polls(client, routers, window=args.poll_window)
        idle_cpu = fleet.cpu_seconds()["admins"] - cpu2
        wait_for_jobs(engine, chain.tenant_id, timeout=60)
        alive = fleet.alive()
    finally:
        fleet.stop()
    found = inspect(engine, chain.tenant_id, [r.router_id for r in routers], tally)
    engine.dispose()
    timings = tally.timings
    return {
        "routers": args.routers,
        "admin_processes": len(fleet.servers),
        "gunicorn_workers_each": args.gunicorn_workers,
        "job_workers": fleet.workers,
        "client_threads": args.threads,
        "rounds": args.rounds,
        "enroll_s": round(enroll_s, 1),
        "sync_s": round(sync_s, 1),
        "events_sent": found.events_sent,
        "events_stored": found.events_stored,
        "events_lost": len(found.missing),
        "events_doubled": found.doubled_visits + len(found.extra),
        "events_per_s": round(found.events_sent / sync_s, 1),
        "batches": len(timings.get("batch", [])),
        "replayed_batches": tally.replays,
        "twin_batches": tally.twins,
        "batch_p95_ms": _pct(timings.get("batch", []), 0.95),
        "config_poll_p50_ms": _pct(timings.get("config", []), 0.50),
        "config_poll_p95_ms": _pct(timings.get("config", []), 0.95),
        "heartbeat_p95_ms": _pct(timings.get("heartbeat", []), 0.95),
        "idle_config_poll_p50_ms": _pct(timings.get("idle config", []), 0.50),
        "idle_config_poll_p95_ms": _pct(timings.get("idle config", []), 0.95),
        "idle_admin_cpu_ms_per_poll": round(idle_cpu / max(1, len(routers)) * 1000, 2),
        "goal_config_poll_p95_ms": GOAL_POLL_P95_MS,
        "statuses": dict(sorted(tally.statuses.items())),
        "cpu_s": {
            "admins": round(cpu1["admins"] - cpu0["admins"], 1),
            "job_workers": round(cpu1["workers"] - cpu0["workers"], 1),
            "postgres_box": round(pg1 - pg0, 1),
            "client": round(own1 - own0, 1),
        },
        "load_average_start": [round(x, 2) for x in load_before],
        "uptime_after_sync": uptime,
        "load_average_idle_polls": [round(x, 2) for x in idle_load],
        "customers": found.customers,
        "visits": found.visits,
        "ended_visits": found.ended_visits,
        "jobs": found.jobs,
        "processes_alive": alive,
        "unacked_batches": len(tally.unacked),
        "anomalies": tally.anomalies[:20],
        "problems": found.problems() + tally.unacked[:5],
    }


def _print_table(result: dict[str, Any]) -> None:
    rows = [
        ("routers / admin processes x gunicorn workers / job workers", None),
        ("events sent / stored / lost / doubled", "0 lost, 0 doubled"),
        ("config poll p50 / p95 during sync (ms)", f"p95 < {GOAL_POLL_P95_MS:.0f} ms"),
        ("config poll p50 / p95, idle, paced (ms)", f"p95 < {GOAL_POLL_P95_MS:.0f} ms"),
        ("admin CPU per idle poll (ms)", None),
        ("batch p95 / heartbeat p95 (ms)", None),
        ("events/s over the sync, sync wall time (s)", None),
        ("CPU s: admins / job workers / postgres (whole box) / client", None),
    ]
    r = result
    values = [
        f"{r['routers']} / {r['admin_processes']} x {r['gunicorn_workers_each']} / "
        f"{r['job_workers']}",
        f"{r['events_sent']} / {r['events_stored']} / {r['events_lost']} / {r['events_doubled']}",
        f"{r['config_poll_p50_ms']} / {r['config_poll_p95_ms']}",
        f"{r['idle_config_poll_p50_ms']} / {r['idle_config_poll_p95_ms']}",
        str(r["idle_admin_cpu_ms_per_poll"]),
        f"{r['batch_p95_ms']} / {r['heartbeat_p95_ms']}",
        f"{r['events_per_s']} / {r['sync_s']}",
        " / ".join(str(v) for v in r["cpu_s"].values()),
    ]
    width = max(len(label) for label, _ in rows)
    for (label, goal), value in zip(rows, values, strict=True):
        print(f"{label:<{width}}  {value:<28} {goal or ''}")
    print(f"batches {r['batches']} (replayed {r['replayed_batches']}, twins {r['twin_batches']})")
    print(f"customers {r['customers']}, visits {r['visits']} (ended {r['ended_visits']})")
    print(f"jobs {r['jobs']}; statuses {r['statuses']}")
    print(f"load average at start {r['load_average_start']}; after sync: {r['uptime_after_sync']}")
    print(f"load average before the idle polls {r['load_average_idle_polls']}")
    for line in r["problems"] + r["anomalies"]:
        print(f"PROBLEM: {line}")
    print("OK: every event exactly once" if not r["problems"] else "FAILED")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--routers", type=int, default=1000)
    parser.add_argument("--locations", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--sessions", type=int, default=2, help="new guests per router per round")
    parser.add_argument("--phones", type=int, default=5000, help="the chain's phone pool")
    parser.add_argument("--threads", type=int, default=16, help="client threads")
    parser.add_argument("--gunicorn-workers", type=int, default=2)
    parser.add_argument(
        "--poll-window", type=float, default=30.0, help="idle polls spread over (s)"
    )
    parser.add_argument("--settle", type=float, default=5.0, help="seconds before idle polls")
    parser.add_argument("--pg", default=os.environ.get("PORCHLIGHT_TEST_PG_URL"))
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if not args.pg:
        parser.error("needs --pg URL or PORCHLIGHT_TEST_PG_URL (a role with CREATEDB)")
    db_url, server, name = _database(args.pg)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            result = run(args, db_url, Path(tmp))
    finally:
        with server.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        server.dispose()
    if args.json:
        print(json.dumps(result))
    else:
        _print_table(result)
    sys.exit(1 if result["problems"] else 0)


if __name__ == "__main__":
    main()
