"""Run dnsmasq and restart it when the walled-garden snippets change.

dnsmasq reads ``nftset=`` lines only at start, and the agent rewrites its
snippet when the walled garden changes. On a router systemd restarts dnsmasq
(``systemd/porchlight-dnsmasq-reload.path``); in the lab, which has no
systemd, this supervisor does::

    python -m porchlight.lab.dnsmasq_supervisor --watch DIR -- dnsmasq --keep-in-foreground ...

It exits with dnsmasq's status if dnsmasq dies on its own, and stops dnsmasq
when it is stopped itself.
"""

from __future__ import annotations

import argparse
import logging
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from types import FrameType

log = logging.getLogger(__name__)

POLL_SECONDS = 0.5
STOP_SECONDS = 5.0

Snapshot = tuple[tuple[str, int, int], ...]


def snapshot(directory: Path) -> Snapshot:
    """Name, size and mtime of each ``*.conf`` in `directory` (what dnsmasq reads)."""
    entries = []
    for path in sorted(directory.glob("*.conf")):
        try:
            st = path.stat()
        except FileNotFoundError:
            continue
        entries.append((path.name, st.st_size, st.st_mtime_ns))
    return tuple(entries)


def _stop(child: subprocess.Popen[bytes]) -> None:
    child.terminate()
    try:
        child.wait(STOP_SECONDS)
    except subprocess.TimeoutExpired:
        child.kill()
        child.wait()


def supervise(watch: Path, argv: Sequence[str]) -> int:
    stopping = False

    def on_signal(signum: int, frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    seen = snapshot(watch)
    child = subprocess.Popen(list(argv))  # noqa: S603 (argv list, no shell)
    log.info("dnsmasq started (pid %d), watching %s", child.pid, watch)
    try:
        while not stopping:
            time.sleep(POLL_SECONDS)
            code = child.poll()
            if code is not None:
                log.error("dnsmasq exited with status %d", code)
                return code or 1
            now = snapshot(watch)
            if now != seen:
                seen = now
                log.info("walled-garden snippets changed: restarting dnsmasq")
                _stop(child)
                child = subprocess.Popen(list(argv))  # noqa: S603
                log.info("dnsmasq restarted (pid %d)", child.pid)
    finally:
        if child.poll() is None:
            _stop(child)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Run dnsmasq; restart it on snippet changes.")
    parser.add_argument("--watch", required=True, type=Path, help="directory of *.conf snippets")
    parser.add_argument("command", nargs=argparse.REMAINDER, help="-- dnsmasq ...")
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("give the dnsmasq command after --")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    return supervise(args.watch, command)


if __name__ == "__main__":
    sys.exit(main())
