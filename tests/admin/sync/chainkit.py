"""A chain's admin on one PostgreSQL: two admin processes, two job workers, many routers.

Shared by `benchmarks/chain.py` (1,000 routers) and `test_chain.py` (a few dozen).
`Fleet` starts the admin as production does (`porchlight admin serve`, i.e.
gunicorn, behind one trusted proxy) and `porchlight admin worker` processes;
`enroll_routers` gives every simulated router its own device token through
`POST /api/v1/enroll`; `chainsync.py` plays the routers' sync and
`chaincheck.py` counts what reached the database.
"""

from __future__ import annotations

import itertools
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from synckit import Gunicorn, free_port

from porchlight.admin.io import jobs
from porchlight.admin.schema import jobs as jobs_table
from porchlight.admin.sync.enrollment import create_router
from porchlight.admin.users import create_location, create_tenant, create_user

SECRET = "chain-bench-secret-key-0123456789"
PORCHLIGHT = str(Path(sys.executable).with_name("porchlight"))


@dataclass
class Chain:
    tenant_id: int
    location_ids: list[int]
    owner_id: int


def make_chain(engine: Engine, locations: int) -> Chain:
    """A tenant (its default groups too) with `locations` venues and an owner."""
    slug = f"chain-{uuid.uuid4().hex[:8]}"
    with engine.begin() as conn:
        tenant_id = create_tenant(conn, slug, slug)
        location_ids = [create_location(conn, tenant_id, f"Venue {i}") for i in range(locations)]
        owner = create_user(conn, tenant_id, f"owner@{slug}.example", "chain-owner-password")
    return Chain(tenant_id, location_ids, owner)


def queue_exports(engine: Engine, chain: Chain, count: int) -> list[int]:
    """`count` CSV exports of the whole list, for the workers to share."""
    with engine.begin() as conn:
        return [
            jobs.enqueue(
                conn,
                tenant_id=chain.tenant_id,
                kind="export",
                params={"scope": "all", "format": "csv", "lang": "en"},
                created_by=chain.owner_id,
            )
            for _ in range(count)
        ]


def wait_for_jobs(engine: Engine, tenant_id: int, timeout: float) -> bool:
    """True once none of the tenant's jobs is queued or running (False after `timeout`)."""
    j = jobs_table.c
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with engine.connect() as conn:
            left = conn.execute(
                sa.select(sa.func.count()).where(
                    j.tenant_id == tenant_id, j.status.in_(("queued", "running"))
                )
            ).scalar()
        if not left:
            return True
        time.sleep(0.5)
    return False


@dataclass
class Fleet:
    """`admins` admin processes (`porchlight admin serve`) and `workers` job workers."""

    db_url: str
    tmp: Path
    admins: int = 2
    gunicorn_workers: int = 2
    workers: int = 2
    servers: list[Gunicorn] = field(default_factory=list)
    job_workers: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def env(self) -> dict[str, str]:
        return {
            "PORCHLIGHT_ADMIN_SECRET_KEY": SECRET,
            "PORCHLIGHT_ADMIN_DATABASE_URL": self.db_url,
            "PORCHLIGHT_ADMIN_DATA_DIR": str(self.tmp / "data"),
            "PORCHLIGHT_ADMIN_PROXY_COUNT": "1",  # routers' addresses come in X-Forwarded-For
        }

    def start(self) -> None:
        for i in range(self.admins):
            port = free_port()
            bind = f"127.0.0.1:{port}"
            command = [PORCHLIGHT, "admin", "serve", "--bind", bind]
            command += ["--workers", str(self.gunicorn_workers)]
            server = Gunicorn(
                self.db_url, port, self.tmp / f"admin{i}.log", env=self.env(), command=command
            )
            self.servers.append(server)
            server.start(timeout=60)
        for i in range(self.workers):
            with open(self.tmp / f"worker{i}.log", "ab") as log:
                self.job_workers.append(
                    subprocess.Popen(
                        [PORCHLIGHT, "admin", "worker"],
                        env={**os.environ, **self.env()},
                        stdout=log,
                        stderr=subprocess.STDOUT,
                        start_new_session=True,
                    )
                )

    @property
    def urls(self) -> list[str]:
        return [server.url for server in self.servers]

    def alive(self) -> bool:
        procs = [s.proc for s in self.servers] + self.job_workers
        return all(p is not None and p.poll() is None for p in procs)

    def cpu_seconds(self) -> dict[str, float]:
        """CPU seconds so far of the admin process groups and of the workers."""
        workers = 0.0
        for proc in self.job_workers:
            try:
                fields = Path(f"/proc/{proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            workers += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        return {"admins": sum(s.cpu_seconds() for s in self.servers), "workers": workers}

    def stop(self) -> None:
        for server in self.servers:
            server.stop()
        for proc in self.job_workers:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
                try:
                    proc.wait(30)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait(10)


class RoundRobin:
    """The proxy's choice: each request goes to the next admin process in turn."""

    def __init__(self, urls: list[str]) -> None:
        self.urls = urls
        self._cycle = itertools.cycle(range(len(urls)))
        self._lock = threading.Lock()

    def next(self) -> int:
        with self._lock:
            return next(self._cycle)

    def other(self, index: int) -> int:
        return (index + 1) % len(self.urls)


@dataclass
class SimRouter:
    index: int
    router_id: int
    location_id: int
    token: str
    address: str  # what the proxy puts in X-Forwarded-For
    etag: str | None = None
    open_sessions: list[tuple[str, str]] = field(default_factory=list)  # (session id, mac)

    def headers(self, **extra: str) -> dict[str, str]:
        return {
            "Authorization": f"Bearer {self.token}",
            "X-Forwarded-For": self.address,
            **extra,
        }


def router_address(index: int) -> str:
    return f"10.{64 + (index >> 16) % 64}.{(index >> 8) & 255}.{index & 255}"


def enroll_routers(
    engine: Engine, chain: Chain, count: int, balancer: RoundRobin, threads: int = 8
) -> list[SimRouter]:
    """Make `count` routers (codes as `router-add` makes them), enrolled over HTTP."""
    with engine.begin() as conn:
        codes = [
            create_router(conn, chain.location_ids[i % len(chain.location_ids)], f"router {i}")
            for i in range(count)
        ]
    local = threading.local()

    def enroll(index: int) -> SimRouter:
        session = getattr(local, "session", None) or requests.Session()
        local.session = session
        address = router_address(index)
        url = balancer.urls[balancer.next()]
        answer = session.post(
            f"{url}/api/v1/enroll",
            json={"code": codes[index][1], "hostname": f"r{index}", "agent_version": "chain"},
            headers={"X-Forwarded-For": address},
            timeout=60,
        )
        if answer.status_code != 201:
            raise RuntimeError(f"enroll {index}: {answer.status_code} {answer.text[:200]}")
        body: dict[str, Any] = answer.json()
        location_id = int(body["location"]["id"])
        return SimRouter(index, int(body["router_id"]), location_id, body["token"], address)

    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(threads) as pool:
        return list(pool.map(enroll, range(count)))
