"""Simulated routers syncing with a chain's admin processes (see chainkit.py).

Every round, each router sends one batch of events (the logins and
session_starts of its new guests, the session_ends of the previous round's),
a heartbeat and a config poll with its last ETag, each to the admin process
the round-robin picks. Some batches are sent again to the other process after
their answer came back (a router that lost the answer), some to both
processes at the same time (a retry racing the first try). A 429 or 503 is
retried after its Retry-After (capped), as the agent does. `Tally` keeps what
was sent and the answers, for `chaincheck.py` to compare with the database.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import requests
from chainkit import RoundRobin, SimRouter
from synckit import end_event, login_event

from porchlight.events import new_event_id, utc_now_iso

RETRY_STATUSES = {429, 503}


@dataclass
class Plan:
    rounds: int = 3
    sessions: int = 2  # new guests per router per round
    phones: int = 5000  # the chain's guests: a phone may log in at any venue
    replay: float = 0.1  # share of batches sent again, to the other process, after the answer
    twin: float = 0.05  # share of batches sent to both processes at once
    threads: int = 16
    retry_cap: float = 10.0  # longest wait on a Retry-After
    seed: int = 1


@dataclass
class Tally:
    """What the routers sent and were answered (thread-safe through `lock`)."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    events: dict[str, int] = field(default_factory=dict)  # id -> router id
    logins: dict[tuple[int, str], str] = field(default_factory=dict)  # (router, session) -> phone
    ends: set[tuple[int, str]] = field(default_factory=set)
    timings: dict[str, list[float]] = field(default_factory=dict)  # kind -> seconds
    statuses: dict[str, int] = field(default_factory=dict)  # "kind status" -> count
    unacked: list[str] = field(default_factory=list)  # batches never answered 200
    anomalies: list[str] = field(default_factory=list)  # answers that break exactly-once
    replays: int = 0
    twins: int = 0

    def time(self, kind: str, seconds: float, status: int) -> None:
        with self.lock:
            self.timings.setdefault(kind, []).append(seconds)
            key = f"{kind} {status}"
            self.statuses[key] = self.statuses.get(key, 0) + 1

    def note(self, problem: str) -> None:
        with self.lock:
            self.anomalies.append(problem)


class Client:
    """One router's requests, with the agent's retries on 429/503."""

    def __init__(self, balancer: RoundRobin, tally: Tally, plan: Plan) -> None:
        self.balancer = balancer
        self.tally = tally
        self.plan = plan
        self._local = threading.local()

    def session(self) -> requests.Session:
        session = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = requests.Session()
        return session

    def send(
        self, kind: str, target: int, call: Callable[[requests.Session, str], requests.Response]
    ) -> requests.Response | None:
        """`call` against admin process `target` until it is not a 429/503 (20 tries)."""
        for attempt in range(20):
            url = self.balancer.urls[(target + attempt) % len(self.balancer.urls)]
            t0 = time.perf_counter()
            try:
                answer = call(self.session(), url)
            except requests.RequestException as exc:
                self.tally.note(f"{kind}: {type(exc).__name__}")
                time.sleep(1)
                continue
            self.tally.time(kind, time.perf_counter() - t0, answer.status_code)
            if answer.status_code not in RETRY_STATUSES:
                return answer
            wait = float(answer.headers.get("Retry-After") or 1)
            time.sleep(min(wait, self.plan.retry_cap) * random.uniform(0.5, 1.0))
        return None

    def post_batch(self, router: SimRouter, body: dict[str, Any], target: int) -> dict[str, Any]:
        answer = self.send(
            "batch",
            target,
            lambda s, url: s.post(
                f"{url}/api/v1/events", json=body, headers=router.headers(), timeout=120
            ),
        )
        if answer is None or answer.status_code != 200:
            status = "no answer" if answer is None else f"{answer.status_code} {answer.text[:120]}"
            with self.tally.lock:
                self.tally.unacked.append(f"router {router.router_id}: {status}")
            return {}
        result: dict[str, Any] = answer.json()
        ids = [e["id"] for e in body["events"]]
        if sorted(result.get("acked", [])) != sorted(ids):
            self.tally.note(f"router {router.router_id}: acked ids differ from the batch")
        return result


