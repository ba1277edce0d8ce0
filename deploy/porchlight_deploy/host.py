"""The host the deploy scripts change: paths under a root, commands, users, units.

Everything that touches the machine goes through `Host`, so `--root DIR` (a
target root directory, used by the tests) redirects every file and account
change into DIR, and commands are argv lists with a timeout that raise
`DeployError` on a non-zero exit. Network state (interfaces, the nftables
ruleset) is always the current network namespace's.
"""

from __future__ import annotations

import errno
import logging
import os
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

OPT = "/opt/porchlight"
ETC = "/etc/porchlight"
STATE = "/var/lib/porchlight"
AGENT_STATE = "/var/lib/porchlight/agent"
UNIT_DIR = "/etc/systemd/system"
RECORD = "/var/lib/porchlight/install.json"
SYSTEMCTL_TIMEOUT = 330  # s: above image_root.SLOW_START (5 min)
JOURNAL = "/var/lib/porchlight/install-journal.json"
PORTAL_USER = "porchlight"
ADMIN_USER = "porchlight-admin"
ROUTER_UNITS = (
    "porchlight-agent.service",
    "porchlight-portal.service",
    "porchlight-dnsmasq.service",
    "porchlight-dnsmasq-reload.path",
)
HELPER_UNITS = ("porchlight-dnsmasq-reload.service",)
TLS_UNIT = "porchlight-portal-tls.service"  # only with install-router --portal-name
ADMIN_UNITS = ("porchlight-admin.service", "porchlight-admin-worker.service")


class DeployError(Exception):
    """A failure with a message for the person at the keyboard."""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message}\n  hint: {self.hint}" if self.hint else self.message


