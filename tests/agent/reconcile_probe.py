"""Logins while the reconcile runs, at a few thousand guests (run inside a namespace).

    python reconcile_probe.py LAN STATE_DIR CLIENTS LOGINS

A gate on the real kernel (libnftables, as the agent runs it) with CLIENTS
guests online; one thread reconciles in a loop while the main thread logs in
LOGINS new guests, 20 ms apart. Prints one JSON object: each round's
(start, end) and each login's (start, seconds), on the monotonic clock.
Used by test_agent_root_reconcile.py; removes its table when done.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from pathlib import Path

from porchlight.agent import nft_ruleset, sessions
from porchlight.agent.gate import Gate
from porchlight.agent.nft import Nft
from porchlight.agent.store import open_db


def mac(i: int, prefix: str) -> str:
    return f"{prefix}:00:{(i >> 16) & 255:02x}:{(i >> 8) & 255:02x}:{i & 255:02x}"


def ip(i: int, second: int) -> str:
    return f"10.{second}.{(i + 2) >> 8 & 255}.{(i + 2) & 255}"


def main() -> None:
    lan, state, clients, logins = sys.argv[1], Path(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    db = open_db(state / "agent.db")
    now = time.time()
    with db.atomic():
        for i in range(clients):
            sessions.touch_client(db, mac(i, "02:5a"), now, ip=ip(i, 61))
            sessions.start_session(
                db, mac=mac(i, "02:5a"), ip=ip(i, 61), now=now, length=3600,
                channel="click", login=None,
            )  # fmt: skip
    gate = Gate(db, nft_ruleset.GateSpec(lan=lan, portal_port=8080), nft=Nft(backend="lib"))
    gate.rebuild()
    rounds: list[tuple[float, float]] = []
    stop = threading.Event()

    def reconciling() -> None:
        while not stop.is_set():
            started = time.monotonic()
            gate.reconcile()
            rounds.append((started, time.monotonic()))
            stop.wait(0.05)

    thread = threading.Thread(target=reconciling)
    thread.start()
    waits: list[tuple[float, float]] = []
    try:
        for i in range(logins):
            started = time.monotonic()
            gate.authorize(mac(i, "02:5b"), ip(i, 62), {"channel": "click"})
            waits.append((started, time.monotonic() - started))
            time.sleep(0.02)
    finally:
        stop.set()
        thread.join()
        gate.nft.delete_table()
    print(json.dumps({"rounds": rounds, "waits": waits}))


if __name__ == "__main__":
    main()
