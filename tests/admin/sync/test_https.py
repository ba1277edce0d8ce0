"""Enrollment and sync over real TLS on loopback: certificates are checked."""

from __future__ import annotations

import shutil
import ssl
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from synckit import Venue, count, fill_outbox, guest_events
from werkzeug.serving import make_server

from porchlight.admin.sync.enrollment import create_router
from porchlight.agent.enroll import enroll
from porchlight.agent.store import db_path, open_db, outbox_depth
from porchlight.agent.sync import SyncWorker
from porchlight.agent.sync_http import AdminUnreachable


@pytest.fixture
def tls_admin(db_url: str, tmp_path: Path) -> Iterator[tuple[str, Path]]:
    if shutil.which("openssl") is None:
        pytest.skip("needs the openssl binary to make a test certificate")
    from porchlight.admin.app import create_app

    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    app = create_app({"SECRET_KEY": "sync-tests-secret-key-0123456789", "DATABASE_URL": db_url})
    server = make_server("127.0.0.1", 0, app, threaded=True, ssl_context=context)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"https://127.0.0.1:{server.server_port}", cert
    finally:
        server.shutdown()
        thread.join(5)
        app.extensions["porchlight.engine"].dispose()


def test_enroll_and_sync_over_https(
    tls_admin: tuple[str, Path], engine: Engine, venue: Venue, tmp_path: Path
) -> None:
    url, cert = tls_admin
    with engine.begin() as conn:
        _rid, code = create_router(conn, venue.location_id, "tls box")
    state = tmp_path / "router"
    with pytest.raises(AdminUnreachable, match="CERTIFICATE_VERIFY_FAILED"):
        enroll(url, code, state)  # an unknown certificate is refused
    assert not (state / "device-token").exists()
    enroll(url, code, state, ca_file=str(cert))
    db = open_db(db_path(state))
    fill_outbox(db, guest_events(10))
    worker = SyncWorker(str(db_path(state)), str(state))
    assert worker.run_once()["events"] == 30
    assert outbox_depth(db) == 0
    assert count(engine, "visits", "location_id = :l", l=venue.location_id) == 10
