"""The admin behind Debian's nginx, as the README sets it up, in front of real gunicorn.

Clients connect from different loopback addresses (127.0.0.2, 127.0.0.3 …);
nginx passes each one's address in X-Forwarded-For and the admin trusts one
proxy (``PORCHLIGHT_ADMIN_PROXY_COUNT=1``). What must hold:

- an attacker guessing passwords from one address (wrong passwords for an
  owner, then unknown accounts, with forged X-Forwarded-For headers) ends up
  refused at that address — and nobody else is: the owner signs in from
  another address at once, so does another tenant's owner;
- the account alone only slows down addresses that failed on it; a clean
  address is not slowed;
- the audit log shows each sign-in's real client address;
- enrollment attempts are limited per client address, not for everyone.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import sqlalchemy as sa
from requests.adapters import HTTPAdapter

from porchlight.admin import schema
from porchlight.admin.db import make_engine
from porchlight.admin.migrate import upgrade
from porchlight.admin.sync.guard import DEFAULT_LIMITS

pytestmark = [pytest.mark.nginx, pytest.mark.slow]

SECRET = "proxy-tests-secret-key-0123456789"
PASSWORD = "correct horse battery"
NGINX_CONF = """
daemon off;
master_process on;
worker_processes 1;
pid {prefix}/nginx.pid;
error_log stderr warn;
events {{ worker_connections 64; }}
http {{
    access_log off;
    client_body_temp_path {prefix}/body;
    proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi;
    uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;
    server {{
        listen 127.0.0.1:{port};
        server_name admin.example.com;
        client_max_body_size 50m;
        location / {{
            proxy_pass http://127.0.0.1:{upstream};
            proxy_set_header Host $host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto $scheme;
        }}
    }}
}}
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_http(url: str, proc: subprocess.Popen[bytes], log: Path, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"exited early: {log.read_text(errors='replace')[-2000:]}")
        try:
            requests.get(url, timeout=2)
            return
        except requests.RequestException:
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer: {log.read_text(errors='replace')[-2000:]}")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)


class _From(HTTPAdapter):
    """Connections leave from one local address (a client on 127.0.0.N)."""

    def __init__(self, address: str) -> None:
        self.address = address
        super().__init__()

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        kwargs["source_address"] = (self.address, 0)
        super().init_poolmanager(*args, **kwargs)


class Browser:
    def __init__(self, base: str, address: str) -> None:
        self.base = base
        self.session = requests.Session()
        self.session.mount("http://", _From(address))
        self.session.headers["Accept-Language"] = "en"

    def csrf(self, path: str = "/login") -> str:
        html = self.session.get(self.base + path, timeout=10).text
        start = html.index('name="csrf_token" value="') + len('name="csrf_token" value="')
        return html[start : html.index('"', start)]

    def sign_in(self, email: str, password: str, **headers: str) -> requests.Response:
        data = {"email": email, "password": password, "csrf_token": self.csrf()}
        return self.session.post(
            self.base + "/login", data=data, headers=headers, allow_redirects=False, timeout=10
        )


