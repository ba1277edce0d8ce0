"""First boot without an enrollment code: announce to the baked-in admin, wait to be adopted.

The router sends its tenant's adoption key (baked into the image by
deploy/build-image --adoption-key), a random secret of its own (kept in
/var/lib/porchlight/adoption-secret, so a restart is the same router), its
serial, MACs and version to ``POST /api/v1/announce`` until a manager adopts
it on the Routers page. The answer then carries a one-time enrollment code,
and the router goes on exactly as with a code from porchlight.txt:
install-router --code, whose journal undoes everything if it fails.
"""

from __future__ import annotations

import json
import secrets
import time
import urllib.error
import urllib.request
from typing import Any

from .firstboot_context import Context, Problem, console, report, run
from .porchlight_txt import Setup

SECRET_FILE = "/var/lib/porchlight/adoption-secret"  # noqa: S105 (a path)
CODE_FILE = "/var/lib/porchlight/adoption-code"  # until enrolled (30 minutes valid)
SERIAL_FILES = (
    "/sys/firmware/devicetree/base/serial-number",  # Raspberry Pi
    "/sys/class/dmi/id/product_serial",  # PCs
)
PLACEHOLDERS = ("", "0", "none", "default string", "to be filled by o.e.m.", "system serial number")


def serial(ctx: Context) -> str:
    for name in SERIAL_FILES:
        try:
            text = ctx.path(name).read_bytes().decode("ascii", "replace").strip("\x00 \n")
        except OSError:
            continue
        if text.lower() not in PLACEHOLDERS:
            return "".join(ch for ch in text if ch.isprintable())[:64]
    machine = (
        ctx.path("/etc/machine-id").read_text().strip()
        if ctx.path("/etc/machine-id").exists()
        else ""
    )
    return f"id-{machine[:12] or secrets.token_hex(6)}"


def macs(ports: list[str]) -> list[str]:
    found = []
    for port in ports:
        data = json.loads(run(["ip", "-j", "link", "show", "dev", port]).stdout or "[]")
        found += [str(link["address"]) for link in data if link.get("address")]
    return found[:8]


def own_secret(ctx: Context) -> str:
    path = ctx.path(SECRET_FILE)
    if path.is_file() and len(path.read_text().strip()) >= 32:
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    value = secrets.token_hex(32)
    path.write_text(value + "\n")
    path.chmod(0o600)
    return value


def post(url: str, body: dict[str, Any], timeout: float = 15) -> tuple[int, dict[str, Any], int]:
    """(status, JSON answer, Retry-After seconds or 0) of one announce."""
    data = json.dumps(body).encode()
    request = urllib.request.Request(  # noqa: S310 (http(s) only: porchlight_txt.check_url)
        url, data=data, headers={"Content-Type": "application/json"}, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:  # noqa: S310
            return answer.status, json.loads(answer.read() or b"{}"), 0
    except urllib.error.HTTPError as exc:
        try:
            payload = json.loads(exc.read() or b"{}")
        except ValueError:
            payload = {}
        retry = int(exc.headers.get("Retry-After") or 0) if exc.headers else 0
        return exc.code, payload if isinstance(payload, dict) else {}, retry


def adopt(ctx: Context, setup: Setup, baked: dict[str, Any], lan: str, wan: str) -> str:
    """Announce until a manager adopts this router; the one-time enrollment code."""
    key = baked.get("adoption_key")
    if not key or not setup.admin_url:
        raise Problem(
            "porchlight.txt has no code and this image was built without an adoption key: "
            "put an enrollment code from the admin's Routers page in porchlight.txt"
        )
    body = {
        "key": key,
        "secret": own_secret(ctx),
        "serial": serial(ctx),
        "macs": macs([lan, wan]),
        "agent_version": str(baked.get("version") or "")[:40] or None,
        "location_hint": setup.location,
    }
    kept = ctx.path(CODE_FILE)
    if kept.is_file() and kept.read_text().strip():  # handed over once; a retry uses it again
        return kept.read_text().strip()
    url = f"{setup.admin_url}/api/v1/announce"
    told = ""
    while True:
        try:
            status, answer, retry = post(url, body)
        except (urllib.error.URLError, OSError, ValueError) as exc:
            reason = str(getattr(exc, "reason", exc))
            status, answer, retry = (
                0,
                {"message": f"cannot reach the admin at {setup.admin_url}: {reason}"},
                30,
            )
        if status == 200 and answer.get("code"):
            console("adopted: setting up")
            kept.write_text(str(answer["code"]) + "\n")  # the admin hands it out only once
            kept.chmod(0o600)
            return str(answer["code"])
        if status in (202, 0, 429, 503):
            waiting = status == 202
            message = (
                f"serial {body['serial']}, MAC {', '.join(body['macs'])}: adopt it on the admin's "
                "Routers page"
                if waiting
                else str(answer.get("message") or f"the admin answered {status}")
            )
            if message != told:  # once per change, not every poll
                report(ctx, "waiting for adoption" if waiting else "problem", message)
                told = message
            pause = int(answer.get("poll_seconds") or 0) if waiting else retry
            time.sleep(min(max(pause, 3), 300))
            continue
        raise Problem(
            f"the admin refused the announcement (HTTP {status}): "
            f"{answer.get('message') or 'no details'}"
        )
