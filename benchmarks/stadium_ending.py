"""Issue 18's third figure: a stadium's sessions ending together while guests log in.

    sudo .venv/bin/python benchmarks/stadium.py --part ending [--clients 10000] [--spread 60]

Run by stadium.py inside its own network namespace (a veth pair, the agent's LAN
and a peer that plays the guests): the real agent (`porchlight agent run`, the
libnftables backend, reconcile every 2 s) with `--clients` guests put in its store
as logins leave them (stadium.fill_store) and in the kernel's sets (a reload);
their sessions expire one after another over `--spread` seconds, starting
LEAD seconds after the reload (`--spread 0`: all in the same second). Meanwhile:

- TRAFFIC of the guests send a few UDP packets to the router's DNS port from
  their MAC and address (raw frames on the peer): the kernel counts them in
  their `allowed` element, and their `session_end` events must carry the bytes;
- one guest logs in through the agent's socket every LOGIN_PACE s (a new MAC
  each, its neighbour entry made first, as in the held part), from the reload
  until every session has ended: ``baseline_*`` before the first expiry (the
  reconcile rounds at full size, nothing ending), ``login_wait_*`` from a second
  before the first expiry (the agent ends a session once less than a whole
  second is left) until all have ended (goal: max < 100 ms).

Figures: ``sessions_ending``, ``ended`` (goal: = sessions_ending),
``end_events`` (session_end events in the outbox for them; goal: exactly one
each: ``end_events_duplicated`` 0), ``end_bytes_ok`` of ``traffic_sessions``
(their event's bytes_out = the bytes sent; ``end_bytes_short``: fewer, the
element left the kernel before a round read its count; ``end_bytes_over``:
more), ``end_s`` (last expiry to all ended), ``end_lag_p95_s``/``end_lag_max_s``
(each session's ended_at - expires_at; down to -1 s, as above),
``agent_cpu_s_ending`` (the agent's CPU seconds from the first expiry to all
ended), reconcile rounds meanwhile and their mean length, and the load average.
"""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import statistics
import struct
import time
from pathlib import Path
from typing import Any

from stadium import (
    LOGINS_MAX,
    agent_on,
    cpu_s,
    fill_store,
    ip,
    mac,
    neighbours,
    scrape,
)

LEAD = 25.0  # seconds from filling the store to the first expiry (baseline logins meanwhile)
LOGIN_PACE = 0.12  # seconds between logins: LOGINS_MAX of them outlast a 60 s spread
TRAFFIC = 200  # guests that send packets before their session ends
PACKETS, PAYLOAD = 3, 32  # per guest; the kernel counts IP length: 20 + 8 + PAYLOAD
ROUTER_IP = "10.60.0.1"


def _checksum(header: bytes) -> int:
    total = sum(struct.unpack(f"!{len(header) // 2}H", header))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def frame(dst_mac: str, src_mac: str, src_ip: str) -> bytes:
    """An Ethernet frame with a UDP packet from `src_ip` to the router's port 53."""
    udp = struct.pack("!HHHH", 40000, 53, 8 + PAYLOAD, 0) + bytes(PAYLOAD)
    src, dst = socket.inet_aton(src_ip), socket.inet_aton(ROUTER_IP)
    head = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0, 0, 64, 17, 0, src, dst)
    head = head[:10] + struct.pack("!H", _checksum(head)) + head[12:]
    ether = bytes.fromhex(dst_mac.replace(":", "") + src_mac.replace(":", "")) + b"\x08\x00"
    return ether + head + udp


def send_traffic(lan: str, peer: str, count: int) -> int:
    """PACKETS frames from each of the first `count` guests; the bytes the kernel counts each."""
    router_mac = Path(f"/sys/class/net/{lan}/address").read_text().strip()
    with socket.socket(socket.AF_PACKET, socket.SOCK_RAW) as raw:
        raw.bind((peer, 0))
        for i in range(count):
            for _ in range(PACKETS):
                raw.send(frame(router_mac, mac(i), ip(i)))
    return PACKETS * (20 + 8 + PAYLOAD)


def still_open(db_file: Path, count: int) -> int:
    with sqlite3.connect(f"file:{db_file}?mode=ro", uri=True, timeout=5) as conn:
        row = conn.execute(
            "SELECT count(*) FROM sessions WHERE ended_at IS NULL AND mac LIKE '02:5a:%'"
        ).fetchone()
    return int(row[0])


def login(client: Any, i: int) -> float:
    start = time.perf_counter()
    client.call("authorize", mac=mac(i, "02:5b"), ip=ip(i, 62), login={"channel": "click"})
    return (time.perf_counter() - start) * 1000


