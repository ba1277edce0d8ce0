"""The agent's sync loop: outbox out (exactly once), config in, heartbeats.

`SyncWorker` runs in a thread of the agent daemon once ``<state-dir>/device-
token`` exists. Every `event_interval` seconds it drains the outbox in batches
bounded by count (500) and bytes (900 KB, under the admin's 1 MiB limit): each
batch is POSTed; the ids the admin acks are deleted in one transaction. A
crash between the POST and the delete only means the batch is sent again; the
admin acks ids it has seen without applying them twice. Every `poll_interval`
seconds (default 30, ``poll_seconds`` in admin.json) it pulls the config and
sends a heartbeat. Failures back off exponentially with jitter (cap 5 min),
never sooner than the admin's ``Retry-After``.

`porchlight agent sync --state-dir DIR [--loop]` pushes the outbox without the
daemon (after an outage, or to check the link); its command line is in sync_commands.py.
"""

from __future__ import annotations

import argparse
import logging
import os
import random
import sqlite3
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

from porchlight.agent import retention
from porchlight.agent.enroll import TOKEN_FILE, read_enrollment
from porchlight.agent.store import db_path, open_db
from porchlight.agent.sync_config import RetryLater, check_answer, heartbeat, pull_config
from porchlight.agent.sync_http import AdminClient, AdminUnreachable
from porchlight.agent.sync_parked import park, unpark
from porchlight.errors import PorchlightError
from porchlight.events import utc_now_iso

log = logging.getLogger(__name__)

BATCH_EVENTS = 500
BATCH_BYTES = 900_000
BACKOFF_BASE = 1.0
BACKOFF_CAP = 300.0


def backoff_delay(failures: int, retry_after: float | None = None) -> float:
    """Exponential backoff with jitter; never less than `retry_after`."""
    ceiling = min(BACKOFF_CAP, BACKOFF_BASE * 2 ** max(0, failures - 1))
    delay = random.uniform(ceiling / 2, ceiling)
    if retry_after is not None:
        delay = max(delay, retry_after + random.uniform(0, 1 + retry_after * 0.2))
    return delay


def _noop_apply(config: dict[str, Any]) -> None:
    return None


def _no_status() -> dict[str, Any]:
    return {}


def _no_deauth(mac: str, reason: str) -> None:
    raise RuntimeError("no agent to deauthorize with")


