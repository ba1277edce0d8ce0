"""Typed errors shared by every part.

A `PorchlightError` raised out of a CLI command becomes one line on stderr and
a non-zero exit, never a traceback.
"""

from __future__ import annotations


class PorchlightError(Exception):
    """An error with a message meant for the person at the keyboard."""

    exit_code = 1

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        if self.hint:
            return f"{self.message} ({self.hint})"
        return self.message


class UsageError(PorchlightError):
    """The command was called wrongly (bad MAC, bad option value...)."""

    exit_code = 2