def logins_until_ended(
    client: Any, db_file: Path, count: int, first_expiry: float, agent_pid: int
) -> dict[str, Any]:
    """Log in every LOGIN_PACE s until all `count` sessions ended (at most LOGINS_MAX, or
    LEAD + 300 s); waits split at the first expiry (wall clock)."""
    baseline: list[float] = []
    ending: list[float] = []
    out: dict[str, Any] = {}
    i, deadline = 0, time.monotonic() + LEAD + 300
    while i < LOGINS_MAX and time.monotonic() < deadline:
        now = time.time()
        if now >= first_expiry and "cpu_start" not in out:
            out["cpu_start"], out["rounds_start"] = cpu_s(agent_pid), _rounds()
        (baseline if now < first_expiry else ending).append(login(client, i))
        i += 1
        if now >= first_expiry and i % 5 == 0 and still_open(db_file, count) == 0:
            break
        time.sleep(LOGIN_PACE)
    if "cpu_start" in out:
        out["agent_cpu_s_ending"] = cpu_s(agent_pid) - out.pop("cpu_start")
        (rounds, spent), (first, before) = _rounds(), out.pop("rounds_start")
        out["reconcile_rounds_ending"] = int(rounds - first)
        out["reconcile_round_s_before"] = before / max(1, first)  # from the agent's start
        out["reconcile_round_s_ending"] = (spent - before) / max(1, rounds - first)
    out.update(_waits("baseline", baseline))
    out.update(_waits("login_wait", ending))
    out["ending_logins"] = i
    return out


def _rounds() -> tuple[float, float]:
    figures = scrape()[0]
    return (
        figures["porchlight_agent_reconcile_seconds_count"],
        figures["porchlight_agent_reconcile_seconds_sum"],
    )


def _waits(name: str, waits: list[float]) -> dict[str, Any]:
    if not waits:
        return {f"{name}_logins": 0}
    waits = sorted(waits)
    return {
        f"{name}_logins": len(waits),
        f"{name}_p50_ms": statistics.median(waits),
        f"{name}_p95_ms": waits[int(0.95 * (len(waits) - 1))],
        f"{name}_max_ms": waits[-1],
    }


def outcome(db_file: Path, count: int, per_guest: int) -> dict[str, Any]:
    """What the store holds after: ended sessions, their end events, bytes, lags."""
    conn = sqlite3.connect(f"file:{db_file}?mode=ro", uri=True, timeout=5)
    rows = conn.execute(
        "SELECT id, mac, expires_at, ended_at FROM sessions WHERE mac LIKE '02:5a:%'"
    ).fetchall()
    events: dict[str, list[dict[str, Any]]] = {}
    for (body,) in conn.execute("SELECT body FROM outbox"):
        event = json.loads(body)
        if event["type"] == "session_end":
            events.setdefault(event["data"]["session_id"], []).append(event["data"])
    conn.close()
    ours = [events.get(row[0], []) for row in rows]
    ended = [row for row in rows if row[3]]
    lags = sorted(_epoch(row[3]) - _epoch(row[2]) for row in ended)
    traffic = {mac(i) for i in range(min(TRAFFIC, count))}
    sent = [got[0]["bytes_out"] for row, got in zip(rows, ours, strict=True)
            if row[1] in traffic and len(got) == 1]  # fmt: skip
    return {
        "sessions_ending": len(rows),
        "ended": len(ended),
        "end_events": sum(len(got) for got in ours),
        "end_events_duplicated": sum(1 for got in ours if len(got) > 1),
        "traffic_sessions": len(traffic),
        "end_bytes_ok": sum(1 for n in sent if n == per_guest),
        "end_bytes_short": sum(1 for n in sent if n < per_guest),  # last counts not read
        "end_bytes_over": sum(1 for n in sent if n > per_guest),  # counted twice
        "end_s": max(_epoch(row[3]) for row in ended) - max(_epoch(row[2]) for row in rows)
        if ended
        else None,
        "end_lag_p95_s": lags[int(0.95 * (len(lags) - 1))] if lags else None,
        "end_lag_max_s": lags[-1] if lags else None,
    }


def _epoch(value: str) -> float:
    from porchlight.agent.sessions import epoch

    return epoch(value)


def ending(lan: str, count: int, spread: float) -> dict[str, Any]:
    out: dict[str, Any] = {"spread_s": spread}
    with agent_on(lan, "plending", remove=True) as (agent, client, state, _sock):
        db_file = state / "agent.db"
        filled = time.time()
        fill_store(db_file, count, length=int(LEAD + spread), spread=spread)
        neighbours(lan, LOGINS_MAX)  # after: the agent records each, and the fill holds the store
        # guest count-1 logged in last: its session ends first, and the agent ends a session
        # once less than a whole second is left (its seconds are whole, as the kernel's)
        first_expiry = filled + LEAD - 1.0
        client.call("reload")
        peer = "plq" + lan[3:]  # stadium.held_outer's veth pair: pls<tag> and plq<tag>
        per_guest = send_traffic(lan, peer, min(TRAFFIC, count))
        out.update(logins_until_ended(client, db_file, count, first_expiry, agent.pid))
        out.update(outcome(db_file, count, per_guest))
        out["ending_load_avg"] = os.getloadavg()[0]
    return out
