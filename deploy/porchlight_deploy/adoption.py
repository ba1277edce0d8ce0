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

import http.client
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
TRANSIENT = (0, 408, 429, 500, 502, 503, 504)  # no answer, or the admin (or its proxy) busy
RETRY_SECONDS = 30
# What an installer does when adoption cannot go on (said in porchlight.txt).
PUT_A_CODE = (
    "put an enrollment code from the admin's Routers page (Add router) in porchlight.txt "
    "and restart the router"
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


def retry_after(headers: Any) -> int:
    try:
        return max(0, int((headers.get("Retry-After") if headers else None) or 0))
    except ValueError:  # an HTTP date: the usual pause
        return 0


def post(
    admin_url: str, body: dict[str, Any], timeout: float = 15
) -> tuple[int, dict[str, Any], int]:
    """(status, JSON answer, Retry-After seconds or 0) of one announce; status 0 when
    no admin answered, with a message saying why (refused, no route, not the admin)."""
    request = urllib.request.Request(  # noqa: S310 (http(s) only: porchlight_txt.check_url)
        f"{admin_url}/api/v1/announce",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    try:
        try:
            with urllib.request.urlopen(request, timeout=timeout) as answer:  # noqa: S310
                status, raw, headers = answer.status, answer.read(), answer.headers
        except urllib.error.HTTPError as exc:
            with exc:
                status, raw, headers = exc.code, exc.read(), exc.headers
    except (OSError, http.client.HTTPException) as exc:  # URLError, timeouts, resets
        reason = getattr(exc, "reason", None) or exc
        return 0, {"message": f"cannot reach the admin at {admin_url}: {reason}"}, 0
    try:
        payload = json.loads(raw or b"{}")
    except ValueError:
        payload = None
    if not isinstance(payload, dict):
        if status < 300:  # a redirect followed to some web page: a network asking for a login?
            message = (
                f"{admin_url} answered with a page that is not the admin's (HTTP {status}): "
                "check admin_url, and that this network lets the router out without a login"
            )
            return 0, {"message": message}, 0
        payload = {}
    if payload.get("message") is not None:  # one line of porchlight.txt, not a whole page
        payload["message"] = str(payload["message"])[:300]
    return status, payload, retry_after(headers)


def adoption_key(setup: Setup, baked: dict[str, Any]) -> str:
    """The tenant's key baked into the image; a Problem without one (checked before
    first boot touches a port: without a code and a key there is nothing to do)."""
    key = baked.get("adoption_key")
    if not key or not setup.admin_url:
        raise Problem(
            "porchlight.txt has no code and this image was built without an adoption key: "
            f"{PUT_A_CODE}"
        )
    return str(key)


def refused(status: int, answer: dict[str, Any]) -> str:
    """What the installer reads when the admin says no for good (a revoked key, ...)."""
    said = f"HTTP {status}: {answer.get('message') or 'no details'}"
    if status == 403 or answer.get("error") == "invalid_key":
        again = "or build the image again with the tenant's current key"
        return f"the admin refused this image's adoption key ({said}): {PUT_A_CODE}, {again}"
    return f"the admin refused the announcement ({said}): {PUT_A_CODE}"


def adopt(ctx: Context, setup: Setup, baked: dict[str, Any], lan: str, wan: str) -> str:
    """Announce until a manager adopts this router; the one-time enrollment code.

    Waiting, the admin unreachable or busy (no answer, 408, 429, 5xx): announce
    again, each new state once into porchlight.txt. Refused (403 a revoked
    key, 409, ...): a Problem the installer fixes with a code."""
    assert setup.admin_url
    ident, addresses = serial(ctx), macs([lan, wan])
    body = {
        "key": adoption_key(setup, baked),
        "secret": own_secret(ctx),
        "serial": ident,
        "macs": addresses,
        "agent_version": str(baked.get("version") or "")[:40] or None,
        "location_hint": setup.location,
    }
    kept = ctx.path(CODE_FILE)
    if kept.is_file() and kept.read_text().strip():  # handed over once; a retry uses it again
        return kept.read_text().strip()
    told = ""
    while True:
        status, answer, retry = post(setup.admin_url, body)
        if status == 200 and answer.get("code"):
            console("adopted: setting up")
            kept.write_text(str(answer["code"]) + "\n")  # the admin hands it out only once
            kept.chmod(0o600)
            return str(answer["code"])
        if status == 202:
            state, pause = "waiting for adoption", int(answer.get("poll_seconds") or 0)
            message = (
                f"serial {ident}, MAC {', '.join(addresses)}: adopt it on the admin's Routers page"
            )
        elif status in TRANSIENT:
            state, pause = "problem", min(max(retry or RETRY_SECONDS, 3), 300)
            said = answer.get("message") or f"the admin at {setup.admin_url} answered HTTP {status}"
            message = f"{said}; trying again in {pause} s"
        else:
            raise Problem(refused(status, answer))
        if message != told:  # once per change, not every poll
            report(ctx, state, message)
            told = message
        time.sleep(min(max(pause, 3), 300))