class SyncWorker:
    def __init__(
        self,
        store_path: str,
        state_dir: str,
        apply_config: Callable[[dict[str, Any]], None] = _noop_apply,
        status: Callable[[], dict[str, Any]] = _no_status,
        deauthorize: Callable[[str, str], Any] = _no_deauth,
        *,
        poll_interval: float | None = None,
        event_interval: float = 2.0,
        batch_events: int = BATCH_EVENTS,
        timeout: float = 15.0,
        events_only: bool = False,
    ) -> None:
        self.state_dir = state_dir
        self.timeout = timeout
        self._token_stamp: tuple[int, int] | None = None
        admin = self._load_enrollment()
        self.db = open_db(store_path)
        self.apply_config = apply_config
        self.status = status
        self.deauthorize = deauthorize
        self.poll_interval = float(poll_interval or admin.get("poll_seconds") or 30.0)
        self.event_interval = event_interval
        self.batch_events = max(1, min(BATCH_EVENTS, batch_events))
        self.events_only = events_only
        self.failures = 0
        self.retry_at = 0.0
        self.next_poll = 0.0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _stamp(self) -> tuple[int, int] | None:
        try:
            info = os.stat(os.path.join(self.state_dir, TOKEN_FILE))
        except OSError:
            return None
        return info.st_mtime_ns, info.st_ino

    def _load_enrollment(self) -> dict[str, Any]:
        stamp = self._stamp()
        token, admin = read_enrollment(self.state_dir)
        self.client = AdminClient(
            admin["admin_url"],
            token,
            timeout=self.timeout,
            ca_file=admin.get("ca_file"),
            insecure=bool(admin.get("insecure")),
        )
        self._token_stamp = stamp
        return admin

    def reload_if_reenrolled(self) -> bool:
        """Pick up a new device token (``enroll --force`` after a rotate) without a restart."""
        stamp = self._stamp()
        if stamp is None or stamp == self._token_stamp:
            return False
        self.client.close()
        self._load_enrollment()
        self.failures, self.retry_at = 0, 0.0
        log.info("sync: new device token picked up")
        return True

    # ---- one round ----------------------------------------------------------
    def _next_batch(self) -> tuple[list[str], bytes]:
        rows = self.db.execute(
            "SELECT event_id, body FROM outbox ORDER BY id LIMIT ?", [self.batch_events]
        ).fetchall()
        ids: list[str] = []
        parts: list[str] = []
        size = 20
        for event_id, body in rows:
            if parts and size + len(body.encode()) + 1 > BATCH_BYTES:
                break
            ids.append(event_id)
            parts.append(body)
            size += len(body.encode()) + 1
        # sent_at: the router's clock, so the admin can record how far off it is
        head = '{"sent_at":"' + utc_now_iso() + '","events":['
        return ids, (head + ",".join(parts) + "]}").encode()

    def _delete(self, acked: list[str]) -> None:
        with self.db.atomic():
            self.db.conn.executemany("DELETE FROM outbox WHERE event_id = ?", [(i,) for i in acked])

    def push_events(self, max_batches: int | None = None) -> int:
        """Send the outbox until it is empty; return how many events were acked."""
        sent = batches = 0
        while not self._stop.is_set():
            ids, body = self._next_batch()
            if not ids:
                break
            answer = self.client.request("POST", "/api/v1/events", body)
            check_answer(answer, "events")
            if answer.status == 413 and self.batch_events > 1:
                self.batch_events = max(1, self.batch_events // 2)
                continue
            payload = answer.json()
            if answer.status in (409, 422) and isinstance(payload, dict):
                index = payload.get("index")
                if isinstance(index, int) and 0 <= index < len(ids):
                    error, message = payload.get("error"), payload.get("message")
                    park(self.db, ids[index], answer.status, str(error), str(message))
                    continue
            if answer.status != 200 or not isinstance(payload, dict):
                raise RetryLater(f"events: admin answered {answer.status}")
            acked = [i for i in payload.get("acked") or [] if isinstance(i, str)]
            self._delete(acked)
            sent += len(acked)
            batches += 1
            if not set(ids) & set(acked):
                raise RetryLater("events: admin acked none of the batch")
            if max_batches is not None and batches >= max_batches:
                break
        return sent

    def run_once(self, *, force_poll: bool = True) -> dict[str, int]:
        """One round: events; then config and heartbeat if due (always when forced)."""
        result = {"events": self.push_events(), "config": 0, "commands": 0}
        now = time.monotonic()
        if not self.events_only and (force_poll or now >= self.next_poll):
            self.next_poll = now + self.poll_interval * random.uniform(0.9, 1.1)
            result["config"] = int(pull_config(self.client, self.db, self.apply_config))
            retention.prune_if_due(self.db)  # the tenant's device window, hourly
            result["commands"] = heartbeat(self.client, self.db, self.status, self.deauthorize)
        return result

    # ---- the thread ---------------------------------------------------------
    def _round(self) -> None:
        try:
            self.reload_if_reenrolled()
        except PorchlightError as exc:  # half-written by a concurrent enroll: next round
            log.warning("sync: %s", exc)
        if time.monotonic() < self.retry_at:
            return
        try:
            self.run_once(force_poll=False)
        except (RetryLater, AdminUnreachable) as exc:
            self.failures += 1
            retry_after = exc.retry_after if isinstance(exc, RetryLater) else None
            delay = backoff_delay(self.failures, retry_after)
            self.retry_at = time.monotonic() + delay
            log.warning("sync: %s; retrying in %.1f s", exc, delay)
        except sqlite3.Error:
            self.failures += 1
            self.retry_at = time.monotonic() + backoff_delay(self.failures)
            log.exception("sync: local store error")
        else:
            if self.failures:
                log.info("sync: admin reachable again")
            self.failures = 0

    def run(self) -> None:
        log.info("sync worker started (%s)", self.client.base_url)
        # First contact of a thousand routers after an admin restart: spread it.
        self._stop.wait(random.uniform(0, min(self.event_interval, 5.0)))
        while not self._stop.is_set():
            try:
                self._round()
            except Exception:  # noqa: BLE001 - the loop must survive anything
                log.exception("sync round failed")
                self.retry_at = time.monotonic() + backoff_delay(self.failures + 1)
            self._stop.wait(self.event_interval)
        self.client.close()

    def start(self) -> None:
        self._thread = threading.Thread(target=self.run, name="porchlight-sync", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)


def cmd_sync(args: argparse.Namespace) -> int:
    worker = SyncWorker(
        str(db_path(args.state_dir)),
        args.state_dir,
        event_interval=args.interval,
        batch_events=args.batch or BATCH_EVENTS,
        events_only=True,
    )
    if args.retry_parked:
        moved = unpark(worker.db)
        sys.stdout.write(f"{moved} parked events put back in the outbox\n")
    if not args.loop:
        try:
            sent = worker.push_events()
        except (RetryLater, AdminUnreachable) as exc:
            raise AdminUnreachable(f"outbox not sent: {exc}") from exc
        left = worker.db.execute("SELECT count(*) FROM outbox").fetchone()[0]
        sys.stdout.write(f"sent {sent} events; {left} left in the outbox\n")
        return 0
    try:
        worker.run()
    except KeyboardInterrupt:
        worker.stop()
    return 0
