"""A list page's keyset query runs in a worker thread beside the page's look-ups
(admin/customers/page_query.py): what that must keep true."""

from __future__ import annotations

import os
import re
import threading
import time
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from porchlight.admin.customers import page_query

T0 = datetime(2026, 11, 1, 3, 0, tzinfo=UTC)


def names(html: str) -> list[str]:
    return re.findall(r'<td class="name"><a href="/customers/\d+">([^<]*)</a>', html)


@pytest.fixture
def tagged(world, factory):
    factory.customer(world.tenant_id, "An", "+84912345678", visits=[(world.q1, T0, "form")],
                     tags=["vip", "wifi"])  # fmt: skip
    factory.customer(world.tenant_id, "Bình", "+84987654321", visits=[(world.q1, T0, "form")],
                     tags=["vip"])  # fmt: skip
    return world


@pytest.mark.parametrize("db_kind", [pytest.param("pg", marks=pytest.mark.pg)], indirect=True)
def test_the_look_ups_are_read_while_the_page_query_waits(owner_client, tagged, engine, db_url):
    """The page's query is held behind a lock on customer_tags; the locations, groups,
    tag names, selection, segments and exports are read meanwhile, and the page
    comes out whole when the lock goes."""
    seen: list[tuple[float, str]] = []

    @sa.event.listens_for(engine, "after_cursor_execute")
    def note(conn, cursor, statement, params, context, many):  # noqa: ARG001
        seen.append((time.monotonic(), statement))

    locker = sa.create_engine(db_url)
    answer: dict[str, object] = {}
    with locker.connect() as lock:
        lock.exec_driver_sql("LOCK TABLE customer_tags IN ACCESS EXCLUSIVE MODE")
        request = threading.Thread(
            target=lambda: answer.update(
                r=owner_client.get("/customers?tag=vip&tag=wifi&tag_mode=all")
            )
        )
        request.start()
        deadline = time.monotonic() + 10
        waiting = 0
        while time.monotonic() < deadline and not waiting:
            with locker.connect() as look:  # a new transaction: a fresh view of the activity
                waiting = look.exec_driver_sql(
                    "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
                    " AND query LIKE '%%customer_tags%%'"
                ).scalar()
            time.sleep(0.02)
        assert waiting, "the page query never waited for the lock"
        time.sleep(0.3)  # the request's own thread goes on meanwhile
        released = time.monotonic()
        done_before = " ".join(s for t, s in seen if t < released)
        lock.rollback()
    request.join(10)
    locker.dispose()
    sa.event.remove(engine, "after_cursor_execute", note)
    for table in ("groups", "tags", "customer_selection_lists", "customer_segments", "jobs"):
        assert re.search(rf"\bFROM {table}\b", done_before), f"{table} waited for the page"
    resp = answer["r"]
    assert resp.status_code == 200
    assert names(resp.get_data(as_text=True)) == ["An"]


@pytest.mark.both_dbs
def test_a_failed_page_query_fails_the_request_and_returns_its_connection(
    owner_client, tagged, engine, monkeypatch
):
    def broken(*args, **kwargs):
        raise sa.exc.OperationalError("SELECT", {}, Exception("server closed the connection"))

    monkeypatch.setattr(page_query, "page_ids", broken)
    with pytest.raises(sa.exc.OperationalError):
        owner_client.get("/customers")  # TESTING: the error reaches the test (else a 500)
    assert engine.pool.checkedout() == 0
    monkeypatch.undo()
    assert names(owner_client.get("/customers").get_data(as_text=True)) == ["Bình", "An"]


def test_a_forked_worker_reads_pages_with_threads_of_its_own(owner_client, tagged, engine):
    """gunicorn forks its workers; a pool made before the fork has no threads in
    the child, and a page handed to it would wait for ever."""
    assert owner_client.get("/customers").status_code == 200  # the parent's pool exists
    parent_pool = page_query._executor()
    engine.dispose()  # the child must not share the parent's connections
    pid = os.fork()
    if pid == 0:  # the child: one page, then out, whatever happens
        code = 1
        try:
            ok = owner_client.get("/customers").status_code == 200
            code = 0 if ok and page_query._executor() is not parent_pool else 2
        finally:
            os._exit(code)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            assert os.waitstatus_to_exitcode(status) == 0
            return
        time.sleep(0.05)
    os.kill(pid, 9)
    os.waitpid(pid, 0)
    pytest.fail("the forked worker's page never came")
