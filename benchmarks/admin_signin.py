"""What a sign-in costs with the limits of admin/signin_limits.py, and what the limits add.

    .venv/bin/python benchmarks/admin_signin.py [--rounds 40] [--pg URL] [--json]

Through the real app (Flask test client, CSRF on, a real SQLite or
PostgreSQL database): a correct sign-in (limits checked, counters cleared,
a server-side session started), a wrong password (limits checked, three
counters written), and the limit check alone (`signin_limits.check`) and the
session look-up every request makes (`sessions.load`). The password hash
(werkzeug's scrypt) dominates the first two on purpose.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import tempfile
import time
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from werkzeug.security import generate_password_hash

from porchlight.admin import migrate, schema, sessions, signin_limits
from porchlight.admin.app import create_app
from porchlight.admin.db import make_engine, utcnow

PASSWORD = "correct horse battery"
_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


def _ms(run: Callable[[int], None], rounds: int) -> dict[str, float]:
    times = []
    for i in range(rounds):
        start = time.perf_counter()
        run(i)
        times.append((time.perf_counter() - start) * 1000)
    times.sort()
    return {"p50": statistics.median(times), "p95": times[int(len(times) * 0.95) - 1]}


def measure(url: str, rounds: int) -> dict[str, dict[str, float]]:
    engine = make_engine(url)
    migrate.upgrade(engine)
    with engine.begin() as conn:
        tid = conn.execute(
            schema.tenants.insert().values(slug=f"b{time.time_ns()}", name="b", created_at=utcnow())
        ).inserted_primary_key[0]
        email = f"owner{time.time_ns()}@bench.test"
        uid = conn.execute(
            schema.users.insert().values(
                tenant_id=tid,
                email=email,
                password_hash=generate_password_hash(PASSWORD),
                role="owner",
                locale="en",
                created_at=utcnow(),
            )
        ).inserted_primary_key[0]
    app = create_app({"SECRET_KEY": "bench-secret-key-0123456789", "DATABASE_URL": url})
    app.config.update(LOGIN_LIMIT_PER_IP=10**9, LOGIN_LIMIT_PER_ACCOUNT_ADDRESS=10**9)

    def sign_in(password: str) -> Callable[[int], None]:
        def run(i: int) -> None:
            client = app.test_client()
            client.environ_base["REMOTE_ADDR"] = f"10.1.{i // 250}.{i % 250}"
            html = client.get("/login").get_data(as_text=True)
            token = _TOKEN.search(html).group(1)  # type: ignore[union-attr]
            data = {"email": email, "password": password, "csrf_token": token}
            status = client.post("/login", data=data).status_code
            assert status == (302 if password == PASSWORD else 401), status

        return run

    def check(i: int) -> None:
        with engine.connect() as conn:
            signin_limits.check(conn, email, f"10.2.0.{i % 250}", app.config)

    with engine.begin() as conn:
        session_id = sessions.start(conn, int(uid))

    def load(i: int) -> None:
        with engine.begin() as conn:
            assert sessions.load(conn, session_id) is not None

    figures = {
        "sign-in, right password": _ms(sign_in(PASSWORD), rounds),
        "sign-in, wrong password": _ms(sign_in("wrong password!"), rounds),
        "limit check alone": _ms(check, rounds * 10),
        "session look-up (every request)": _ms(load, rounds * 10),
    }
    with engine.begin() as conn:
        conn.execute(sa.delete(schema.rate_limits))
    app.extensions["porchlight.engine"].dispose()
    engine.dispose()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=40)
    parser.add_argument("--pg", help="a PostgreSQL URL to measure too")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    out: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        out["sqlite"] = measure(f"sqlite:///{tmp}/bench.db", args.rounds)
    if args.pg:
        out["postgresql"] = measure(args.pg, args.rounds)
    if args.json:
        print(json.dumps(out, indent=2))
        return
    for db, figures in out.items():
        for name, ms in figures.items():
            print(f"{db:>10}  {name:<34} p50 {ms['p50']:7.2f} ms   p95 {ms['p95']:7.2f} ms")


if __name__ == "__main__":
    main()
