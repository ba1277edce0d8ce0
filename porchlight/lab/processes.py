"""Starting, watching and stopping the lab's long-running processes.

Each process runs in its own session (so its whole process group can be
stopped), logs to a file in the state directory, and is recorded with its PID
and start time the moment it exists, so `lab down` finds it after a crash and
never signals a recycled PID.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from porchlight.lab.commands import LabError, in_netns, python_module_argv
from porchlight.lab.state import LabState, ProcessRecord, process_start_ticks

log = logging.getLogger(__name__)

STOP_GRACE_SECONDS = 5.0

# Children started by this very process (when `up` runs in-process, as in tests),
# kept so they are reaped properly rather than garbage-collected while running.
_children: dict[int, subprocess.Popen[bytes]] = {}


def spawn(
    state: LabState,
    name: str,
    argv: Sequence[str],
    *,
    netns: str | None = None,
    env: Mapping[str, str] | None = None,
    cwd: str | None = None,
) -> ProcessRecord:
    """Start `argv` (inside `netns` if given) in the background and record it."""
    logs = Path(state.state_dir) / "logs"
    logs.mkdir(mode=0o700, exist_ok=True)
    log_path = logs / f"{name}.log"
    full = in_netns(netns, argv) if netns else list(argv)
    record = ProcessRecord(name=name, argv=full, log=str(log_path), netns=netns)
    state.processes.append(record)
    state.begin(f"start {name}")
    with open(log_path, "ab") as out:
        child = subprocess.Popen(  # noqa: S603 (argv list, no shell)
            full,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env=dict(env) if env is not None else None,
            cwd=cwd,
        )
    _children[child.pid] = child
    record.pid = child.pid
    record.start_ticks = process_start_ticks(child.pid)
    state.save()
    log.debug("started %s (pid %d)", name, child.pid)
    return record


def log_tail(record: ProcessRecord, lines: int = 3) -> str:
    try:
        text = Path(record.log).read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return ""
    tail = [line for line in text.strip().splitlines() if line.strip()][-lines:]
    return " | ".join(tail)


def wait_until(
    record: ProcessRecord, ready: Callable[[], bool], what: str, timeout: float = 20.0
) -> None:
    """Poll `ready` until true; fail early if the process died."""
    deadline = time.monotonic() + timeout
    while True:
        if ready():
            return
        if not record.alive():
            raise LabError(
                f"{record.name} exited while starting: {log_tail(record) or 'no output'}",
                hint=f"see {record.log}",
            )
        if time.monotonic() > deadline:
            raise LabError(
                f"{record.name} did not become {what} within {timeout:.0f}s",
                hint=f"see {record.log}",
            )
        time.sleep(0.2)


def tcp_ready(netns: str | None, host: str, port: int) -> Callable[[], bool]:
    """A check that `host:port` accepts connections (from inside `netns`)."""
    argv = [*python_module_argv("porchlight.lab.probe"), host, str(port)]
    full = in_netns(netns, argv) if netns else argv

    def check() -> bool:
        done = subprocess.run(full, capture_output=True, timeout=10, check=False)  # noqa: S603
        return done.returncode == 0

    return check


def unix_ready(path: str | Path) -> Callable[[], bool]:
    def check() -> bool:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(1.0)
            try:
                sock.connect(str(path))
            except OSError:
                return False
            return True

    return check


def stop(record: ProcessRecord, grace: float = STOP_GRACE_SECONDS) -> None:
    """SIGTERM the process group, SIGKILL what is left after `grace` seconds."""
    if not record.alive():
        return
    assert record.pid is not None
    pgid = record.pid  # spawned with start_new_session: its own process group
    _signal_group(pgid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while record.alive() and time.monotonic() < deadline:
        _reap(record.pid)
        time.sleep(0.1)
    if record.alive():
        log.warning("%s did not stop on SIGTERM, killing it", record.name)
    _signal_group(pgid, signal.SIGKILL)  # also any worker left behind in the group
    _reap(record.pid)


def _signal_group(pgid: int, signum: int) -> None:
    try:
        os.killpg(pgid, signum)
    except ProcessLookupError:
        pass


def _reap(pid: int) -> None:
    """Collect our own child's exit status (when `up` ran in this process)."""
    child = _children.get(pid)
    if child is not None and child.poll() is not None:
        del _children[pid]


def ensure_free_tcp_port(host: str, port: int) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            raise LabError(
                f"port {port} on {host} is in use", hint="pass another --admin-port"
            ) from exc
