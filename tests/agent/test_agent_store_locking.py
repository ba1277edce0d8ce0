"""Two connections to one agent store (the gate's and the sync worker's) never fail a write.

SQLite in WAL mode cannot let a transaction that began by reading (BEGIN, then
a SELECT) write once another connection has committed since its read: it
answers "database is locked" at once, whatever the busy timeout. In the
500-phone storm (benchmarks/stadium_storm.py) one guest's authorize failed this
way (its login reads the client row, then writes the outbox) while the sync
worker marked events sent: the guest got a 500. The store's transactions take
the write lock when they begin, so the other connection waits its turn instead.
"""

from __future__ import annotations

import threading
import time

from porchlight.agent import store


def test_a_transaction_that_reads_first_survives_another_connections_commit(tmp_path):
    gate = store.open_db(tmp_path / "agent.db")
    sync = store.open_db(tmp_path / "agent.db")  # the sync worker's own connection
    reading = threading.Event()
    failed: list[BaseException] = []

    def sync_commits() -> None:
        reading.wait(5)
        try:
            store.kv_set(sync, "sent", "1")  # commits while the gate's transaction is open
        except BaseException as exc:  # noqa: BLE001 - reported below
            failed.append(exc)

    other = threading.Thread(target=sync_commits)
    other.start()
    with gate.atomic():
        assert store.kv_get(gate, "login") is None  # the transaction reads first
        reading.set()
        time.sleep(0.3)  # the other connection commits now, or waits for this one
        store.kv_set(gate, "login", "1")  # then writes: "database is locked" before the fix
    other.join(10)
    assert not failed
    assert store.kv_get(gate, "login") == "1" and store.kv_get(gate, "sent") == "1"


def test_nested_atomic_blocks_still_roll_back_alone(tmp_path):
    db = store.open_db(tmp_path / "agent.db")
    with db.atomic():
        store.kv_set(db, "outer", "1")
        try:
            with db.atomic():
                store.kv_set(db, "inner", "1")
                raise RuntimeError("inner fails")
        except RuntimeError:
            pass
    assert store.kv_get(db, "outer") == "1" and store.kv_get(db, "inner") is None


def test_a_failed_transaction_leaves_nothing_and_the_store_usable(tmp_path):
    db = store.open_db(tmp_path / "agent.db")
    try:
        with db.atomic():
            store.kv_set(db, "half", "1")
            raise RuntimeError("fails midway")
    except RuntimeError:
        pass
    assert store.kv_get(db, "half") is None and not db.conn.in_transaction
    with db.atomic():
        store.kv_set(db, "next", "1")
    assert store.kv_get(db, "next") == "1"
