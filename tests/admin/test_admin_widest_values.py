"""A page never fails because of stored data.

The sync API stores the widest values it accepts (times at both ends of the
admin's window, 2^53 - 1 bytes, the longest texts with tabs, newlines, emoji,
Thai, Arabic, combining marks and formula starts, 20 tags, 10 consents), and
a heartbeat with the widest status; then the owner and a manager fetch every
page of the admin and export in both formats, from the web and the CLI.
Older data may hold control characters the API now refuses: the CSV export
never carries one.
"""

from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
import uuid
import zipfile
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from pagekit import page_urls

from porchlight import bounds
from porchlight.admin import schema
from porchlight.admin.db import utcnow
from porchlight.admin.io.worker import run_pending
from porchlight.admin.sync.enrollment import create_router, enroll
from porchlight.events import MAX_DWELL, MAX_TAGS, TEXT_LIMITS

TEXT = "=HYPERLINK(1)\tNguyễn Thị\nลูกค้า عربي 🙂 e\u0301 " * 10


def _iso(delta: timedelta) -> str:
    return (utcnow() + delta).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _text(limit: int) -> str:
    return (TEXT * 2)[:limit].strip() or "x"


def _login(when: str, phone: str, session_id: str, mac: str) -> dict[str, Any]:
    return {
        "id": str(uuid.uuid4()),
        "type": "login",
        "occurred_at": when,
        "mac": mac,
        "data": {
            "session_id": session_id,
            "channel": "zalo",
            "name": _text(200),
            "phone": phone,
            "email": ("e" * 180 + "@example.vn")[:200],
            "social_id": _text(200),
            "tags": [f"{i:02d}" + _text(48) for i in range(MAX_TAGS)],
            "consents": [
                {"purpose": p, "granted": i % 2 == 0, "text_version": _text(200)}
                for i, p in enumerate(["wifi", "marketing"] * 5)
            ],
            "device": {
                "ip": "2001:db8:ffff:ffff:ffff:ffff:255.255.255.255"[: TEXT_LIMITS["ip"]],
                "hostname": _text(200),
                "vendor_class": _text(200),
                "randomized": True,
            },
            "voucher": "V" * TEXT_LIMITS["voucher"],
        },
    }


def _widest_events() -> list[dict[str, Any]]:
    future = _iso(bounds.MAX_AHEAD - timedelta(minutes=2))
    past = _iso(-bounds.MAX_PAST + timedelta(hours=1))
    events = []
    for n, when in enumerate((future, past)):
        sid = f"{n}" + "s" * (TEXT_LIMITS["session_id"] - 1)
        mac = f"aa:bb:cc:dd:ee:0{n}"
        events.append(_login(when, f"+8491234567{n}", sid, mac))
        events.append(
            {
                "id": str(uuid.uuid4()),
                "type": "session_start",
                "occurred_at": when,
                "mac": mac,
                "data": {"session_id": sid, "expires_at": future},
            }
        )
        events.append(
            {
                "id": str(uuid.uuid4()),
                "type": "session_end",
                "occurred_at": when,
                "mac": mac,
                "data": {
                    "session_id": sid,
                    "started_at": past,
                    "ended_at": future,
                    "dwell_seconds": MAX_DWELL,
                    "bytes_in": bounds.MAX_SAFE_INT,
                    "bytes_out": bounds.MAX_SAFE_INT,
                    "reason": "r" * TEXT_LIMITS["reason"],
                },
            }
        )
    return events


@pytest.fixture
def stored(app: Any, world: Any, engine: sa.Engine) -> dict[str, int]:
    with engine.begin() as conn:
        _rid, code = create_router(conn, world.q1, "router " + _text(100))
        router, token = enroll(conn, code, hostname=_text(200), agent_version=_text(40))
    client = app.test_client()
    auth = {"Authorization": f"Bearer {token}"}
    answer = client.post("/api/v1/events", json={"events": _widest_events()}, headers=auth)
    assert answer.status_code == 200, answer.get_data(as_text=True)
    beat = {
        "agent_version": _text(40),
        "uptime_seconds": bounds.MAX_SAFE_INT,
        "clients_online": bounds.MAX_INT32,
        "outbox_depth": bounds.MAX_INT32,
        "config_etag": _text(80),
        "rejected_events": bounds.MAX_INT32,
        "rejected_reason": _text(200),
        "clock": _iso(timedelta(days=-20000)),
    }
    assert client.post("/api/v1/heartbeat", json=beat, headers=auth).status_code == 200
    with engine.begin() as conn:
        c = schema.customers
        customer = conn.execute(sa.select(c.c.id).order_by(c.c.id)).scalars().first()
        # Older data may hold what the API now refuses: control characters.
        conn.execute(
            c.update()
            .where(c.c.id == customer)
            .values(notes="bell\x07 esc\x1b nul-free \x7f del \x85 next-line", province="Q\x01")
        )
    assert customer is not None
    return {"customer_id": int(customer), "location_id": world.q1, "router_id": router.router_id}


