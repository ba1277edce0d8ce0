"""The dashboard's rollups equal counts from the base tables.

channel_hours (customers per login channel) against the visits, and
customer_hours (new customers, customers who came) against the customers.

After ingest (with a replay and an older login arriving late), an import
(new and matched customers get the "import" channel, which has no visit),
a merge of two customers who share a channel, and an erasure: for several
period starts, the rollup's sums are the distinct customers per channel
counted from the visits themselves, and so are the dashboard's figures.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from test_admin_visit_rollup import login

from porchlight.admin import schema
from porchlight.admin.customers import channel_rollup, customer_rollup, visit_rollup
from porchlight.admin.customers.merge import merge_customers
from porchlight.admin.customers.visit_rollup import epoch_hour
from porchlight.admin.dashboard import collect
from porchlight.admin.io.imports.job import import_file
from porchlight.admin.sync.enrollment import RouterIdentity, create_router, enroll
from porchlight.admin.sync.ingest import ingest_batch, write_transaction

OFFSET = 7 * 60  # Vietnam and Thailand


def direct(engine, tenant_id, first_hour):
    """{channel: distinct customers} from visits since the UTC epoch hour."""
    v = schema.visits
    start = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(hours=first_hour)
    seen = defaultdict(set)
    with engine.connect() as conn:
        for r in conn.execute(
            sa.select(v.c.channel, v.c.customer_id).where(
                v.c.tenant_id == tenant_id, v.c.started_at >= start
            )
        ):
            seen[r.channel].add(r.customer_id)
    return {ch: len(ids) for ch, ids in seen.items()}


def firsts_lasts(conn, tenant_id, first_hour):
    """(customers whose first visit, whose last visit is since the hour) from customers."""
    c = schema.customers
    start = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(hours=first_hour)
    mine = sa.select(sa.func.count()).select_from(c).where(c.c.tenant_id == tenant_id)
    return (
        conn.execute(mine.where(c.c.first_visit_at >= start)).scalar_one(),
        conn.execute(mine.where(c.c.last_visit_at >= start)).scalar_one(),
    )


def check(engine, tenant_id):
    now = datetime.now(UTC)
    with engine.connect() as conn:
        for back in (timedelta(days=40), timedelta(days=2), timedelta(hours=26), timedelta(0)):
            hour = epoch_hour(now - back)
            assert dict(channel_rollup.per_channel(conn, tenant_id, hour)) == direct(
                engine, tenant_id, hour
            ), back
            assert customer_rollup.since(conn, tenant_id, hour) == firsts_lasts(
                conn, tenant_id, hour
            ), back
        for days in (7, 30, 90):
            data = collect(conn, tenant_id, None, days, OFFSET)
            start = datetime.combine(data["first_day"], datetime.min.time(), UTC)
            want = direct(engine, tenant_id, epoch_hour(start - timedelta(minutes=OFFSET)))
            assert dict(data["channels"]) == want
            hour = epoch_hour(start - timedelta(minutes=OFFSET))
            new, came = firsts_lasts(conn, tenant_id, hour)
            assert (data["new"], data["returning"]) == (new, max(came - new, 0))
            assert [n for _c, n in data["channels"]] == sorted(want.values(), reverse=True)


def rows(engine):
    ch = schema.channel_hours
    with engine.connect() as conn:
        return {(r.tenant_id, r.channel, r.hour): r.customers for r in conn.execute(sa.select(ch))}


@pytest.mark.both_dbs
def test_rollups_follow_ingest_import_merge_and_erase(
    owner_client, world, factory, csrf, engine, tmp_path
):
    now = datetime.now(UTC).replace(microsecond=0)
    t = world.tenant_id
    a = factory.customer(
        t, "A", "+84911111111", visits=[(world.q1, now - timedelta(hours=5), "form")]
    )
    b = factory.customer(
        t,
        "B",
        "+84922222222",
        visits=[(world.q3, now - timedelta(days=3), "zalo"), (world.q1, now, "click")],
    )
    factory.customer(
        t, "Old", "+84944444444", visits=[(world.q1, now - timedelta(days=60), "zalo")]
    )
    check(engine, t)
    with engine.begin() as conn:
        _rid, code = create_router(conn, world.q1, "front desk")
        identity, _token = enroll(conn, code)
    router = RouterIdentity(identity.router_id, t, world.q1, "front desk")
    events = [
        login("0933333333", now - timedelta(days=1, minutes=7)),
        login("0933333333", now - timedelta(days=1, minutes=1), "zalo"),
        login("0911111111", now - timedelta(hours=30)),  # A: older than A's last form visit
        login("0922222222", now - timedelta(days=2), "zalo"),  # B's zalo moves later
        login("0922222222", now - timedelta(days=1)),  # B now has form too
    ]
    for _ in range(2):  # the replay adds nothing
        with write_transaction(engine, t) as conn:
            ingest_batch(conn, router, events)
    check(engine, t)

    path = tmp_path / "c.csv"
    path.write_text("Tên,Điện thoại\r\nMới,0955555555\r\nA,0911111111\r\n", encoding="utf-8")
    import_file(engine, path, tenant_id=t, location_id=world.q1, dry_run=False)
    check(engine, t)

    with engine.begin() as conn:
        merge_customers(conn, t, a, b)  # both have "form"
    check(engine, t)

    token = csrf(owner_client, f"/customers/{a}")
    owner_client.post(f"/customers/{a}/delete", data={"csrf_token": token, "confirm": "yes"})
    assert owner_client.get(f"/customers/{a}").status_code == 404
    check(engine, t)

    kept = rows(engine)
    assert kept and all(n > 0 for n in kept.values())
    ch = schema.customer_hours
    with engine.connect() as conn:
        hours = set(conn.execute(sa.select(ch.c.tenant_id, ch.c.hour, ch.c.firsts, ch.c.lasts)))
    with engine.begin() as conn:
        channel_rollup.recount(conn)
        customer_rollup.recount(conn)
    assert rows(engine) == kept
    with engine.connect() as conn:
        assert (
            set(conn.execute(sa.select(ch.c.tenant_id, ch.c.hour, ch.c.firsts, ch.c.lasts)))
            == hours
        )


@pytest.mark.both_dbs
def test_a_channel_counted_alone_counts_what_the_list_lists(world, factory, engine):
    """Counting one channel alone walks customer_channels (an IN, not EXISTS): same customers."""
    from porchlight.admin.customers.filters import CustomerFilters
    from porchlight.admin.customers.query import build_customer_query, count_query

    now = datetime.now(UTC)
    other = factory.tenant("other")
    there = factory.location(other, "There")
    for i, channel in enumerate(["zalo", "form", "zalo", "click"]):
        factory.customer(
            world.tenant_id, f"C{i}", f"+8490000001{i}", visits=[(world.q1, now, channel)]
        )
    factory.customer(other, "Elsewhere", "+84900000099", visits=[(there, now, "zalo")])
    for filters in (CustomerFilters(channel="zalo"), CustomerFilters(channel="zalo", visits_min=1)):
        listed = build_customer_query(filters, world.tenant_id, None, dialect=engine.dialect.name)
        unordered = build_customer_query(
            filters, world.tenant_id, None, ordered=False, dialect=engine.dialect.name
        )
        with engine.connect() as conn:
            ids = set(conn.execute(listed).scalars())
            assert len(ids) == 2
            assert set(conn.execute(unordered).scalars()) == ids
            assert conn.execute(count_query(unordered)).scalar_one() == 2


@pytest.mark.both_dbs
def test_an_hour_taken_to_zero_is_deleted_by_its_key_not_by_a_table_scan(world, factory, engine):
    """Every batch that moves a customer's hour takes the old one down; the rows it took
    to zero go by their key (a DELETE ... WHERE customers <= 0 read every tenant's hours,
    8 ms at 50,000 of them, inside the tenant's ingest lock)."""
    now = datetime.now(UTC).replace(microsecond=0)
    t = world.tenant_id
    b = factory.customer(
        t, "B", "+84922222222", visits=[(world.q3, now - timedelta(days=3), "zalo")]
    )
    with engine.begin() as conn:
        _rid, code = create_router(conn, world.q1, "front desk")
        identity, _token = enroll(conn, code)
    router = RouterIdentity(identity.router_id, t, world.q1, "front desk")
    deletes: list[str] = []

    def seen(_conn, _cursor, statement, *_args):
        text = " ".join(statement.split())
        rollups = ("CHANNEL_HOURS", "CUSTOMER_HOURS", "VISIT_HOURS")
        if text.upper().startswith(tuple(f"DELETE FROM {name}" for name in rollups)):
            deletes.append(text)

    sa.event.listen(engine, "before_cursor_execute", seen)
    try:
        with write_transaction(engine, t) as conn:  # B's zalo and last visit move later
            ingest_batch(conn, router, [login("0922222222", now - timedelta(days=2), "zalo")])
        assert deletes, "the batch took no hour to zero"
        assert all("tenant_id" in text for text in deletes), deletes
        check(engine, t)
        deletes.clear()
        with engine.begin() as conn:  # erasing B takes B's visit hours to zero
            visit_rollup.remove_customer(conn, b)
    finally:
        sa.event.remove(engine, "before_cursor_execute", seen)
    assert any(text.upper().startswith("DELETE FROM VISIT_HOURS") for text in deletes), deletes
    assert all("location_id" in text for text in deletes), deletes
