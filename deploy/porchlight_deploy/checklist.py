"""The green/red line per component printed at the end of every deploy command."""

from __future__ import annotations

import json
import os
import sys
import urllib.error
import urllib.request
from dataclasses import dataclass, field

from . import forwarding
from .host import AGENT_STATE, ETC, OPT, ROUTER_UNITS, TLS_UNIT, UNIT_DIR, Host, last_line
from .tls import installed_expiry
from .venv import current, installed_version

GREEN, RED, YELLOW, RESET = "\033[32m", "\033[31m", "\033[33m", "\033[0m"
MARKS = {True: ("[ OK ]", GREEN), False: ("[FAIL]", RED), None: ("[ -- ]", YELLOW)}


@dataclass
class Checklist:
    lines: list[tuple[bool | None, str, str]] = field(default_factory=list)

    def add(self, ok: bool | None, what: str, detail: str = "") -> None:
        self.lines.append((ok, what, detail))

    @property
    def failed(self) -> bool:
        return any(ok is False for ok, _, _ in self.lines)

    def render(self, color: bool | None = None) -> str:
        if color is None:
            color = sys.stdout.isatty() and "NO_COLOR" not in os.environ
        out = []
        for ok, what, detail in self.lines:
            mark, tint = MARKS[ok]
            if color:
                mark = f"{tint}{mark}{RESET}"
            out.append(f"  {mark} {what}" + (f": {detail}" if detail else ""))
        return "\n".join(out)


def agent_status(host: Host, timeout: float = 10) -> tuple[bool, str]:
    """Ask the running agent for its status over its socket (`porchlight agent status --json`)."""
    venv = current(host)
    if venv is None:
        return False, "no venv"
    proc = host.run(
        [
            str(venv / "bin/porchlight"),
            "agent",
            "status",
            "--json",
            "--socket",
            "/run/porchlight/agent.sock",
        ],
        timeout=timeout,
        check=False,
    )
    if proc.returncode != 0:
        return False, last_line(proc)
    try:
        data = json.loads(proc.stdout)
    except ValueError:
        return False, "status output is not JSON"
    # status answers one page of clients; its summary counts them all
    summary = data.get("summary") if isinstance(data, dict) else None
    if not isinstance(summary, dict):
        return False, "status output has no summary"
    return True, f"answers ({summary.get('total', 0)} clients)"


def http_answers(url: str, timeout: float = 5) -> tuple[bool, str]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:  # noqa: S310 (our own URL)
            return True, f"HTTP {resp.status}"
    except urllib.error.HTTPError as exc:
        return True, f"HTTP {exc.code}"
    except (urllib.error.URLError, OSError) as exc:
        return False, str(getattr(exc, "reason", exc))


def router_checklist(host: Host, portal_url: str | None, packages: str) -> Checklist:
    check = Checklist()
    check.add(None if packages.startswith("skipped") else True, "packages", packages)
    venv = current(host)
    try:
        version = installed_version(venv) if venv else None
    except Exception as exc:  # noqa: BLE001 (shown to the user as a red line)
        version, detail = None, str(exc)
    else:
        detail = f"porchlight {version} in {OPT}/current" if version else "missing"
    check.add(version is not None, "venv", detail)
    check.add(host.has_user("porchlight"), "portal user and group", "porchlight")
    conf = [f"{ETC}/{name}" for name in ("agent.env", "portal.env", "dnsmasq.conf")]
    missing = [c for c in conf if not host.path(c).is_file()]
    check.add(not missing, "config", ", ".join(missing) + " missing" if missing else ETC)
    wants = host.path(f"{UNIT_DIR}/multi-user.target.wants")
    not_enabled = [u for u in ROUTER_UNITS if not (wants / u).is_symlink()]
    check.add(
        not not_enabled,
        "units enabled",
        "not enabled: " + ", ".join(not_enabled) if not_enabled else ", ".join(ROUTER_UNITS),
    )
    if host.systemd_running:
        for unit in ROUTER_UNITS[:3]:
            state = host.systemctl("is-active", unit, check=False).stdout.strip()
            check.add(state == "active", unit, state)
        ok, detail = agent_status(host)
        check.add(ok, "agent status", detail)
        if portal_url:
            ok, detail = http_answers(portal_url)
            check.add(ok, "portal", f"{portal_url} {detail}")
    else:
        why = "target root (--root)" if not host.is_live else "systemd is not running"
        check.add(None, "services running", f"not checked: {why}")
    token = host.path(f"{AGENT_STATE}/device-token")
    check.add(
        True if token.is_file() else None,
        "enrolled",
        "device token present"
        if token.is_file()
        else "not yet: run install-router with --admin-url and --code",
    )
    if host.path(f"{UNIT_DIR}/{TLS_UNIT}").exists():
        ok, detail = installed_expiry(host)
        check.add(ok, "HTTPS portal certificate", detail)
        if host.systemd_running:
            state = host.systemctl("is-active", TLS_UNIT, check=False).stdout.strip()
            check.add(state == "active", TLS_UNIT, state)
    ok, detail = forwarding.checklist_line(host)
    check.add(ok, "IPv4 forwarding", detail)
    return check
