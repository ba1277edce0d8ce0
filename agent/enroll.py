"""`porchlight agent enroll ADMIN_URL CODE --state-dir DIR`.

Trades the one-time enrollment code for a device token and writes
``DIR/device-token`` (mode 0600) and ``DIR/admin.json`` (admin URL, router id,
location). Both files are written to a temporary name, fsynced and renamed,
so a crash never leaves half a token. The agent starts its sync loop at start
when ``device-token`` exists; a running sync loop picks up a replaced token
(``--force`` after the admin rotated it) by itself.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import socket
import sys
from pathlib import Path
from typing import Any

from porchlight import __version__
from porchlight.agent.sync_http import AdminClient, check_admin_url
from porchlight.errors import PorchlightError

log = logging.getLogger(__name__)

TOKEN_FILE = "device-token"  # noqa: S105 (a file name)
ADMIN_FILE = "admin.json"


def write_private(path: Path, data: bytes, mode: int = 0o600) -> None:
    """Write `data` to `path` atomically with `mode` (no window with wider rights)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def read_enrollment(state_dir: str | Path) -> tuple[str, dict[str, Any]]:
    """(device token, admin.json contents) of an enrolled router, or raise."""
    state = Path(state_dir)
    try:
        token = (state / TOKEN_FILE).read_text().strip()
        admin = json.loads((state / ADMIN_FILE).read_text())
    except FileNotFoundError as exc:
        raise PorchlightError(
            f"this router is not enrolled ({exc.filename} missing)",
            hint="run 'porchlight agent enroll ADMIN_URL CODE'",
        ) from exc
    except ValueError as exc:
        raise PorchlightError(f"{state / ADMIN_FILE} is not valid JSON") from exc
    if not token or not isinstance(admin, dict) or not admin.get("admin_url"):
        raise PorchlightError(f"enrollment files in {state} are incomplete; enroll again")
    return token, admin


def enroll(
    admin_url: str,
    code: str,
    state_dir: str | Path,
    *,
    insecure: bool = False,
    force: bool = False,
    ca_file: str | None = None,
    hostname: str | None = None,
    timeout: float = 15.0,
) -> dict[str, Any]:
    """Enroll this router; return what was written to admin.json."""
    base = check_admin_url(admin_url, insecure=insecure)
    state = Path(state_dir)
    state.mkdir(parents=True, exist_ok=True, mode=0o700)
    if (state / TOKEN_FILE).exists() and not force:
        raise PorchlightError(
            f"{state / TOKEN_FILE} exists: this router is already enrolled",
            hint="pass --force to replace its token (e.g. after the admin rotated it)",
        )
    client = AdminClient(base, timeout=timeout, ca_file=ca_file, insecure=insecure)
    try:
        answer = client.post_json(
            "/api/v1/enroll",
            {
                "code": code.strip(),
                "hostname": (hostname or socket.gethostname())[:200],
                "agent_version": __version__,
            },
        )
    finally:
        client.close()
    body = answer.json()
    if answer.status != 201 or not isinstance(body, dict) or not body.get("token"):
        message = body.get("message") if isinstance(body, dict) else None
        raise PorchlightError(
            f"the admin refused the enrollment (HTTP {answer.status}): {message or 'no details'}",
            hint="ask for a new code if it expired or was used",
        )
    admin = {
        "admin_url": base,
        "router_id": body.get("router_id"),
        "location": body.get("location"),
        "insecure": bool(insecure),
        "ca_file": ca_file,
    }
    write_private(state / ADMIN_FILE, json.dumps(admin, indent=2).encode() + b"\n", 0o600)
    write_private(state / TOKEN_FILE, str(body["token"]).encode() + b"\n", 0o600)
    log.info("enrolled as router %s", admin["router_id"])
    return admin


def cmd_enroll(args: argparse.Namespace) -> int:
    admin = enroll(
        args.admin_url,
        args.code,
        args.state_dir,
        insecure=args.insecure,
        force=args.force,
        ca_file=args.ca_file,
    )
    location = admin.get("location") or {}
    sys.stdout.write(
        f"enrolled: router {admin['router_id']} at {location.get('name', '?')}; "
        f"token in {Path(args.state_dir) / TOKEN_FILE}\n"
        "a first enrollment: restart the agent to start syncing "
        "(systemctl restart porchlight-agent); a syncing agent picks up a new token by itself\n"
    )
    return 0
