"""A worker killed mid-import or mid-retention-pass (SIGKILL, a power cut) left SQLite's
search index with its merges off: the next housekeeping puts them back, unless an import
or a pass is still running (it put them off itself)."""

from __future__ import annotations

from datetime import timedelta

from porchlight.admin.io import jobs
from porchlight.admin.io.worker import housekeeping
from porchlight.admin.privacy import search_merges


def merges(engine) -> dict[str, int]:
    with engine.connect() as conn:
        return search_merges._settings(conn)


def left_off(engine) -> None:
    with engine.connect() as conn:
        search_merges._set(conn, {"automerge": 0, "crisismerge": search_merges.CRISIS_SEGMENTS})


def test_housekeeping_puts_merges_back_after_a_killed_job(engine, world):
    left_off(engine)
    with engine.begin() as conn:  # an import running in another worker: left as it is
        jobs.enqueue(conn, tenant_id=world.tenant_id, kind="import", params={}, created_by=None)
    running = jobs.claim(engine, "other-worker", timedelta(minutes=5))
    assert running is not None
    housekeeping(engine)
    assert merges(engine)["automerge"] == 0
    jobs.finish(engine, running.id, {})
    housekeeping(engine)  # nothing runs now: the killed one left them off
    assert merges(engine) == search_merges.DEFAULTS


def test_housekeeping_leaves_merges_a_tenant_set_alone(engine, world):
    with engine.connect() as conn:
        search_merges._set(conn, {"automerge": 8, "crisismerge": 32})
    housekeeping(engine)
    assert merges(engine) == {"automerge": 8, "crisismerge": 32}