def round_events(
    router: SimRouter, rng: random.Random, sessions: int, phones: int, tally: Tally
) -> list[dict[str, Any]]:
    """Ends of the router's open sessions, then logins and starts of `sessions` new ones."""
    events = []
    for session_id, mac in router.open_sessions:
        events.append(end_event(session_id, mac=mac))
        with tally.lock:
            tally.ends.add((router.router_id, session_id))
    router.open_sessions = []
    for _ in range(sessions):
        phone = f"09{rng.randrange(phones):08d}"
        mac = "02:" + ":".join(f"{rng.randrange(256):02x}" for _ in range(5))
        login = login_event(phone, mac=mac, name=f"Guest {phone[-4:]}")
        session_id = login["data"]["session_id"]
        start = {
            "id": new_event_id(),
            "type": "session_start",
            "occurred_at": utc_now_iso(),
            "mac": mac,
            "data": {"session_id": session_id, "expires_at": utc_now_iso()},
        }
        events += [login, start]
        router.open_sessions.append((session_id, mac))
        with tally.lock:
            tally.logins[(router.router_id, session_id)] = phone
    with tally.lock:
        tally.events.update((e["id"], router.router_id) for e in events)
    return events


def send_events(
    client: Client, router: SimRouter, events: list[dict[str, Any]], rng: random.Random
) -> None:
    """One batch: once, or replayed to the other process, or to both processes at once."""
    body = {"sent_at": utc_now_iso(), "events": events}
    balancer, tally, plan = client.balancer, client.tally, client.plan
    first = balancer.next()
    draw = rng.random()
    if draw < plan.twin:
        answers: list[dict[str, Any]] = []
        twin = threading.Thread(
            target=lambda: answers.append(client.post_batch(router, body, balancer.other(first)))
        )
        twin.start()
        answers.append(client.post_batch(router, body, first))
        twin.join()
        with tally.lock:
            tally.twins += 1
        fresh = sum(len(events) - int(a.get("duplicates", len(events))) for a in answers)
        if all(answers) and fresh != len(events):
            tally.note(f"router {router.router_id}: twin batch applied {fresh}/{len(events)}")
        return
    answer = client.post_batch(router, body, first)
    if draw < plan.twin + plan.replay:  # the answer was lost: the router sends it again
        again = client.post_batch(router, body, balancer.other(first))
        with tally.lock:
            tally.replays += 1
        if again and again.get("duplicates") != len(events):
            tally.note(f"router {router.router_id}: replay applied again ({again})")
    elif answer and answer.get("duplicates") != 0:
        tally.note(f"router {router.router_id}: fresh batch had duplicates ({answer})")


def poll_config(client: Client, router: SimRouter, kind: str = "config") -> None:
    def call(s: requests.Session, url: str) -> requests.Response:
        extra = {"If-None-Match": router.etag} if router.etag else {}
        return s.get(f"{url}/api/v1/config", headers=router.headers(**extra), timeout=60)

    answer = client.send(kind, client.balancer.next(), call)
    if answer is not None and answer.status_code in (200, 304):
        router.etag = answer.headers.get("ETag") or router.etag
    else:
        client.tally.note(f"{kind} {router.router_id}: {answer and answer.status_code}")


def heartbeat(client: Client, router: SimRouter) -> None:
    body = {"uptime_seconds": 60, "clients_online": len(router.open_sessions), "outbox_depth": 0}
    answer = client.send(
        "heartbeat",
        client.balancer.next(),
        lambda s, url: s.post(
            f"{url}/api/v1/heartbeat", json=body, headers=router.headers(), timeout=60
        ),
    )
    if answer is not None and answer.status_code != 200:
        client.tally.note(f"heartbeat {router.router_id}: {answer.status_code}")


def sync(client: Client, routers: list[SimRouter]) -> None:
    """`plan.rounds` rounds of every router, then one batch of the last sessions' ends."""
    plan = client.plan
    rngs = {r.router_id: random.Random(plan.seed * 1_000_003 + r.index) for r in routers}

    def one_round(router: SimRouter, final: bool = False) -> None:
        rng = rngs[router.router_id]
        new = 0 if final else plan.sessions
        events = round_events(router, rng, new, plan.phones, client.tally)
        if events:
            send_events(client, router, events, rng)
        heartbeat(client, router)
        poll_config(client, router)

    with ThreadPoolExecutor(plan.threads) as pool:
        for _ in range(plan.rounds):
            list(pool.map(one_round, routers))
        list(pool.map(lambda r: one_round(r, final=True), routers))


def idle_polls(client: Client, routers: list[SimRouter], window: float = 0.0) -> None:
    """Each router polls its config once more, nothing else running: the steady state.

    With `window` the polls are spread evenly over that many seconds, as a fleet
    polling every `window` seconds sends them (the agent's default is 30 s);
    without, as fast as the client threads go.
    """
    start = time.monotonic()
    step = window / max(1, len(routers))

    def poll(index: int) -> None:
        delay = start + index * step - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        poll_config(client, routers[index], "idle config")

    with ThreadPoolExecutor(client.plan.threads) as pool:
        list(pool.map(poll, range(len(routers))))
