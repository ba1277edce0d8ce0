"""Config pull (ETag, validate, apply, roll back) and heartbeats with commands.

The agent keeps in its `kv` table:

- ``sync.config_etag`` / ``sync.config_good``: the ETag and JSON of the last
  config that applied cleanly (reported in heartbeats);
- ``sync.config_rejected_etag``: a config that failed validation or applying.
  It is sent as ``If-None-Match`` so the admin answers 304 until someone edits
  the config again, instead of the router re-applying a broken one each poll.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

from sqlite_utils import Database

from porchlight import __version__
from porchlight.agent.config import ConfigError, validate_config
from porchlight.agent.store import kv_get, kv_set
from porchlight.agent.sync_http import AdminClient, AdminResponse
from porchlight.agent.sync_parked import heartbeat_fields
from porchlight.bounds import MAX_INT32, MAX_SAFE_INT
from porchlight.errors import PorchlightError
from porchlight.events import utc_now_iso

log = logging.getLogger(__name__)

KEY_ETAG = "sync.config_etag"
KEY_GOOD = "sync.config_good"
KEY_REJECTED = "sync.config_rejected_etag"


class RetryLater(PorchlightError):
    """The admin could not take the request now; wait (at least `retry_after`)."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


def retry_after_of(answer: AdminResponse) -> float | None:
    raw = answer.headers.get("retry-after")
    try:
        return max(0.0, min(float(raw), 3600.0)) if raw else None
    except ValueError:
        return None


def check_answer(answer: AdminResponse, what: str) -> None:
    """Raise RetryLater for answers that mean "not now"."""
    if answer.status in (429, 503) or answer.status >= 500:
        raise RetryLater(f"{what}: admin answered {answer.status}", retry_after_of(answer))
    if answer.status == 401:
        raise RetryLater(f"{what}: device token refused (revoked or rotated?)", 300.0)


def _etag(answer: AdminResponse) -> str:
    return answer.headers.get("etag", "").removeprefix("W/").strip('"')


def pull_config(
    client: AdminClient, db: Database, apply_config: Callable[[dict[str, Any]], None]
) -> bool:
    """Fetch the config if it changed; apply it or roll back. True when applied."""
    known = kv_get(db, KEY_REJECTED) or kv_get(db, KEY_ETAG)
    headers = {"If-None-Match": f'"{known}"'} if known else {}
    answer = client.request("GET", "/api/v1/config", headers=headers)
    if answer.status == 304:
        return False
    check_answer(answer, "config")
    if answer.status != 200:
        raise RetryLater(f"config: admin answered {answer.status}")
    etag = _etag(answer)
    try:
        config = validate_config(answer.json())
    except ConfigError as exc:
        log.error("config %s from the admin is invalid, keeping the current one: %s", etag, exc)
        kv_set(db, KEY_REJECTED, etag)
        return False
    try:
        apply_config(config)
    except Exception as exc:  # noqa: BLE001 - any failure means: back to the last good one
        log.error("config %s failed to apply (%s); rolling back", etag, exc)
        kv_set(db, KEY_REJECTED, etag)
        good = kv_get(db, KEY_GOOD)
        if good:
            try:
                apply_config(json.loads(good))
            except Exception:  # noqa: BLE001
                log.exception("re-applying the last good config failed too")
        return False
    with db.atomic():
        kv_set(db, KEY_ETAG, etag)
        kv_set(db, KEY_GOOD, json.dumps(config, ensure_ascii=False, sort_keys=True))
        kv_set(db, KEY_REJECTED, None)
    log.info("applied config %s from the admin", etag[:12])
    return True


def heartbeat(
    client: AdminClient,
    db: Database,
    status: Callable[[], dict[str, Any]],
    deauthorize: Callable[[str, str], Any],
) -> int:
    """Report status; run and ack the commands the admin answers with. Returns how many."""
    info: dict[str, Any] = {}
    try:
        info = dict(status())
    except Exception:  # noqa: BLE001 - a heartbeat without details beats none
        log.exception("status() failed; sending a bare heartbeat")
    body = {
        "agent_version": str(info.get("agent_version") or __version__)[:40],
        "uptime_seconds": min(int(info.get("uptime_seconds") or 0), MAX_SAFE_INT),
        "clients_online": min(int(info.get("clients_online") or 0), MAX_INT32),
        **heartbeat_fields(db),  # outbox_depth, rejected_events, rejected_reason
        "config_etag": kv_get(db, KEY_ETAG),
        "clock": utc_now_iso(),  # the admin records how far off this router's clock is
    }
    answer = client.post_json("/api/v1/heartbeat", body)
    check_answer(answer, "heartbeat")
    payload = answer.json()
    if answer.status != 200 or not isinstance(payload, dict):
        raise RetryLater(f"heartbeat: admin answered {answer.status}")
    done = 0
    for command in payload.get("commands") or []:
        if not isinstance(command, dict) or not isinstance(command.get("id"), int):
            continue
        if command.get("action") == "deauthorize" and isinstance(command.get("mac"), str):
            try:
                deauthorize(command["mac"], str(command.get("reason") or "admin"))
            except Exception:  # noqa: BLE001 - not acked: the admin sends it again
                log.exception("deauthorize %s failed; will retry", command["mac"])
                continue
        else:
            log.warning("ignoring unknown admin command %r", command.get("action"))
        ack = client.post_json(f"/api/v1/commands/{command['id']}/ack", {})
        check_answer(ack, "command ack")
        done += 1
    return done
