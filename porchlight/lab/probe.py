"""Exit 0 when HOST PORT accepts a TCP connection, 1 otherwise.

The lab runs it inside a namespace (``ip netns exec NS python -m
porchlight.lab.probe HOST PORT``) to see whether a server there is up.
"""

from __future__ import annotations

import socket
import sys


def main(argv: list[str]) -> int:
    host, port = argv[0], int(argv[1])
    try:
        with socket.create_connection((host, port), timeout=1.0):
            return 0
    except OSError:
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
