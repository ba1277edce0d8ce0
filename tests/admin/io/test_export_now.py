"""Small exports download at once, with the rows a job would hold; bigger ones are jobs.

The list's export form posts to /exports: at most `IMMEDIATE_MAX_ROWS`
rows (counted with the export's own scope, filters, manager's locations and
marketing purpose) come back as the file itself, recorded on Downloads and
audited; more rows, or an export that runs out of time, become a job.
"""

from __future__ import annotations

import csv
import io
import re
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from porchlight.admin import schema
from porchlight.admin.db import utcnow
from porchlight.admin.io import worker
from porchlight.admin.io.exports import immediate, limits

VISIT = datetime(2026, 11, 20, 3, 30, tzinfo=UTC)


def post_export(client, csrf, **form):
    token = csrf(client, "/customers")
    return client.post("/exports", data={"csrf_token": token, "format": "csv", **form})


def names_in(response) -> list[str]:
    assert response.status_code == 200, response.status_code
    assert response.headers["Content-Disposition"].startswith("attachment")
    body = response.get_data().decode("utf-8-sig")
    response.close()
    rows = list(csv.reader(io.StringIO(body)))
    return sorted(row[1] for row in rows[1:])


def export_jobs(engine) -> list:
    with engine.connect() as conn:
        j = schema.jobs.c
        return conn.execute(
            sa.select(j.id, j.status, j.params, j.result, j.file_path).order_by(j.id)
        ).all()


def audit_rows(engine, action: str) -> list:
    a = schema.audit_log.c
    with engine.connect() as conn:
        return conn.execute(sa.select(schema.audit_log).where(a.action == action)).all()


@pytest.fixture
def shop(factory, world):
    """VIP (tag) customers at Q1 and Q3, others, and another tenant's VIP."""
    made = {}
    for name, place, tags in (
        ("VIP Q1 a", world.q1, ["VIP"]),
        ("VIP Q1 b", world.q1, ["VIP", "wifi"]),
        ("VIP Q3", world.q3, ["VIP"]),
        ("Plain Q1", world.q1, []),
        ("Plain Q3", world.q3, ["wifi"]),
    ):
        made[name] = factory.customer(
            world.tenant_id, name, phone=f"+8491{len(made):07d}",
            visits=[(place, VISIT, "form")], tags=tags,
        )  # fmt: skip
    other = factory.tenant("other")
    there = factory.location(other, "Elsewhere")
    factory.customer(other, "Other tenant VIP", phone="+84919999999",
                     visits=[(there, VISIT, "form")], tags=["VIP"])  # fmt: skip
    return made


@pytest.mark.both_dbs
def test_a_small_filtered_export_is_the_file_itself_with_exactly_its_rows(
    app, engine, world, shop, client_as, csrf
):
    owner, manager = client_as("owner"), client_as("manager")
    vip = names_in(post_export(owner, csrf, scope="filtered", filters="tag=VIP"))
    assert vip == ["VIP Q1 a", "VIP Q1 b", "VIP Q3"]
    # the manager of Q1: the same filters, only their location's rows
    assert names_in(post_export(manager, csrf, scope="filtered", filters="tag=VIP")) == [
        "VIP Q1 a",
        "VIP Q1 b",
    ]
    # a location filter outside the manager's locations holds nobody, not Q3's rows
    assert (
        names_in(
            post_export(manager, csrf, scope="filtered", filters=f"tag=VIP&location={world.q3}")
        )
        == []
    )
    assert names_in(post_export(owner, csrf, scope="all")) == sorted(shop)
    # every immediate export is a done job on Downloads, nothing queued for the worker
    jobs = export_jobs(engine)
    assert [j.status for j in jobs] == ["done"] * 4
    assert all(j.params["delivery"] == "immediate" for j in jobs)
    assert [j.result["rows"] for j in jobs] == [3, 2, 0, 5]
    assert worker.run_pending(engine, app.config["DATA_DIR"]) == 0
    # audited like the job: the export (with its scope and filters) and its download
    exports = audit_rows(engine, "customers.export")
    assert [(r.user_id, r.details["rows"], r.details["filters"]) for r in exports[:2]] == [
        (world.users["owner"]["id"], 3, "tag=VIP"),
        (world.users["manager"]["id"], 2, "tag=VIP"),
    ]
    assert exports[1].details["location_scope"] == [world.q1]
    assert len(audit_rows(engine, "customers.export_download")) == 4
    assert audit_rows(engine, "customers.export_request") == []
    page = owner.get("/downloads").get_data(as_text=True)
    assert "3 matching the filters: tags VIP" in page
    # the file is on Downloads too, for its requester
    again = owner.get(f"/downloads/{jobs[0].id}")
    assert names_in(again) == vip


def test_selected_rows_download_at_once_and_the_selection_is_cleared(
    engine, world, shop, client_as, csrf
):
    owner = client_as("owner")
    token = csrf(owner, "/customers")
    picked = [shop["VIP Q3"], shop["Plain Q1"]]
    owner.post(
        "/customers/selection",
        data={"csrf_token": token, "list": "", "add": [str(i) for i in picked]},
    )
    assert names_in(post_export(owner, csrf, scope="selected")) == ["Plain Q1", "VIP Q3"]
    with engine.connect() as conn:
        left = conn.execute(sa.select(sa.func.count()).select_from(schema.customer_selections))
        assert left.scalar() == 0
    nothing = post_export(owner, csrf, scope="selected")
    assert nothing.status_code == 302 and "/customers" in nothing.headers["Location"]


