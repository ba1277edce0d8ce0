"""`porchlight admin` commands: migrate, demo, create-*, reset-password, serve."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from porchlight.admin import schema
from porchlight.admin.db import make_engine
from porchlight.cli import main


@pytest.fixture
def env_db(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("PORCHLIGHT_ADMIN_DATABASE_URL", url)
    monkeypatch.delenv("PORCHLIGHT_ADMIN_SECRET_KEY", raising=False)
    return url


def _json(capsys):
    return json.loads(capsys.readouterr().out)


def test_demo_is_idempotent_and_its_password_signs_in(env_db, capsys, tmp_path):
    assert main(["admin", "demo", "--json"]) == 0
    first = _json(capsys)
    assert first["email"] and len(first["password"]) >= 12 and first["created"] is True
    assert first["url"].endswith("/login") and first["location"] == "Lab Café"
    assert main(["admin", "demo", "--json"]) == 0
    second = _json(capsys)
    assert second["created"] is False and second["password"] != first["password"]

    from porchlight.admin.app import create_app

    app = create_app({"SECRET_KEY": "x" * 32, "DATABASE_URL": env_db})
    client = app.test_client()
    import re

    html = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
    resp = client.post(
        "/login",
        data={"email": second["email"], "password": second["password"], "csrf_token": token},
    )
    assert resp.status_code == 302 and resp.headers["Location"] == "/"
    engine = make_engine(env_db)
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(schema.tenants)).scalar() == 1
        groups = conn.execute(sa.select(schema.groups.c.name)).scalars().all()
    assert set(groups) == {"Member", "Silver", "VIP"}
    app.extensions["porchlight.engine"].dispose()


def test_create_tenant_location_manager_and_reset(env_db, capsys):
    assert main(["admin", "migrate"]) == 0
    assert main(["admin", "create-tenant", "pho-24", "--name", "Phở 24", "--json"]) == 0
    capsys.readouterr()
    assert (
        main(
            ["admin", "create-location", "--tenant", "pho-24", "--name", "Q1", "--province", "HCM"]
        )
        == 0
    )
    capsys.readouterr()
    code = main(
        ["admin", "create-user", "--tenant", "pho-24", "--email", "M@x.vn", "--role", "manager"]
    )
    assert code == 2  # a manager without a location
    assert "needs at least one --location" in capsys.readouterr().err
    args = ["admin", "create-user", "--tenant", "pho-24", "--email", "M@x.vn"]
    assert main([*args, "--role", "manager", "--location", "Q1", "--json"]) == 0
    made = _json(capsys)
    assert made["email"] == "m@x.vn" and made["password"]
    assert main(["admin", "reset-password", "m@x.vn", "--json"]) == 0
    assert _json(capsys)["password"] != made["password"]
    assert main(["admin", "reset-password", "nobody@x.vn"]) == 1
    assert capsys.readouterr().err.strip() == "porchlight: no user 'nobody@x.vn'"


def test_bad_input_is_one_line(env_db, capsys):
    main(["admin", "migrate"])
    assert main(["admin", "create-tenant", "Bad Slug!"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    main(["admin", "create-tenant", "ok"])
    capsys.readouterr()
    assert (
        main(
            ["admin", "create-location", "--tenant", "ok", "--name", "A", "--timezone", "Mars/Base"]
        )
        == 2
    )
    assert "unknown timezone" in capsys.readouterr().err


def test_serve_refuses_without_a_secret(env_db, capsys):
    assert main(["admin", "serve", "--bind", "127.0.0.1:0"]) == 1
    assert "secret key" in capsys.readouterr().err


@pytest.mark.slow
def test_serve_runs_gunicorn_and_answers(env_db, monkeypatch, tmp_path):
    import os
    import signal
    import socket
    import subprocess
    import sys
    import time
    import urllib.request

    assert main(["admin", "migrate"]) == 0
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "PORCHLIGHT_ADMIN_SECRET_KEY": "s" * 32}
    proc = subprocess.Popen(
        [sys.executable, "-m", "porchlight.cli", "admin", "serve", "--bind", f"127.0.0.1:{port}",
         "--bind", f"unix:{tmp_path / 'admin.sock'}", "--workers", "1"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/login", timeout=2) as resp:
                    body = resp.read().decode()
                break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise
                time.sleep(0.3)
        assert "csrf_token" in body and resp.headers["X-Frame-Options"] == "DENY"
        assert (tmp_path / "admin.sock").exists()
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=20)
