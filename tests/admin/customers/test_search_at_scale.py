"""Customer search as a million customers need it (issue 17, benchmarks/customer_search.py):
a dense search (``nguyen``: four in ten) walks the list's sort index, a rare one takes
the search index's few ids, and both list the same customers in the same order; the
count of a search stops at COUNT_CAP ("More than 1,000"), and one or two characters
are listed but not counted — in vi, th and en."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime, timedelta

import pytest

from porchlight.admin import schema
from porchlight.admin.customers import search_plan

T0 = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)


def names(page: str) -> list[str]:
    found = re.findall(r'<td class="name"><a href="/customers/\d+">([^<]*)</a>', page)
    return [html.unescape(name) for name in found]


def speaking(engine, world, owner_client, locale: str):
    """The owner's client, the owner reading `locale`."""
    u = schema.users
    with engine.begin() as conn:
        conn.execute(u.update().where(u.c.id == world.users["owner"]["id"]).values(locale=locale))
    return owner_client


def every_page(client, query: str) -> list[str]:
    seen: list[str] = []
    for _ in range(20):
        resp = client.get("/customers" + query)
        assert resp.status_code == 200
        page = resp.get_data(as_text=True)
        seen += names(page)
        nxt = re.search(r'rel="next" href="\?([^"]+)"', page)
        if not nxt:
            return seen
        query = "?" + nxt.group(1).replace("&amp;", "&")
    raise AssertionError("the pages never ended")


def count_json(client, q: str) -> dict:
    resp = client.get(
        "/customers/count", query_string={"q": q}, headers={"Accept": "application/json"}
    )
    assert resp.status_code == 200
    return resp.get_json()


@pytest.fixture
def nguyens(world, factory):
    """Seven Nguyễn (five visited at different times, two never), two others."""
    t = world.tenant_id
    for i in range(5):
        visit = [(world.q1, T0 + timedelta(days=i), "form")]
        factory.customer(t, f"Nguyễn Văn {chr(65 + i)}", visits=visit)
    factory.customer(t, "Nguyễn Thị Imported", external_code="KH000001")
    factory.customer(t, "Nguyễn Thị Later", external_code="KH000002")
    factory.customer(t, "Trần Thị Bình", visits=[(world.q1, T0 + timedelta(days=9), "form")])
    factory.customer(t, "สมชาย ใจดี", visits=[(world.q1, T0, "form")])
    # newest visit first, then the never-visited newest first
    return ["Nguyễn Văn E", "Nguyễn Văn D", "Nguyễn Văn C", "Nguyễn Văn B", "Nguyễn Văn A",
            "Nguyễn Thị Later", "Nguyễn Thị Imported"]  # fmt: skip


@pytest.mark.both_dbs
@pytest.mark.parametrize("dense", [False, True])
def test_dense_and_rare_searches_list_the_same(app, owner_client, nguyens, monkeypatch, dense):
    """With DENSE at 3 `nguyen` walks the sort index checking each row; at 10,000 the
    search index drives (SQLite: the ids it found; PostgreSQL, by the planner's
    estimate: the trigram index). The same pages either way."""
    monkeypatch.setattr(search_plan, "DENSE", 3 if dense else 10_000)
    monkeypatch.setattr(search_plan, "PG_DENSE", 3 if dense else 10_000)
    app.config["PAGE_SIZE"] = 2
    assert every_page(owner_client, "?q=nguyen") == nguyens
    assert every_page(owner_client, "?q=Nguy%E1%BB%85n+th%E1%BB%8B") == nguyens[5:]
    assert every_page(owner_client, "?q=nguyen&sort=name") == sorted(nguyens)
    assert every_page(owner_client, "?q=van+b") == ["Nguyễn Văn B"]
    assert every_page(owner_client, "?q=kh00000") == nguyens[5:]
    assert every_page(owner_client, "?q=zzqx") == []


@pytest.mark.both_dbs
@pytest.mark.parametrize(
    ("locale", "more", "exact"),
    [
        ("en", "More than 3 match the filters", "2 match the filters"),
        ("vi", "Hơn 3 khớp bộ lọc", "2 khớp bộ lọc"),
        ("th", "ตรงกับตัวกรองมากกว่า 3 คน", "ตรงกับตัวกรอง 2 คน"),
    ],
)
def test_a_search_counts_up_to_the_cap(
    engine, owner_client, world, nguyens, monkeypatch, locale, more, exact
):
    monkeypatch.setattr(search_plan, "COUNT_CAP", 3)
    client = speaking(engine, world, owner_client, locale)
    got = count_json(client, "nguyen")  # 7 match: more than 3
    assert got["match_text"] == more
    assert got["matching"] is None and got["at_least"] == 3  # no number for the export's label
    assert got["everyone"] == 9
    got = count_json(client, "tran thi")  # Trần Thị Bình alone
    assert got["matching"] == 1 and got["at_least"] is None
    got = count_json(client, "kh00000")  # two POS codes
    assert got["match_text"] == exact and got["matching"] == 2
    html = client.get("/customers/count?q=nguyen").get_data(as_text=True)  # without JavaScript
    assert more in html


@pytest.mark.both_dbs
@pytest.mark.parametrize(
    ("locale", "text"),
    [
        ("en", "Type 3 or more letters or digits to count the matches"),
        ("vi", "Gõ từ 3 chữ hoặc số trở lên để đếm số khách khớp"),
        ("th", "พิมพ์ตัวอักษรหรือตัวเลขอย่างน้อย 3 ตัวเพื่อนับจำนวนที่ตรงกัน"),
    ],
)
def test_one_or_two_characters_are_listed_not_counted(
    engine, owner_client, world, nguyens, locale, text
):
    client = speaking(engine, world, owner_client, locale)
    for q in ("ng", "Đ", "12"):
        got = count_json(client, q)
        assert got["match_text"] == text and got["matching"] is None, q
        assert got["everyone"] == 9
    assert len(every_page(client, "?q=ng")) == 7  # every Nguyễn


@pytest.mark.both_dbs
def test_postgresql_stores_the_document_python_folds(engine, world, factory, db_kind):
    """Migration 0014's pl_search_doc (normalize, marks, đ, lower, spaces) writes the
    same document as admin/customers/search_text.py, odd letters included."""
    if db_kind != "pg":
        pytest.skip("the stored search_doc column is PostgreSQL's")
    from porchlight.admin.customers.search_text import search_doc

    odd = ["ĐẶNG THỊ LAN", "  Ngọc \t Bình ", "Ệ Ỗ ẞ", "Łukasz Ørsted", "Zoë Ångström",
           "ﬁ ligature", "Ａ fullwidth", "สมชาย ใจดี", 'Ann "Q" Lee*']  # fmt: skip
    expected = {}
    for i, name in enumerate(odd):
        phone, email = f"+8491234{i:04d}", f"A{i}@X.vn"
        cid = factory.customer(world.tenant_id, name, phone=phone, email=email)
        expected[cid] = search_doc(name, email, None, phone)
    with engine.connect() as conn:
        stored = dict(conn.exec_driver_sql("SELECT id, search_doc FROM customers").all())
    assert {cid: stored[cid] for cid in expected} == expected
