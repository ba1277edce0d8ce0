"""The pages: import upload -> dry run -> confirm, exports, Downloads, roles, CSRF."""

from __future__ import annotations

import io
import re
from datetime import timedelta
from pathlib import Path

import openpyxl
import pytest
import sqlalchemy as sa
from builders import KIOTVIET_HEADERS, kiotviet_row, write_xlsx

from porchlight.admin import schema
from porchlight.admin.db import utcnow
from porchlight.admin.io import worker
from porchlight.admin.io.exports import immediate


@pytest.fixture
def through_downloads(monkeypatch):
    """Every export with a row goes through Downloads (the job path), as past 5,000 rows."""
    monkeypatch.setattr(immediate, "IMMEDIATE_MAX_ROWS", 0)


def run_worker(app) -> int:
    return worker.run_pending(app.extensions["porchlight.engine"], app.config["DATA_DIR"])


def audit_actions(engine) -> list[str]:
    with engine.connect() as conn:
        return [r.action for r in conn.execute(sa.select(schema.audit_log.c.action))]


def job_id_from(response) -> int:
    return int(re.search(r"/imports/(\d+)$", response.headers["Location"]).group(1))


def test_import_page_roles_and_formats_notice(client_as, world):
    page = client_as("owner").get("/imports/new")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "KiotViet, CukCuk, iPOS" in html and "Q1" in html and "Q3" in html
    manager = client_as("manager").get("/imports/new").get_data(as_text=True)
    assert "Q1" in manager and ">Q3<" not in manager
    assert client_as("viewer").get("/imports/new").status_code == 403


def test_sample_template_in_three_languages_imports_back(client_as, app, engine, world, tmp_path):
    client = client_as("owner")
    for lang, first in (("vi", "Tên khách hàng"), ("th", "ชื่อลูกค้า"), ("en", "Name")):
        response = client.get(f"/imports/template.xlsx?lang={lang}")
        assert response.status_code == 200
        sheet = openpyxl.load_workbook(io.BytesIO(response.data), read_only=True).active
        rows = list(sheet.iter_rows(values_only=True))
        assert rows[0][0] == first and rows[1][1] == "0912 345 678"
    path = tmp_path / "template.xlsx"
    path.write_bytes(client.get("/imports/template.xlsx?lang=th").data)
    from porchlight.admin.io.imports.job import import_file

    result = import_file(engine, path, tenant_id=world.tenant_id, location_id=world.q1)
    assert (result["layout"], result["add"], result["skip"]) == ("porchlight", 2, 0)


