"""Customer search (issues 5, 17): SQLite's FTS5 trigram index of folded documents
(migration 0009) finds the same customers as PostgreSQL's pg_trgm index on
pl_search_doc, and stays in step through inserts, renames, merges and erasures."""

from __future__ import annotations

import html
import re

import pytest
import sqlalchemy as sa

from porchlight.admin import schema
from porchlight.admin.customers.filters import CustomerFilters
from porchlight.admin.customers.merge import merge_customers
from porchlight.admin.customers.query import build_customer_query

c = schema.customers

ODD = ['"', '""', "*", "OR", "NEAR(", "-", "a OR b", 'Lee*"', "NEAR(An Lê", "-An", "'; --", "%_"]


def names(page: str) -> list[str]:
    found = re.findall(r'<td class="name"><a href="/customers/\d+">([^<]*)</a>', page)
    return [html.unescape(name) for name in found]


def search(client, q: str) -> list[str]:
    resp = client.get("/customers", query_string={"q": q})
    assert resp.status_code == 200, (q, resp.status_code)
    return names(resp.get_data(as_text=True))


def query_ids(engine, tenant_id: int, q: str) -> set[int]:
    with engine.connect() as conn:
        query = build_customer_query(
            CustomerFilters(q=q), tenant_id, None, ordered=False, dialect=conn.dialect.name
        )
        ids = set(conn.execute(query).scalars())
        count = conn.execute(sa.select(sa.func.count()).select_from(query.subquery())).scalar()
    assert count == len(ids)
    return ids


def fts_consistent(engine) -> None:
    """On SQLite the FTS table holds exactly one current document per customer."""
    with engine.begin() as conn:
        if conn.dialect.name == "sqlite":
            conn.exec_driver_sql(
                "INSERT INTO customers_search_fts(customers_search_fts, rank) "
                "VALUES ('integrity-check', 1)"
            )
            stale = conn.exec_driver_sql(
                "SELECT count(*) FROM customers c FULL JOIN customers_search_fts f "
                "ON f.rowid = c.id WHERE f.doc IS NOT "
                "pl_search_doc(c.name, c.email, c.external_code, c.phone)"
            ).scalar()
            assert stale == 0


@pytest.mark.both_dbs
def test_create_rename_merge_erase(engine, owner_client, world, factory):
    t = world.tenant_id
    an = factory.customer(t, "An Nguyễn Thị")
    bo = factory.customer(t, "Bông Lê Văn", external_code="K-777")
    other = factory.tenant("other-tenant")
    factory.customer(other, "An Nguyễn Khác")
    assert search(owner_client, "nguyễn") == ["An Nguyễn Thị"]
    assert search(owner_client, "Nguyễn Thị") == ["An Nguyễn Thị"]
    assert search(owner_client, "guy") == ["An Nguyễn Thị"]  # substring, mid-word
    assert search(owner_client, "K-777") == ["Bông Lê Văn"]  # external code still works
    assert search(owner_client, "Lê") == ["Bông Lê Văn"]  # 2 characters: LIKE
    assert search(owner_client, "zzqx") == []
    assert query_ids(engine, t, "nguyễn") == {an}

    with engine.begin() as conn:
        conn.execute(c.update().where(c.c.id == an).values(name="Anh Phạm"))
    assert search(owner_client, "nguyễn") == []
    assert search(owner_client, "phạm") == ["Anh Phạm"]
    fts_consistent(engine)

    with engine.begin() as conn:
        merge_customers(conn, t, an, bo)  # keeps an's name; bo is gone
    assert search(owner_client, "Bông") == []
    assert search(owner_client, "Anh Ph") == ["Anh Phạm"]
    assert query_ids(engine, t, "Bông") == set()
    fts_consistent(engine)

    with engine.begin() as conn:
        conn.execute(c.delete().where(c.c.id == an))
    assert search(owner_client, "Anh Ph") == []
    assert query_ids(engine, t, "phạm") == set()
    fts_consistent(engine)


@pytest.mark.both_dbs
def test_erase_through_the_page(engine, owner_client, world, factory, csrf):
    cid = factory.customer(world.tenant_id, "Xoá Tôi Đi")
    assert search(owner_client, "xoá tôi") == ["Xoá Tôi Đi"]
    resp = owner_client.post(
        f"/customers/{cid}/delete",
        data={"confirm": "yes", "csrf_token": csrf(owner_client, f"/customers/{cid}")},
    )
    assert resp.status_code in (302, 303)
    assert search(owner_client, "xoá tôi") == []
    fts_consistent(engine)


@pytest.mark.both_dbs
def test_vietnamese_case_folding(owner_client, world, factory, db_kind):
    factory.customer(world.tenant_id, "Nguyễn Văn Bình")
    factory.customer(world.tenant_id, "ĐẶNG THỊ LAN")
    assert search(owner_client, "nguyễn văn") == ["Nguyễn Văn Bình"]
    assert search(owner_client, "NGUYEN") == ["Nguyễn Văn Bình"]  # typed without accents
    assert search(owner_client, "NGUYỄN") == ["Nguyễn Văn Bình"]
    assert search(owner_client, "đặng thị") == ["ĐẶNG THỊ LAN"]
    assert search(owner_client, "dang thi") == ["ĐẶNG THỊ LAN"]


