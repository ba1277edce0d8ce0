"""What stops a first boot: the message (for porchlight.txt and the console) and the exit status.

firstboot.py and adoption.py both raise it; porchlight-firstboot.service reads
the status: 3 a problem only a person can fix, 1 worth retrying.
"""

from __future__ import annotations

FIX_BY_HAND = 3
RETRY = 1


class Problem(Exception):
    def __init__(self, message: str, exit_code: int = FIX_BY_HAND) -> None:
        super().__init__(message)
        self.message = message
        self.exit_code = exit_code