@pytest.fixture(scope="module")
def behind_nginx(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    root = tmp_path_factory.mktemp("proxy")
    url = f"sqlite:///{root / 'admin.db'}"
    engine = make_engine(url)
    upgrade(engine)
    people: dict[str, str] = {}
    from werkzeug.security import generate_password_hash

    hashed = generate_password_hash(PASSWORD)
    now = sa.func.current_timestamp()
    with engine.begin() as conn:
        for slug in ("acme", "bistro"):
            tid = conn.execute(
                schema.tenants.insert().values(slug=slug, name=slug, created_at=now)
            ).inserted_primary_key[0]
            email = f"owner@{slug}.test"
            conn.execute(
                schema.users.insert().values(
                    tenant_id=tid,
                    email=email,
                    password_hash=hashed,
                    role="owner",
                    locale="en",
                    created_at=now,
                )
            )
            people[slug] = email
    app_port, proxy_port = _free_port(), _free_port()
    env = {
        **os.environ,
        "PORCHLIGHT_ADMIN_SECRET_KEY": SECRET,
        "PORCHLIGHT_ADMIN_DATABASE_URL": url,
        "PORCHLIGHT_ADMIN_DATA_DIR": str(root / "data"),
        "PORCHLIGHT_ADMIN_PROXY_COUNT": "1",
    }
    gunicorn_log = root / "gunicorn.log"
    argv = [sys.executable, "-m", "gunicorn", "--workers", "2", "--bind"]
    argv += [f"127.0.0.1:{app_port}", "porchlight.admin.app:create_app()"]
    with gunicorn_log.open("wb") as log:
        gunicorn = subprocess.Popen(
            argv, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    prefix = root / "nginx"
    for sub in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (prefix / sub).mkdir(parents=True)
    conf = prefix / "nginx.conf"
    conf.write_text(NGINX_CONF.format(prefix=prefix, port=proxy_port, upstream=app_port))
    nginx_log = root / "nginx.log"
    with nginx_log.open("wb") as log:
        proxy = subprocess.Popen(
            [nginx, "-p", str(prefix), "-c", str(conf), "-e", "stderr"],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        _wait_http(f"http://127.0.0.1:{app_port}/login", gunicorn, gunicorn_log)
        _wait_http(f"http://127.0.0.1:{proxy_port}/login", proxy, nginx_log)
        yield {"base": f"http://127.0.0.1:{proxy_port}", "engine": engine, "people": people}
    finally:
        _stop(proxy)
        _stop(gunicorn)
        engine.dispose()


def test_an_attacker_locks_only_their_own_address(behind_nginx: dict[str, Any]) -> None:
    base, people = behind_nginx["base"], behind_nginx["people"]
    attacker = Browser(base, "127.0.0.2")
    refused = 0
    for i in range(40):
        email = people["acme"] if i < 9 else f"nobody{i}@acme.test"
        forged = {"X-Forwarded-For": f"198.51.100.{i}"}  # nginx appends the real address
        status = attacker.sign_in(email, "not the password", **forged).status_code
        assert status in (401, 429)
        refused += status == 429
    assert refused >= 40 - 20  # past 20 failures the address is refused
    assert attacker.sign_in(people["acme"], PASSWORD).status_code == 429

    owner = Browser(base, "127.0.0.3")
    assert owner.sign_in(people["acme"], PASSWORD).status_code == 302
    assert owner.session.get(base + "/customers", timeout=10).status_code == 200
    other_tenant = Browser(base, "127.0.0.4")
    assert other_tenant.sign_in(people["bistro"], PASSWORD).status_code == 302

    with behind_nginx["engine"].connect() as conn:
        rows = conn.execute(
            sa.select(schema.audit_log.c.action, schema.audit_log.c.ip).order_by(
                schema.audit_log.c.id
            )
        ).all()
    assert ("login", "127.0.0.3") in rows and ("login", "127.0.0.4") in rows
    assert {ip for action, ip in rows if action == "login_failed"} == {"127.0.0.2"}


def test_the_account_alone_slows_failing_addresses_and_never_locks(
    behind_nginx: dict[str, Any],
) -> None:
    base, email = behind_nginx["base"], behind_nginx["people"]["bistro"]
    for n in range(5, 9):  # 4 addresses x 3 failures: the account is past 8
        guesser = Browser(base, f"127.0.0.{n}")
        for _ in range(3):
            assert guesser.sign_in(email, "wrong wrong wrong").status_code in (401, 429)
    slowed = Browser(base, "127.0.0.9")
    assert slowed.sign_in(email, "wrong wrong wrong").status_code == 401
    again = slowed.sign_in(email, PASSWORD)
    assert again.status_code == 429 and int(again.headers["Retry-After"]) >= 1
    assert "Wait" in again.text
    manager_at_the_office = Browser(base, "127.0.0.10")
    assert manager_at_the_office.sign_in(email, PASSWORD).status_code == 302


def test_enrollment_is_limited_per_client_address(behind_nginx: dict[str, Any]) -> None:
    base = behind_nginx["base"]
    limit = DEFAULT_LIMITS["API_ENROLL_PER_MINUTE"]
    guesser, installer = Browser(base, "127.0.0.11"), Browser(base, "127.0.0.12")
    statuses = [
        guesser.session.post(base + "/api/v1/enroll", json={"code": "XXXX-XXXX"}, timeout=10)
        for _ in range(limit + 2)
    ]
    assert [r.status_code for r in statuses[:limit]] == [403] * limit
    assert statuses[-1].status_code == 429
    answer = installer.session.post(base + "/api/v1/enroll", json={"code": "YYYY"}, timeout=10)
    assert answer.status_code == 403  # refused for its code, not rate-limited