def test_a_marketing_export_at_once_holds_only_current_consents(
    engine, world, shop, client_as, csrf
):
    with engine.begin() as conn:
        for cid, granted, at in (
            (shop["VIP Q1 a"], True, VISIT),
            (shop["VIP Q1 b"], True, VISIT),
            (shop["VIP Q1 b"], False, VISIT + timedelta(hours=1)),  # withdrawn since
        ):
            conn.execute(
                schema.consents.insert().values(
                    tenant_id=world.tenant_id, customer_id=cid, purpose="marketing",
                    granted=granted, text_version="m-v1", given_at=at, received_at=at,
                )
            )  # fmt: skip
    owner = client_as("owner")
    response = post_export(owner, csrf, scope="filtered", filters="tag=VIP", purpose="marketing")
    assert names_in(response) == ["VIP Q1 a"]
    (row,) = audit_rows(engine, "customers.export")
    assert row.details["purpose"] == "marketing"


def test_the_bound_counts_the_export_s_own_rows(
    monkeypatch, app, engine, world, shop, client_as, csrf
):
    """At the bound: the file; one row more: a job. Counted on the filtered, scoped rows."""
    monkeypatch.setattr(immediate, "IMMEDIATE_MAX_ROWS", 3)
    owner, manager = client_as("owner"), client_as("manager")
    # 5 customers in the tenant, 3 VIP: the filtered count decides, not the tenant's
    assert len(names_in(post_export(owner, csrf, scope="filtered", filters="tag=VIP"))) == 3
    # the manager sees 3 (Q1): at the bound
    assert len(names_in(post_export(manager, csrf, scope="all"))) == 3
    # everyone: 5 > 3, a job on Downloads
    queued = post_export(owner, csrf, scope="all")
    assert queued.status_code == 302 and queued.headers["Location"].endswith("/downloads")
    assert [j.status for j in export_jobs(engine)][-1] == "queued"
    assert worker.run_pending(engine, app.config["DATA_DIR"]) == 1
    job = export_jobs(engine)[-1]
    assert (job.status, job.result["rows"]) == ("done", 5)
    assert len(audit_rows(engine, "customers.export_request")) == 1


def test_the_real_bound_of_5000_rows(app, engine, world, client_as, csrf):
    """5,000 rows: the file at once; 5,001: a job."""
    assert immediate.IMMEDIATE_MAX_ROWS == 5_000
    now = utcnow()
    rows = [
        {"tenant_id": world.tenant_id, "name": f"K{i:05d}", "phone": f"+8490{i:07d}",
         "created_at": now, "updated_at": now}
        for i in range(5_001)
    ]  # fmt: skip
    with engine.begin() as conn:
        conn.execute(schema.customers.insert(), rows[:5_000])
    owner = client_as("owner")
    assert len(names_in(post_export(owner, csrf, scope="all"))) == 5_000
    with engine.begin() as conn:
        conn.execute(schema.customers.insert(), rows[5_000:])
    queued = post_export(owner, csrf, scope="all")
    assert queued.status_code == 302
    assert [j.status for j in export_jobs(engine)] == ["done", "queued"]


@pytest.mark.both_dbs
def test_an_export_out_of_time_becomes_a_job_and_leaves_nothing(
    monkeypatch, app, engine, world, shop, client_as, csrf
):
    monkeypatch.setattr(immediate, "IMMEDIATE_SECONDS", 0.0)
    owner = client_as("owner")
    queued = post_export(owner, csrf, scope="filtered", filters="tag=VIP")
    assert queued.status_code == 302 and queued.headers["Location"].endswith("/downloads")
    assert [j.status for j in export_jobs(engine)] == ["queued"]
    assert audit_rows(engine, "customers.export") == []
    folder = Path(app.config["DATA_DIR"], "exports", str(world.tenant_id))
    assert not folder.exists() or list(folder.iterdir()) == []  # no file, no work folder
    assert worker.run_pending(engine, app.config["DATA_DIR"]) == 1
    assert export_jobs(engine)[0].result["rows"] == 3


def test_a_bad_export_request_is_refused_with_a_message(world, client_as, csrf):
    owner = client_as("owner")
    response = post_export(owner, csrf, scope="everything")
    assert response.status_code == 302
    page = owner.get(response.headers["Location"]).get_data(as_text=True)
    assert re.search(r"Bad export request", page)


@pytest.mark.both_dbs
def test_a_statement_past_the_deadline_is_ended(engine):
    """The time bound is real: SQLite's progress handler, PostgreSQL's statement_timeout;
    the pooled connection keeps neither."""
    slow = sa.text(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 300000000) "
        "SELECT count(*) FROM n"
    )
    started = time.monotonic()
    with engine.connect() as conn, pytest.raises(limits.TooSlow):
        with limits.time_limit(conn, time.monotonic() + 0.3):
            conn.execute(slow).scalar()
    assert time.monotonic() - started < 5
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT 1")).scalar() == 1
        if conn.dialect.name == "postgresql":
            assert conn.execute(sa.text("SHOW statement_timeout")).scalar() == "0"