def _variants(location_id: int) -> list[str]:
    out = [f"/customers?sort={s}" for s in ("visits", "spend", "spend_desc", "name", "last_visit")]
    out += [f"/customers?location={location_id}&sort={s}" for s in ("visits", "last_visit")]
    out += ["/customers?tag=00" + _text(48), "/customers?channel=zalo&visits_min=1"]
    out += ["/customers/count?updated_from=2000-01-01&updated_to=2100-12-31"]
    return out


@pytest.mark.both_dbs
@pytest.mark.parametrize("role", ["owner", "manager"])
def test_every_page_answers_with_the_widest_stored_values(
    app: Any, client_as: Any, stored: dict[str, int], role: str
) -> None:
    client = client_as(role)
    urls = page_urls(app, stored) + _variants(stored["location_id"])
    assert len(urls) > 20
    failed = {}
    for url in urls:
        response = client.get(url)
        if response.status_code >= 500 or response.status_code == 404:
            failed[url] = response.status_code
    assert not failed


def _csv_text(path: Path) -> str:
    if path.suffix == ".zip":
        with zipfile.ZipFile(path) as zf:
            return "".join(zf.read(n).decode("utf-8-sig") for n in zf.namelist())
    return path.read_text(encoding="utf-8-sig")


def _no_controls(text: str) -> None:
    bad = {ch for ch in text if (ord(ch) < 32 and ch not in "\t\n\r") or 0x7F <= ord(ch) <= 0x9F}
    assert not bad, sorted(map(ord, bad))


@pytest.mark.both_dbs
@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_both_export_formats_from_the_web_and_the_cli(
    app: Any, owner_client: Any, csrf: Any, stored: dict[str, int], fmt: str, tmp_path: Path
) -> None:
    token = csrf(owner_client, "/customers")
    resp = owner_client.post("/exports", data={"scope": "all", "format": fmt, "csrf_token": token})
    assert resp.status_code == 200  # two rows: the file at once
    at_once = resp.get_data()
    resp.close()
    engine = app.extensions["porchlight.engine"]
    assert run_pending(engine, app.config["DATA_DIR"]) == 0
    with engine.connect() as conn:
        job = conn.execute(sa.select(schema.jobs).order_by(schema.jobs.c.id.desc())).first()
    assert job.status == "done", job.error
    download = owner_client.get(f"/downloads/{job.id}")
    assert download.status_code == 200
    data = download.get_data()
    download.close()
    assert data == at_once
    assert owner_client.get("/downloads").status_code == 200
    if fmt == "csv":
        text = data.decode("utf-8-sig")
        _no_controls(text)
        rows = list(csv.reader(io.StringIO(text)))
        assert len(rows) == 3  # the header and the two customers
        assert any("bell esc nul-free  del  next-line" in cell for cell in rows[1] + rows[2])
    else:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            assert "xl/worksheets/sheet1.xml" in zf.namelist()
    out = tmp_path / "cli"
    env = {**os.environ, "PORCHLIGHT_ADMIN_DATABASE_URL": app.config["DATABASE_URL"]}
    args = ["admin", "export", "--tenant", "acme", "--format", fmt, "--out", str(out)]
    code = "import sys; from porchlight.cli import main; sys.exit(main(sys.argv[1:]))"
    done = subprocess.run([sys.executable, "-c", code, *args], env=env, capture_output=True)
    assert done.returncode == 0, done.stderr.decode(errors="replace")
    files = list(out.iterdir())
    assert len(files) == 1
    if fmt == "csv":
        _no_controls(_csv_text(files[0]))
