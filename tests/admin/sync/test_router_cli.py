"""`porchlight admin router-*` and `porchlight agent enroll`, end to end."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import requests
from sqlalchemy.engine import Engine
from synckit import Venue, count

from porchlight.agent.store import db_path
from porchlight.agent.sync import SyncWorker
from porchlight.agent.sync_config import RetryLater
from porchlight.cli import main


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    rc = main(list(argv))
    out, err = capsys.readouterr()
    return rc, out, err


def test_router_add_enroll_list_rotate_revoke(
    live_admin,
    engine: Engine,
    venue: Venue,
    db_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("PORCHLIGHT_ADMIN_DATABASE_URL", db_url)
    monkeypatch.setenv("PORCHLIGHT_ADMIN_PUBLIC_URL", live_admin.url)
    rc, out, _ = _run(
        capsys, "admin", "router-add", "--tenant", venue.slug, "--location", "Café Q1",
        "--name", "bar", "--json",
    )  # fmt: skip
    assert rc == 0
    added = json.loads(out)
    assert added["install_command"] == (
        f"porchlight agent enroll {live_admin.url} {added['code']} "
        "--state-dir /var/lib/porchlight/agent"
    )
    state = tmp_path / "state"
    rc, out, _ = _run(
        capsys, "agent", "enroll", live_admin.url, added["code"], "--state-dir", str(state)
    )
    assert rc == 0 and "enrolled: router" in out
    token = (state / "device-token").read_text().strip()
    auth = {"Authorization": f"Bearer {token}"}
    config_url = f"{live_admin.url}/api/v1/config"
    assert requests.get(config_url, headers=auth, timeout=5).status_code == 200

    rc, out, _ = _run(capsys, "admin", "router-list", "--tenant", venue.slug, "--json")
    listed = {r["id"]: r for r in json.loads(out)}
    assert listed[added["router_id"]]["status"] == "never"  # enrolled, no heartbeat yet
    assert "token_hash" not in listed[added["router_id"]]

    worker = SyncWorker(str(db_path(state)), str(state))
    assert worker.run_once()["config"] == 1
    rc, out, _ = _run(capsys, "admin", "router-rotate", str(added["router_id"]), "--json")
    rotated = json.loads(out)
    assert requests.get(config_url, headers=auth, timeout=5).status_code == 401
    with pytest.raises(RetryLater):
        worker.run_once()
    rc, out, _ = _run(
        capsys, "agent", "enroll", live_admin.url, rotated["code"], "--state-dir", str(state),
        "--force",
    )  # fmt: skip
    assert rc == 0
    new_auth = {"Authorization": f"Bearer {(state / 'device-token').read_text().strip()}"}
    assert requests.get(config_url, headers=new_auth, timeout=5).status_code == 200
    # the running worker picks up the new token without an agent restart
    assert worker.reload_if_reenrolled()
    assert worker.run_once()["events"] == 0

    rc, _, _ = _run(capsys, "admin", "router-revoke", str(added["router_id"]))
    assert rc == 0
    assert requests.get(config_url, headers=new_auth, timeout=5).status_code == 401
    assert count(engine, "routers", "revoked_at IS NOT NULL") == 1


def test_router_add_errors_are_one_line(
    venue: Venue, db_url: str, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    monkeypatch.setenv("PORCHLIGHT_ADMIN_DATABASE_URL", db_url)
    rc, _, err = _run(
        capsys, "admin", "router-add", "--tenant", "nope", "--location", "x", "--name", "y"
    )
    assert rc == 1 and err.strip() == "porchlight: no tenant with slug 'nope'"
    rc, _, err = _run(
        capsys, "admin", "router-add", "--tenant", venue.slug, "--location", "x", "--name", "y"
    )
    assert rc == 1 and "has no location named 'x'" in err and "Traceback" not in err