@pytest.mark.both_dbs
def test_query_syntax_is_plain_text(engine, owner_client, world, factory):
    odd = factory.customer(world.tenant_id, 'Ann "Quote" Lee* OR NEAR(x) -y')
    factory.customer(world.tenant_id, "An Lê")
    for q in ODD:
        search(owner_client, q)  # no error
        query_ids(engine, world.tenant_id, q)
    assert search(owner_client, '"Quote" Lee*') == ['Ann "Quote" Lee* OR NEAR(x) -y']
    assert search(owner_client, "OR NEAR(") == ['Ann "Quote" Lee* OR NEAR(x) -y']
    assert query_ids(engine, world.tenant_id, ") -y") == {odd}
    assert query_ids(engine, world.tenant_id, "An OR Lê") == set()  # not an FTS OR


def test_sqlite_uses_the_fts_table(engine, world, factory):
    factory.customer(world.tenant_id, "Trần Thị Hoa")
    with engine.connect() as conn:
        assert conn.dialect.name == "sqlite"
        query = build_customer_query(
            CustomerFilters(q="thị hoa", sort="name"),
            world.tenant_id,
            None,
            limit=51,
            dialect="sqlite",
        )
        assert "customers_search_fts" in str(query.compile(dialect=conn.dialect))
        assert len(conn.execute(query).all()) == 1
        # the default (no dialect) asks pl_search_doc row by row (SQLite has it too)
        old = build_customer_query(CustomerFilters(q="thị hoa", sort="name"), world.tenant_id, None)
        assert "customers_search_fts" not in str(old.compile(dialect=conn.dialect))
        assert len(conn.execute(old).all()) == 1
        # one or two characters: checked row by row along the sort index (no trigram
        # lookup: each row's stored document is read by its rowid)
        short = build_customer_query(
            CustomerFilters(q="đ", sort="name"), world.tenant_id, None, dialect="sqlite"
        )
        assert "MATCH" not in str(short.compile(dialect=conn.dialect))
        assert len(conn.execute(short).all()) == 0  # no d in "Trần Thị Hoa"


def test_seed_rebuilds_the_fts_table(engine):
    from porchlight.admin.seed import seed

    seed(engine, 300, 600, 2, tenant="seeded")
    with engine.connect() as conn:
        triggers = conn.exec_driver_sql(
            "SELECT count(*) FROM sqlite_master WHERE type = 'trigger' "
            "AND name LIKE 'customers_search_fts%'"
        ).scalar()
        tid = conn.execute(
            sa.select(schema.tenants.c.id).where(schema.tenants.c.slug == "seeded")
        ).scalar_one()
        by_like = set(
            conn.execute(
                sa.select(c.c.id).where(c.c.tenant_id == tid, sa.func.lower(c.c.name).like("%văn%"))
            ).scalars()
        )
    assert triggers == 3
    assert by_like
    assert query_ids(engine, tid, "văn") == by_like
    fts_consistent(engine)


@pytest.mark.both_dbs
def test_search_as_people_type(engine, owner_client, world, factory):
    t = world.tenant_id
    factory.customer(t, "Nguyễn Ngọc Bình", phone="+84912348509")
    factory.customer(t, "Trần Thị Đào", email="guest8509x@example.vn")
    factory.customer(t, "สมชาย ใจดี", phone="+66812345678", external_code="KV-00417")
    factory.customer(t, "Lê Văn An", email="an@example.vn")
    assert search(owner_client, "nguyen") == ["Nguyễn Ngọc Bình"]
    assert search(owner_client, "ngoc binh") == ["Nguyễn Ngọc Bình"]
    assert search(owner_client, "  Ngoc   Binh ") == ["Nguyễn Ngọc Bình"]
    assert search(owner_client, "tran thi") == ["Trần Thị Đào"]
    assert search(owner_client, "dao") == ["Trần Thị Đào"]  # d finds đ
    assert search(owner_client, "สมชาย") == ["สมชาย ใจดี"]  # Thai as typed
    assert search(owner_client, "ใจดี") == ["สมชาย ใจดี"]
    assert search(owner_client, "guest8509") == ["Trần Thị Đào"]  # part of an e-mail
    assert search(owner_client, "kv-00417") == ["สมชาย ใจดี"]  # a POS code, any case
    assert search(owner_client, "5678") == ["สมชาย ใจดี"]  # a phone's last digits
    assert sorted(search(owner_client, "8509")) == ["Nguyễn Ngọc Bình", "Trần Thị Đào"]
    assert search(owner_client, "0912 348 509") == ["Nguyễn Ngọc Bình"]  # whole phone: exact
    assert search(owner_client, "an@example.vn") == ["Lê Văn An"]  # whole e-mail: exact
    assert "Trần Thị Đào" in search(owner_client, "d")  # one letter: d finds đ too
