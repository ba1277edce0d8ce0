"""A tiny sd_notify(3) client: READY=1, STATUS=, WATCHDOG=1, RELOADING=1, STOPPING=1.

systemd (Type=notify) passes ``$NOTIFY_SOCKET``: a datagram socket path, or an
abstract-namespace name written with a leading ``@``. Without it every call is
a no-op, so the agent runs the same by hand, under tests and under systemd.
``$WATCHDOG_USEC`` (and ``$WATCHDOG_PID``, when set, naming this process)
turns the watchdog on; :class:`Watchdog` pings at half that period, and only
while its health check passes, so a wedged agent is restarted by systemd.
Standard library only.
"""

from __future__ import annotations

import logging
import math
import os
import socket
import threading
import time
from collections.abc import Callable, Mapping

log = logging.getLogger(__name__)

HealthCheck = Callable[[], str | None]  # None when healthy, else what is wrong


def _address(value: str) -> str | None:
    if value.startswith("@"):
        return "\0" + value[1:]
    if value.startswith("/"):
        return value
    return None  # e.g. vsock: addresses of newer systemd; not for a router agent


class Notifier:
    """Sends notification datagrams to ``$NOTIFY_SOCKET`` (or ``address``)."""

    def __init__(self, address: str | None = None, *, env: Mapping[str, str] | None = None):
        raw = address if address is not None else (env or os.environ).get("NOTIFY_SOCKET", "")
        self.address = _address(raw) if raw else None
        if raw and self.address is None:
            log.warning("NOTIFY_SOCKET=%r is not a socket path; not notifying systemd", raw)
        self._sock: socket.socket | None = None
        self._lock = threading.Lock()

    @property
    def enabled(self) -> bool:
        return self.address is not None

    def notify(self, *lines: str) -> bool:
        """Send ``lines`` as one datagram; False (never an exception) if it could not go."""
        if self.address is None:
            return False
        payload = "\n".join(lines).encode()
        with self._lock:
            try:
                if self._sock is None:
                    self._sock = socket.socket(
                        socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC
                    )
                self._sock.sendto(payload, self.address)
            except OSError as exc:
                log.warning("sd_notify %s failed: %s", lines[0] if lines else "", exc)
                return False
        return True

    def ready(self, status: str | None = None) -> bool:
        return self.notify("READY=1", *([f"STATUS={status}"] if status else []))

    def status(self, status: str) -> bool:
        return self.notify(f"STATUS={status}")

    def reloading(self) -> bool:
        # MONOTONIC_USEC: systemd 253+ wants it with RELOADING=1; older ones ignore it
        usec = time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
        return self.notify("RELOADING=1", f"MONOTONIC_USEC={usec}")

    def stopping(self) -> bool:
        return self.notify("STOPPING=1")

    def watchdog(self) -> bool:
        return self.notify("WATCHDOG=1")

    def close(self) -> None:
        with self._lock:
            if self._sock is not None:
                self._sock.close()
                self._sock = None


def watchdog_interval(env: Mapping[str, str] | None = None, pid: int | None = None) -> float | None:
    """Seconds between pings (half of ``$WATCHDOG_USEC``), or None when there is no watchdog."""
    env = os.environ if env is None else env
    try:
        usec = int(env.get("WATCHDOG_USEC", ""))
    except ValueError:
        return None
    if usec <= 0:
        return None
    owner = env.get("WATCHDOG_PID")
    if owner:
        try:
            if int(owner) != (os.getpid() if pid is None else pid):
                return None  # meant for another process (we were started by it)
        except ValueError:
            return None
    return usec / 2 / 1_000_000


class Watchdog:
    """Pings from the caller's loop: :meth:`tick` sends WATCHDOG=1 when a ping is due and
    ``health()`` finds nothing wrong. A loop that is stuck never calls tick, so the pings
    stop either way and systemd restarts the service after ``WatchdogSec``."""

    def __init__(
        self,
        notifier: Notifier,
        interval: float | None,
        health: HealthCheck = lambda: None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.notifier = notifier
        self.interval = interval if notifier.enabled and interval and interval > 0 else None
        self.health = health
        self.clock = clock
        self.next_due = clock() if self.interval else math.inf
        self.problem: str | None = None

    @property
    def enabled(self) -> bool:
        return self.interval is not None

    def seconds_to_next(self) -> float:
        return max(0.0, self.next_due - self.clock())

    def tick(self) -> bool:
        """Ping if due and healthy; True when a ping was sent."""
        if self.interval is None:
            return False
        now = self.clock()
        if now < self.next_due:
            return False
        self.next_due = now + self.interval
        try:
            problem = self.health()
        except Exception as exc:  # noqa: BLE001 - a failing check is a failed check
            problem = f"health check raised {exc!r}"
        if problem:
            if problem != self.problem:
                log.error("unhealthy, withholding the systemd watchdog ping: %s", problem)
            self.problem = problem
            return False
        if self.problem:
            log.warning("healthy again; watchdog pings resume")
            self.problem = None
        return self.notifier.watchdog()
