"""What install-router checks before it changes anything, and its options.

Read-only: the system (os-release, Python), the source, the interfaces, the
free space, the TLS certificate and that the admin answers. A failure here
is a clear message and a host left exactly as it was.
"""

from __future__ import annotations

import logging
import sys
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field

from .distro import SUPPORTED_TEXT, check_python, detect
from .host import AGENT_STATE, DISK_FULL_HINT, OPT, ROUTER_UNITS, DeployError, Host, free_mb
from .router_config import Lan, inspect_lan, inspect_link
from .tls import TLS_UNIT, Tls, check_certificate
from .venv import Source, current

log = logging.getLogger(__name__)


@dataclass
class InstallOptions:
    lan: str
    admin_url: str | None
    code: str | None
    source: Source
    dhcp_range: str | None = None
    guests: int | None = None
    metrics_port: int | None = None  # the agent's Prometheus /metrics on 127.0.0.1
    wan: str | None = None
    insecure: bool = False
    min_free_mb: int = 300
    tls: Tls | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def units(self) -> tuple[str, ...]:
        return (*ROUTER_UNITS, TLS_UNIT) if self.tls else ROUTER_UNITS


def preflight(host: Host, opts: InstallOptions) -> Lan:
    """Everything that can be checked without changing anything."""
    distro = detect(host)
    if distro.warning:
        log.warning("%s: going on (supported: %s)", distro.warning, SUPPORTED_TEXT)
    check_python(distro, (sys.version_info.major, sys.version_info.minor))
    opts.source.check()
    lan = inspect_lan(host, opts.lan, opts.dhcp_range, opts.guests)
    if opts.metrics_port is not None and not 1024 <= opts.metrics_port <= 65535:
        raise DeployError("--metrics-port must be between 1024 and 65535")
    if opts.wan is not None:
        if opts.wan == opts.lan:
            raise DeployError("--wan and --lan must be different interfaces")
        inspect_link(host, opts.wan)
    free = free_mb(host.path(OPT))
    if current(host) is None and free < opts.min_free_mb:
        raise DeployError(
            f"only {free} MB free for {OPT}; the install needs {opts.min_free_mb} MB",
            hint=DISK_FULL_HINT,
        )
    if opts.tls is not None:
        check_certificate(host, opts.tls)
    if opts.code and not enrolled(host):
        if not opts.admin_url:
            raise DeployError("--admin-url is needed to enroll with --code")
        check_admin_reachable(opts.admin_url)
    return lan


def check_admin_reachable(url: str, timeout: float = 10) -> None:
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise DeployError(f"'{url}' is not an http(s) URL of the admin")
    try:
        with urllib.request.urlopen(url, timeout=timeout):  # noqa: S310 (scheme checked)
            pass
    except urllib.error.HTTPError:
        return  # it answered
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise DeployError(
            f"cannot reach the admin at {url}: {reason}",
            hint="no network? check the WAN cable, DNS and the URL; nothing was changed",
        ) from exc


def enrolled(host: Host) -> bool:
    return host.path(f"{AGENT_STATE}/device-token").is_file()
