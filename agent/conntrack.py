"""conntrack adapter: flush a client's connections after deauth.

`conntrack -D` exits 1 when nothing matched ("0 flow entries have been
deleted"); that is success here, every other failure raises.
"""

from __future__ import annotations

import ipaddress
import logging

from porchlight.agent.runner import CommandError, Runner, run

log = logging.getLogger(__name__)

CONNTRACK_TIMEOUT = 5.0


class ConntrackError(CommandError):
    """`conntrack` failed."""


class Conntrack:
    def __init__(self, runner: Runner = run, binary: str = "conntrack") -> None:
        self.runner = runner
        self.binary = binary

    def flush_argvs(self, ip: str) -> list[list[str]]:
        address = ipaddress.ip_address(ip)
        family = "ipv4" if address.version == 4 else "ipv6"
        return [
            [self.binary, "-D", "-f", family, "-s", str(address)],
            [self.binary, "-D", "-f", family, "-d", str(address)],
        ]

    def flush(self, ip: str) -> None:
        """Delete every tracked connection from or to `ip`."""
        for argv in self.flush_argvs(ip):
            try:
                self.runner(argv, CONNTRACK_TIMEOUT, None)
            except CommandError as exc:
                if exc.returncode == 1 and "0 flow entries" in exc.stderr:
                    continue
                raise ConntrackError(
                    argv, exc.message, returncode=exc.returncode, stderr=exc.stderr
                ) from exc
