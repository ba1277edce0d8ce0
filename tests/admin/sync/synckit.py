"""Helpers shared by the sync tests (events, venues, row counts)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from porchlight.admin.db import utcnow
from porchlight.admin.schema import locations, tenants
from porchlight.admin.sync.enrollment import create_router, enroll
from porchlight.events import new_event_id, utc_now_iso


@dataclass
class Venue:
    tenant_id: int
    location_id: int
    router_id: int
    token: str
    slug: str


def make_venue(engine: Engine, country: str = "VN") -> Venue:
    """A fresh tenant with one location and one enrolled router."""
    slug = f"t{uuid.uuid4().hex[:10]}"
    now = utcnow()
    with engine.begin() as conn:
        tenant_id = conn.execute(
            tenants.insert().values(slug=slug, name=slug, country=country, created_at=now)
        ).inserted_primary_key[0]
        location_id = conn.execute(
            locations.insert().values(
                tenant_id=tenant_id,
                name="Café Q1",
                country=country,
                created_at=now,
                updated_at=now,
            )
        ).inserted_primary_key[0]
        _router_id, code = create_router(conn, int(location_id), "front desk")
        identity, token = enroll(conn, code)
    return Venue(int(tenant_id), int(location_id), identity.router_id, token, slug)


def login_event(
    phone: str | None = "0912345678",
    *,
    mac: str = "aa:bb:cc:dd:ee:01",
    session_id: str | None = None,
    occurred_at: str | None = None,
    channel: str = "form",
    name: str = "Lan",
    email: str | None = None,
    tags: list[str] | None = None,
) -> dict[str, Any]:
    return {
        "id": new_event_id(),
        "type": "login",
        "occurred_at": occurred_at or utc_now_iso(),
        "mac": mac,
        "data": {
            "session_id": session_id or uuid.uuid4().hex,
            "channel": channel,
            "name": name,
            "phone": phone,
            "email": email,
            "tags": tags or ["wifi"],
            "consents": [
                {"purpose": "wifi", "granted": True, "text_version": "wifi-v1"},
                {"purpose": "marketing", "granted": False, "text_version": "mkt-v1"},
            ],
            "device": {"ip": "10.0.0.5", "hostname": "phone", "randomized": True},
        },
    }


def _iso(when: datetime) -> str:
    return when.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def end_event(
    session_id: str, *, mac: str = "aa:bb:cc:dd:ee:01", dwell: int = 600
) -> dict[str, Any]:
    return {
        "id": new_event_id(),
        "type": "session_end",
        "occurred_at": utc_now_iso(),
        "mac": mac,
        "data": {
            "session_id": session_id,
            # within the admin's window around its clock (porchlight/bounds.py)
            "started_at": _iso(utcnow() - timedelta(minutes=10)),
            "ended_at": _iso(utcnow()),
            "dwell_seconds": dwell,
            "bytes_in": 1000,
            "bytes_out": 2000,
            "reason": "expired",
        },
    }


def count(engine: Engine, table: str, where: str = "1=1", **params: Any) -> int:
    with engine.connect() as conn:
        return int(
            conn.execute(sa.text(f"SELECT count(*) FROM {table} WHERE {where}"), params).scalar()
            or 0
        )


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def write_enrollment(state_dir: Any, admin_url: str, token: str, **extra: Any) -> None:
    """What `porchlight agent enroll` leaves behind, without a round trip."""
    import json
    from pathlib import Path

    state = Path(state_dir)
    state.mkdir(parents=True, exist_ok=True)
    (state / "admin.json").write_text(json.dumps({"admin_url": admin_url, **extra}))
    (state / "device-token").write_text(token + "\n")
    (state / "device-token").chmod(0o600)


def guest_events(n_sessions: int, *, customers: int = 1000, seed: int = 1) -> list[dict[str, Any]]:
    """login + session_start + session_end per session; phones from a pool."""
    import random

    rng = random.Random(seed)
    out: list[dict[str, Any]] = []
    for i in range(n_sessions):
        phone = f"09{rng.randrange(customers):08d}"
        mac = "02:00:" + ":".join(f"{(i >> s) & 0xFF:02x}" for s in (24, 16, 8, 0))
        login = login_event(phone, mac=mac, name=f"Guest {i}")
        sid = login["data"]["session_id"]
        start = {
            "id": new_event_id(),
            "type": "session_start",
            "occurred_at": login["occurred_at"],
            "mac": mac,
            "data": {"session_id": sid, "expires_at": "2026-11-25T11:00:00Z"},
        }
        out += [login, start, end_event(sid, mac=mac)]
    return out


def fill_outbox(db: Any, events: list[dict[str, Any]]) -> None:
    """Queue events the way the agent does (validated, one transaction)."""
    from porchlight.agent.store import enqueue_event

    with db.atomic():
        for event in events:
            enqueue_event(db, event)


class Gunicorn:
    """The real admin under gunicorn in its own process group (so kill -9 takes it all)."""

    def __init__(
        self,
        db_url: str,
        port: int,
        log_path: Any,
        workers: int = 2,
        *,
        app: str = "porchlight.admin.app:create_app()",
        extra_args: tuple[str, ...] = (),
        env: dict[str, str] | None = None,
        command: list[str] | None = None,
    ) -> None:
        self.db_url = db_url
        self.port = port
        self.log_path = log_path
        self.workers = workers
        self.app = app
        self.extra_args = extra_args
        self.env = env or {}  # more PORCHLIGHT_ADMIN_* settings
        self.command = command  # argv instead of `python -m gunicorn` (`porchlight admin serve`)
        self.proc: Any = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 30.0) -> None:
        import os
        import subprocess
        import sys
        import time

        import requests

        env = {
            **os.environ,
            "PORCHLIGHT_ADMIN_SECRET_KEY": "sync-tests-secret-key-0123456789",
            "PORCHLIGHT_ADMIN_DATABASE_URL": self.db_url,
            **self.env,
        }
        argv = [sys.executable, "-m", "gunicorn", "--workers", str(self.workers)]
        argv += ["--bind", f"127.0.0.1:{self.port}", "--timeout", "60", *self.extra_args]
        argv += [self.app]
        if self.command is not None:
            argv = self.command
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                argv, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"gunicorn exited: see {self.log_path}")
            try:
                if requests.get(f"{self.url}/api/v1/config", timeout=2).status_code == 401:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.1)
        raise RuntimeError("gunicorn did not come up")

    def cpu_seconds(self) -> float:
        """User + system CPU seconds used so far by the live processes of the group."""
        import os
        from pathlib import Path

        total = 0
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[2]) == self.proc.pid:  # the process group
                total += int(fields[11]) + int(fields[12])
        return total / os.sysconf("SC_CLK_TCK")

    def kill9(self) -> None:
        import os
        import signal

        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        import os
        import signal
        import subprocess

        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.kill9()