def test_upload_dry_run_confirm(client_as, app, engine, world, csrf, tmp_path):
    client = client_as("owner")
    token = csrf(client, "/imports/new")
    path = write_xlsx(
        tmp_path / "kv.xlsx",
        [
            KIOTVIET_HEADERS,
            kiotviet_row("K1", "Nguyễn Lan", "0912345678", groups="VIP"),
            kiotviet_row("K2", "Bình", "0912345679"),
            kiotviet_row("K3", "Sai", "12"),
        ],
    )
    response = client.post(
        "/imports",
        data={
            "csrf_token": token,
            "location_id": str(world.q1),
            "group_id": "",
            "encoding": "",
            "file": (path.open("rb"), "KiotViet khách.xlsx"),
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    dry_id = job_id_from(response)
    waiting = client.get(f"/imports/{dry_id}").get_data(as_text=True)
    assert 'http-equiv="refresh"' in waiting and "<progress" in waiting
    assert run_worker(app) == 1
    html = client.get(f"/imports/{dry_id}").get_data(as_text=True)
    assert re.search(r'id="count-add">2<', html) and re.search(r'id="count-skip">1<', html)
    assert "Not a valid phone number" in html or "not a valid phone number" in html
    assert 'id="confirm"' in html
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(schema.customers)).scalar() == 0

    assert client.post(f"/imports/{dry_id}/confirm").status_code == 400  # no CSRF token
    response = client.post(f"/imports/{dry_id}/confirm", data={"csrf_token": token})
    apply_id = job_id_from(response)
    assert run_worker(app) == 1
    html = client.get(f"/imports/{apply_id}").get_data(as_text=True)
    assert "Import finished." in html and re.search(r'id="count-add">2<', html)
    with engine.connect() as conn:
        names = set(conn.execute(sa.select(schema.customers.c.name)).scalars())
    assert names == {"Nguyễn Lan", "Bình"}
    assert {"customers.import_upload", "customers.import_confirm", "customers.import"} <= set(
        audit_actions(engine)
    )
    # the upload is gone once the apply job ended
    assert not list(Path(app.config["DATA_DIR"], "uploads").rglob("*.xlsx"))


def test_manager_cannot_import_into_another_location(client_as, world, csrf, tmp_path):
    client = client_as("manager")
    path = write_xlsx(tmp_path / "a.xlsx", [["Tên", "Điện thoại"], ["An", "0912345678"]])
    response = client.post(
        "/imports",
        data={
            "csrf_token": csrf(client, "/imports/new"),
            "location_id": str(world.q3),
            "file": (path.open("rb"), "a.xlsx"),
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 400


def test_mapping_step_on_the_page(client_as, app, engine, world, csrf, tmp_path):
    client = client_as("owner")
    token = csrf(client, "/imports/new")
    path = tmp_path / "odd.csv"
    path.write_text("Khách,Liên lạc\r\nAn,0912345678\r\n", encoding="utf-8")
    response = client.post(
        "/imports",
        data={
            "csrf_token": token,
            "location_id": str(world.q1),
            "file": (path.open("rb"), "odd.csv"),
        },
        content_type="multipart/form-data",
    )
    first = job_id_from(response)
    run_worker(app)
    html = client.get(f"/imports/{first}").get_data(as_text=True)
    assert 'id="mapping"' in html and "Liên lạc" in html and "0912345678" in html
    # the phone column is chosen from its values: the step starts from its best guess
    assert re.search(r'name="col1"[^>]*>.*?<option value="phone" selected>', html, re.S)
    response = client.post(
        f"/imports/{first}/mapping", data={"csrf_token": token, "col0": "name", "col1": "phone"}
    )
    second = job_id_from(response)
    run_worker(app)
    html = client.get(f"/imports/{second}").get_data(as_text=True)
    assert re.search(r'id="count-add">1<', html)


def test_export_request_downloads_page_notice_and_file(
    client_as, app, engine, world, factory, csrf, through_downloads
):
    factory.customer(
        world.tenant_id, "Lan", phone="+84912345678", visits=[(world.q1, utcnow(), "form")]
    )
    factory.customer(
        world.tenant_id, "Q3 only", phone="+84912345679", visits=[(world.q3, utcnow(), "form")]
    )
    owner = client_as("owner")
    token = csrf(owner, "/downloads")
    assert owner.post("/exports", data={"scope": "all", "format": "csv"}).status_code == 400
    response = owner.post("/exports", data={"csrf_token": token, "scope": "all", "format": "csv"})
    assert response.status_code == 302 and response.headers["Location"].endswith("/downloads")
    queued = owner.get("/downloads").get_data(as_text=True)
    assert "Queued" in queued and 'http-equiv="refresh"' in queued
    run_worker(app)
    notice = owner.get("/groups").get_data(as_text=True)
    assert "Your export is ready (2 customers)." in notice
    page = owner.get("/downloads").get_data(as_text=True)
    link = re.search(r'href="(/downloads/\d+)"', page).group(1)
    assert "Ready" in page
    assert "Your export is ready" not in owner.get("/groups").get_data(as_text=True)  # seen
    file = owner.get(link)
    assert file.status_code == 200 and file.data.startswith(b"\xef\xbb\xbf")
    assert "attachment" in file.headers["Content-Disposition"]
    assert file.data.decode("utf-8-sig").count("\r\n") == 3
    file.close()

    # a manager's export holds only their location's customers; others' files are not theirs
    manager = client_as("manager")
    assert manager.get(link).status_code == 404
    manager.post(
        "/exports",
        data={"csrf_token": csrf(manager, "/downloads"), "scope": "all", "format": "csv"},
    )
    run_worker(app)
    mine = re.search(r'href="(/downloads/\d+)"', manager.get("/downloads").get_data(as_text=True))
    response = manager.get(mine.group(1))
    body = response.data.decode("utf-8-sig")
    response.close()
    assert "Lan" in body and "Q3 only" not in body

    # a viewer (read-only) exports what the list shows them: the whole tenant
    viewer = client_as("viewer")
    viewer.post(
        "/exports", data={"csrf_token": csrf(viewer, "/downloads"), "scope": "all", "format": "csv"}
    )
    run_worker(app)
    theirs = re.search(r'href="(/downloads/\d+)"', viewer.get("/downloads").get_data(as_text=True))
    response = viewer.get(theirs.group(1))
    assert response.data.decode("utf-8-sig").count("\r\n") == 3
    response.close()

    with engine.begin() as conn:
        conn.execute(schema.jobs.update().values(expires_at=utcnow() - timedelta(minutes=1)))
    assert owner.get(link).status_code == 410
    assert "customers.export_download" in audit_actions(engine)
    assert "customers.export_request" in audit_actions(engine)


def test_selected_and_filtered_export_from_the_list_form(
    client_as, app, engine, world, factory, csrf, through_downloads
):
    a = factory.customer(world.tenant_id, "Chọn", phone="+84912000001", tags=["VIP"])
    factory.customer(world.tenant_id, "Khác", phone="+84912000002")
    owner = client_as("owner")
    token = csrf(owner, "/downloads")
    # "selected" is what is ticked on that list (stored), not ids the form sends
    owner.post("/customers/selection", data={"csrf_token": token, "list": "", "add": str(a)})
    owner.post(
        "/exports",
        data={"csrf_token": token, "scope": "selected", "ids": "1,2,3", "format": "xlsx"},
    )
    owner.post(
        "/exports",
        data={
            "csrf_token": token,
            "scope": "filtered",
            "filters": "tag=VIP&sort=bogus",
            "format": "csv",
        },
    )
    nothing = owner.post(
        "/exports", data={"csrf_token": token, "scope": "selected", "ids": "", "format": "csv"}
    )
    assert nothing.status_code == 302 and "/customers" in nothing.headers["Location"]
    assert run_worker(app) == 2
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(schema.jobs.c.params, schema.jobs.c.result).order_by(schema.jobs.c.id)
        ).all()
    assert [r.result["rows"] for r in rows] == [1, 1]
    assert rows[1].params["filters"] == "tag=VIP"


def test_dry_run_page_shows_rows_as_saved_merges_and_warnings(
    client_as, app, engine, world, factory, csrf, tmp_path
):
    factory.customer(world.tenant_id, "Lan (Wi-Fi)", phone="+84912000001")
    client = client_as("manager")
    listing = client.get("/customers").get_data(as_text=True)
    assert 'id="import-button"' in listing and 'href="/imports/new"' in listing
    token = csrf(client, "/imports/new")
    path = write_xlsx(
        tmp_path / "kv.xlsx",
        [
            KIOTVIET_HEADERS,
            kiotviet_row("K1", "Nguyễn Lan", "0912345678", spend=100, email="lan@@x"),
            kiotviet_row("K2", "Lan POS", "0912000001"),
            kiotviet_row("K3", "Lan cũ", "+84912345678", spend=50),
        ],
    )
    response = client.post(
        "/imports",
        data={
            "csrf_token": token,
            "location_id": str(world.q1),
            "file": (path.open("rb"), "k.xlsx"),
        },
        content_type="multipart/form-data",
    )
    dry_id = job_id_from(response)
    run_worker(app)
    html = client.get(f"/imports/{dry_id}").get_data(as_text=True)
    assert re.search(r'id="count-add">1<', html) and re.search(r'id="count-merge">2<', html)
    add = html[html.index('id="preview-add"') : html.index('id="preview-merge"')]
    assert "Nguyễn Lan" in add and "K1, K3" in add and "150.00" in add
    merge = html[html.index('id="preview-merge"') : html.index('id="merged-rows"')]
    assert "Lan POS" in merge and "Lan (Wi-Fi)" in merge
    assert "Row 4 merged into row 2" in html
    warnings = html[html.index('id="row-warnings"') :]
    assert "lan@@x" in warnings