@dataclass
class Host:
    root: Path = Path("/")
    # with --root: also set live kernel settings (IPv4 forwarding) in this network namespace
    live_sysctl: bool = False

    @property
    def is_live(self) -> bool:
        """True when this is the running system (not a --root target)."""
        return self.root.resolve() == Path("/")

    @property
    def systemd_running(self) -> bool:
        return self.is_live and Path("/run/systemd/system").is_dir()

    def path(self, absolute: str) -> Path:
        """`absolute` (a path on the target system) as seen from here."""
        return self.root / absolute.lstrip("/")

    # -- commands -----------------------------------------------------------

    def run(
        self,
        argv: Sequence[str],
        timeout: float = 120,
        check: bool = True,
        env: dict[str, str] | None = None,
    ) -> subprocess.CompletedProcess[str]:
        log.debug("run %s", argv)
        try:
            proc = subprocess.run(
                list(argv),
                capture_output=True,
                text=True,
                timeout=timeout,
                check=False,
                env=env,
                cwd="/",  # never import from wherever the script was started
            )
        except FileNotFoundError as exc:
            raise DeployError(f"{argv[0]} is not installed") from exc
        except subprocess.TimeoutExpired as exc:
            raise DeployError(f"'{' '.join(argv[:3])}' took longer than {timeout:.0f}s") from exc
        if check and proc.returncode != 0:
            raise DeployError(
                f"'{' '.join(argv[:4])}' failed (exit {proc.returncode}): {last_line(proc)}"
            )
        return proc

    # -- accounts -----------------------------------------------------------

    def _prefix(self) -> list[str]:
        return [] if self.is_live else ["--prefix", str(self.root)]

    def _entries(self, table: str) -> dict[str, list[str]]:
        if self.is_live:
            proc = self.run(["getent", table], check=False, timeout=10)
            text = proc.stdout
        else:
            file = self.path(f"/etc/{table}")
            text = file.read_text() if file.exists() else ""
        out = {}
        for line in text.splitlines():
            parts = line.split(":")
            if len(parts) >= 3:
                out[parts[0]] = parts
        return out

    def group_id(self, name: str) -> int | None:
        entry = self._entries("group").get(name)
        return int(entry[2]) if entry and entry[2].isdigit() else None

    def has_user(self, name: str) -> bool:
        return name in self._entries("passwd")

    def has_group(self, name: str) -> bool:
        return name in self._entries("group")

    def add_system_user(self, name: str) -> None:
        if not self.has_group(name):
            self.run(["groupadd", *self._prefix(), "--system", name], timeout=30)
        if not self.has_user(name):
            self.run(
                [
                    "useradd",
                    *self._prefix(),
                    "--system",
                    "--gid",
                    name,
                    "--no-create-home",
                    "--home-dir",
                    "/nonexistent",
                    "--shell",
                    "/usr/sbin/nologin",
                    name,
                ],
                timeout=30,
            )

    def remove_system_user(self, name: str) -> None:
        if self.has_user(name):
            self.run(["userdel", *self._prefix(), name], timeout=30)
        if self.has_group(name):
            self.run(["groupdel", *self._prefix(), name], timeout=30)

    # -- packages -----------------------------------------------------------

    def missing_packages(self, names: Sequence[str]) -> list[str]:
        missing = []
        for name in names:
            proc = self.run(["dpkg-query", "-W", "-f=${Status}", name], check=False, timeout=30)
            if "install ok installed" not in proc.stdout:
                missing.append(name)
        return missing

    def apt_install(self, names: Sequence[str]) -> None:
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        try:
            self.run(["apt-get", "update", "-qq"], timeout=300, env=env)
            self.run(
                ["apt-get", "install", "-y", "-qq", "--no-install-recommends", *names],
                timeout=900,
                env=env,
            )
        except DeployError as exc:
            raise DeployError(
                f"could not install {', '.join(names)}: {exc.message}",
                hint="no network? check the WAN link, DNS and /etc/apt/sources.list",
            ) from exc

    def apt_remove(self, names: Sequence[str]) -> None:
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        self.run(["apt-get", "remove", "-y", "-qq", *names], timeout=600, env=env)

    # -- systemd ------------------------------------------------------------

    def systemctl(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        """Offline (symlinks only) unless this is the live system with systemd running."""
        if self.systemd_running:
            # longer than any unit's own start timeout (a flashed image gives the agent
            # and portal 5 min on a slow card or CPU): systemd gives up first and says why
            return self.run(["systemctl", *args], timeout=SYSTEMCTL_TIMEOUT, check=check)
        if args and args[0] in ("start", "stop", "restart", "daemon-reload", "is-active"):
            raise DeployError(f"systemctl {args[0]} needs a running systemd")
        return self.run(["systemctl", f"--root={self.root}", *args], timeout=60, check=check)

    # -- network (current namespace) -----------------------------------------

    def nft_has_table(self, family: str, name: str) -> bool:
        proc = self.run(["nft", "list", "table", family, name], check=False, timeout=30)
        return proc.returncode == 0

    def nft_delete_table(self, family: str, name: str) -> None:
        if self.nft_has_table(family, name):
            self.run(["nft", "delete", "table", family, name], timeout=30)


NO_SPACE = "No space left on device"
DISK_FULL_HINT = "free some space (apt-get clean, old logs) and run it again"


def free_mb(path: Path) -> int:
    """Free megabytes on the filesystem that holds `path` (or its nearest existing parent)."""
    while not path.exists():
        path = path.parent
    return shutil.disk_usage(path).free // (1024 * 1024)


def disk_full(exc: BaseException, host: Host | None = None) -> bool:
    """True when `exc` is (or, from a command's output or the space left, looks
    like) the disk filling up. Commands such as `python3 -m venv` hide the
    ENOSPC of the processes they run, so under 2 MB free counts as full too;
    call it before a rollback frees the space again."""
    if isinstance(exc, OSError) and exc.errno == errno.ENOSPC:
        return True
    if NO_SPACE in str(exc) or "[Errno 28]" in str(exc):
        return True
    return host is not None and free_mb(host.path(f"{OPT}/venvs")) < 2


def failure_text(exc: BaseException, full: bool) -> str:
    """What to tell the person at the keyboard about a failed step."""
    if not full:
        return str(exc)
    detail = exc.message if isinstance(exc, DeployError) else str(exc)
    return f"the disk is full ({detail})\n  hint: {DISK_FULL_HINT}"


def last_line(proc: subprocess.CompletedProcess[str]) -> str:
    """The line that says what went wrong: a full disk wherever it shows, else the last."""
    for line in f"{proc.stderr or ''}\n{proc.stdout or ''}".splitlines():
        if NO_SPACE in line:
            return line.strip()
    text = (proc.stderr or "").strip() or (proc.stdout or "").strip()
    return text.splitlines()[-1] if text else "no output"


def remove_path(path: Path) -> None:
    if path.is_symlink() or path.is_file():
        path.unlink()
    elif path.is_dir():
        shutil.rmtree(path)
