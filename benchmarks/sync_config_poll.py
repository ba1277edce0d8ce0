"""1,000 simulated routers polling their config (and heartbeating) on loopback.

    .venv/bin/python benchmarks/sync_config_poll.py [--routers 1000] [--rounds 3]
        [--threads 50] [--workers 2] [--heartbeat]

Each router has its own enrolled device token (spread over 20 locations). Every
round, every router sends `GET /api/v1/config` with its last ETag (the first
round gets 200, later ones 304, as in production) — and a heartbeat with
--heartbeat. Bounded: routers x rounds requests, from a thread pool. Prints
p50/p95/p99 latency, requests/s and the CPU seconds the gunicorn processes used.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "admin" / "sync"))

from synckit import Gunicorn, free_port, make_venue  # noqa: E402

from porchlight.admin import migrate  # noqa: E402
from porchlight.admin.db import make_engine, utcnow  # noqa: E402
from porchlight.admin.schema import locations  # noqa: E402
from porchlight.admin.sync.enrollment import create_router, enroll  # noqa: E402

TICKS = os.sysconf("SC_CLK_TCK")


def _cpu_seconds(pgid: int) -> float:
    total = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid:  # field 5 of stat: process group
            total += int(fields[11]) + int(fields[12])  # utime + stime
    return total / TICKS


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--routers", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=50)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--heartbeat", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        db_url = f"sqlite:///{tmp}/admin.db"
        engine = make_engine(db_url)
        migrate.upgrade(engine)
        venue = make_venue(engine)
        tokens = []
        with engine.begin() as conn:
            location_ids = [venue.location_id]
            now = utcnow()
            for i in range(19):
                location_ids.append(
                    conn.execute(
                        locations.insert()
                        .values(
                            tenant_id=venue.tenant_id, name=f"L{i}", created_at=now, updated_at=now
                        )
                        .returning(locations.c.id)
                    ).scalar_one()
                )
            for i in range(args.routers):
                _rid, code = create_router(conn, location_ids[i % 20], f"r{i}")
                tokens.append(enroll(conn, code)[1])
        engine.dispose()
        port = free_port()
        admin = Gunicorn(db_url, port, Path(tmp) / "gunicorn.log", workers=args.workers)
        admin.start()
        etags: dict[int, str] = {}
        latencies: list[float] = []
        statuses: dict[int, int] = {}
        local = requests.Session

        def poll(index: int) -> None:
            session = sessions[index % len(sessions)]
            headers = {"Authorization": f"Bearer {tokens[index]}"}
            if index in etags:
                headers["If-None-Match"] = etags[index]
            t0 = time.perf_counter()
            answer = session.get(f"{admin.url}/api/v1/config", headers=headers, timeout=30)
            if args.heartbeat:
                session.post(
                    f"{admin.url}/api/v1/heartbeat",
                    json={"uptime_seconds": 1, "clients_online": 0, "outbox_depth": 0},
                    headers={"Authorization": headers["Authorization"]},
                    timeout=30,
                )
            latencies.append(time.perf_counter() - t0)
            statuses[answer.status_code] = statuses.get(answer.status_code, 0) + 1
            etags[index] = answer.headers.get("ETag", "")

        sessions = [local() for _ in range(args.threads)]
        try:
            cpu0 = _cpu_seconds(admin.proc.pid)
            t0 = time.perf_counter()
            with ThreadPoolExecutor(args.threads) as pool:
                for _ in range(args.rounds):
                    list(pool.map(poll, range(args.routers)))
            elapsed = time.perf_counter() - t0
            cpu = _cpu_seconds(admin.proc.pid) - cpu0
        finally:
            admin.stop()
        latencies.sort()
        n = len(latencies)
        what = "config + heartbeat" if args.heartbeat else "config"
        print(
            f"{args.routers} routers x {args.rounds} rounds ({what}), {args.threads} client "
            f"threads, gunicorn {args.workers} workers: {n} polls in {elapsed:.1f} s "
            f"= {n / elapsed:,.0f}/s"
        )
        print(
            f"latency p50 {statistics.median(latencies) * 1000:.1f} ms, "
            f"p95 {latencies[int(n * 0.95) - 1] * 1000:.1f} ms, "
            f"p99 {latencies[int(n * 0.99) - 1] * 1000:.1f} ms; statuses {statuses}"
        )
        print(f"admin CPU: {cpu:.1f} s for {n} polls = {cpu / n * 1000:.2f} ms CPU per poll")
        per_30s = args.routers / 30
        print(
            f"at a 30 s poll interval {args.routers} routers make {per_30s:.0f} polls/s "
            f"= {per_30s * cpu / n:.2f} admin CPU cores"
        )


if __name__ == "__main__":
    main()
