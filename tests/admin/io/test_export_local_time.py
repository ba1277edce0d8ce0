"""Export file names and the Downloads page in the tenant's (or location's) local time,
and the audit log naming an export with its filters in the reader's language."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from porchlight.admin import schema, sessions
from porchlight.admin.db import utcnow
from porchlight.admin.io import worker
from porchlight.admin.io.exports import immediate
from porchlight.admin.io.exports.local_time import export_zone, file_stem, zone_words

BANGKOK = ZoneInfo("Asia/Bangkok")
# 18:45 UTC on 6 December is 01:45 on 7 December in Bangkok: the dates differ.
ASKED = datetime(2026, 12, 6, 18, 45, tzinfo=UTC)
VISIT = datetime(2026, 12, 6, 17, 10, tzinfo=UTC)  # 00:10 on 7 December in Bangkok


def sign_in(client, user):
    """`user` signed in on `client` (a server-side session, as tests/admin/conftest.py does)."""
    with client.application.extensions["porchlight.engine"].begin() as conn:
        session_id = sessions.start(conn, user["id"])
    with client.session_transaction() as sess:
        sess["_user_id"] = session_id
        sess["_fresh"] = True
    return client


@pytest.fixture
def bangkok(factory):
    tenant = factory.tenant("siam", "Siam Coffee")
    with factory.engine.begin() as conn:
        conn.execute(
            schema.tenants.update().where(schema.tenants.c.id == tenant).values(country="TH")
        )
    place = factory.location(tenant, "Sukhumvit", country="TH", timezone="Asia/Bangkok")
    factory.customer(tenant, "สมชาย", phone="+66812345678", visits=[(place, VISIT, "form")])
    owner = factory.user(tenant, "owner", locale="th")
    return {"tenant": tenant, "place": place, "owner": owner}


def test_file_stem_is_local_time_to_the_minute():
    assert file_stem(ASKED, BANGKOK) == "customers-2026-12-07-0145"
    assert file_stem(ASKED, ZoneInfo("UTC")) == "customers-2026-12-06-1845"
    assert zone_words(BANGKOK, ASKED) == "Asia/Bangkok (UTC+7)"
    assert zone_words(ZoneInfo("Asia/Kolkata"), ASKED) == "Asia/Kolkata (UTC+5:30)"


def test_the_zone_is_the_locations_when_they_share_one(engine, factory, world):
    with engine.connect() as conn:
        assert export_zone(conn, world.tenant_id).key == "Asia/Ho_Chi_Minh"
    # a Vietnamese tenant whose only locations are in Bangkok tells Bangkok time
    tenant = factory.tenant("vn-in-th")
    factory.location(tenant, "A", timezone="Asia/Bangkok")
    factory.location(tenant, "B", timezone="Asia/Bangkok")
    with engine.connect() as conn:
        assert export_zone(conn, tenant).key == "Asia/Bangkok"
    elsewhere = factory.location(tenant, "Tokyo", timezone="Asia/Tokyo")
    with engine.connect() as conn:
        assert export_zone(conn, tenant).key == "Asia/Ho_Chi_Minh"  # mixed: the tenant's
        assert export_zone(conn, tenant, [elsewhere]).key == "Asia/Tokyo"  # one location's


@pytest.mark.both_dbs
def test_a_job_s_file_name_and_downloads_in_bangkok_time(monkeypatch, app, engine, bangkok, csrf):
    monkeypatch.setattr(immediate, "IMMEDIATE_MAX_ROWS", 0)  # through Downloads
    client = sign_in(app.test_client(), bangkok["owner"])
    token = csrf(client, "/customers")
    response = client.post("/exports", data={"csrf_token": token, "scope": "all", "format": "csv"})
    assert response.status_code == 302
    j = schema.jobs.c
    with engine.begin() as conn:
        conn.execute(schema.jobs.update().values(created_at=ASKED))
        assert conn.execute(sa.select(j.params)).scalar()["zone"] == "Asia/Bangkok"
    assert worker.run_pending(engine, app.config["DATA_DIR"]) == 1
    with engine.connect() as conn:
        job = conn.execute(sa.select(schema.jobs)).one()
    assert job.result["file_name"] == "customers-2026-12-07-0145.csv"
    download = client.get(f"/downloads/{job.id}")
    assert "filename=customers-2026-12-07-0145.csv" in download.headers["Content-Disposition"]
    body = download.get_data().decode("utf-8-sig")
    download.close()
    assert "2026-12-07 00:10" in body  # the visit, in Bangkok time like the name
    page = client.get("/downloads").get_data(as_text=True)
    row = page[page.index('id="exports"') :]
    assert "07/12/2026 01:45" in row  # asked at, Thai order, Bangkok time
    assert "Asia/Bangkok (UTC+7)" in page
    assert "06/12/2026 18:45" not in row


def test_an_immediate_file_is_named_in_local_time(app, engine, bangkok, csrf):
    client = sign_in(app.test_client(), bangkok["owner"])
    token = csrf(client, "/customers")
    before = utcnow()
    response = client.post("/exports", data={"csrf_token": token, "scope": "all", "format": "xlsx"})
    after = utcnow()
    assert response.status_code == 200 and response.get_data()
    response.close()
    names = {f"filename={file_stem(t, BANGKOK)}.xlsx" for t in (before, after)}
    assert any(n in response.headers["Content-Disposition"] for n in names)


@pytest.fixture
def branch(factory, world, engine):
    """Lan (owner, vi), a Thai-speaking owner, VIP customers at "Chi nhánh 03"."""
    cn03 = factory.location(world.tenant_id, "Chi nhánh 03")
    g = schema.groups.c
    with engine.begin() as conn:
        vip = conn.execute(
            sa.select(g.id).where(g.tenant_id == world.tenant_id, g.name == "VIP")
        ).scalar()
    for i in range(2):
        factory.customer(world.tenant_id, f"VIP {i}", phone=f"+8491200000{i}", group_id=vip,
                         visits=[(cn03, VISIT, "zalo")])  # fmt: skip
    factory.customer(world.tenant_id, "VIP Q1", phone="+84912000009", group_id=vip,
                     visits=[(world.q1, VISIT, "form")])  # fmt: skip
    lan = factory.user(world.tenant_id, "owner", locale="vi")
    somchai = factory.user(world.tenant_id, "owner", locale="th")
    with engine.begin() as conn:
        for user, name in ((lan, "Lan"), (somchai, "Somchai")):
            conn.execute(schema.users.update().where(schema.users.c.id == user["id"])
                         .values(name=name))  # fmt: skip
    return {"cn03": cn03, "vip": vip, "lan": lan, "somchai": somchai}


def test_the_audit_log_names_the_export_and_its_filters_in_vi_and_th(
    monkeypatch, app, engine, world, branch, csrf
):
    lan = sign_in(app.test_client(), branch["lan"])
    token = csrf(lan, "/customers")
    filters = f"group={branch['vip']}&location={branch['cn03']}"
    response = lan.post(
        "/exports",
        data={"csrf_token": token, "scope": "filtered", "filters": filters, "format": "xlsx"},
    )
    assert response.status_code == 200 and response.get_data()
    response.close()
    # more filters: channel, consent, dates (nobody matches: still the file, 0 rows)
    more = "channel=zalo&consent=marketing&updated_from=2026-11-01&updated_to=2026-11-30"
    empty = lan.post(
        "/exports",
        data={"csrf_token": token, "scope": "filtered", "filters": more, "format": "csv"},
    )
    assert empty.status_code == 200 and empty.get_data()
    empty.close()
    # a job (past the bound) is named when it is asked for
    monkeypatch.setattr(immediate, "IMMEDIATE_MAX_ROWS", 0)
    queued = lan.post(
        "/exports",
        data={"csrf_token": token, "scope": "filtered", "filters": "channel=zalo&visits_min=1"},
    )
    assert queued.status_code == 302
    # renamed later: the log keeps the name the export had
    with engine.begin() as conn:
        conn.execute(schema.locations.update().where(schema.locations.c.id == branch["cn03"])
                     .values(name="Chi nhánh 3 (mới)"))  # fmt: skip
    vi = lan.get("/audit").get_data(as_text=True)
    assert "Lan đã xuất 2 khách hàng (VIP, Chi nhánh 03) dạng XLSX" in vi
    assert (
        "Lan đã xuất 0 khách hàng (vào qua Zalo, đã đồng ý nhận tiếp thị, "
        "cập nhật 01/11/2026 – 30/11/2026) dạng CSV" in vi
    )
    assert "Lan đã yêu cầu xuất khách hàng (vào qua Zalo, ít nhất 1 lượt ghé) dạng XLSX" in vi
    assert "Lan đã tải về tệp xuất 2 khách hàng" in vi
    somchai = sign_in(app.test_client(), branch["somchai"])
    th = somchai.get("/audit").get_data(as_text=True)
    assert "Lan ส่งออกลูกค้า 2 ราย (VIP, Chi nhánh 03) เป็น XLSX" in th
    assert "(เข้าผ่าน Zalo, ยินยอมรับการตลาด, อัปเดต 01/11/2026 – 30/11/2026) เป็น CSV" in th
    assert "Lan ขอส่งออกลูกค้า (เข้าผ่าน Zalo, เข้าใช้อย่างน้อย 1 ครั้ง) เป็น XLSX" in th
    # the log's times are the tenant's (Hồ Chí Minh), not chosen by the reader's language
    assert "Asia/Ho_Chi_Minh (UTC+7)" in th and "Asia/Ho_Chi_Minh (UTC+7)" in vi
    for page in (vi, th):
        details = re.findall(r'<td class="details">(.*?)</td>', page, re.S)
        assert details and not any(
            key in text for text in details for key in ("group=", "location=", "{", "zalo&")
        )


def test_an_export_of_a_deleted_group_still_reads_in_words(engine, world, owner_client):
    with engine.begin() as conn:
        conn.execute(
            schema.audit_log.insert().values(
                tenant_id=world.tenant_id, user_id=world.users["owner"]["id"],
                action="customers.export", target_type="job", target_id="9",
                details={"rows": 4, "format": "csv", "scope": "filtered",
                         "filters": f"group=999&location={world.q3}&visits_min=5"},
                at=utcnow() - timedelta(minutes=1),
            )
        )  # fmt: skip
    page = owner_client.get("/audit").get_data(as_text=True)
    assert "Owner exported 4 customers (#999 (deleted), Q3, at least 5 visits) as CSV" in page
