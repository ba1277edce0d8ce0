"""`porchlight admin seed`: bulk demo data for benchmarks."""

from __future__ import annotations

from typing import Any


def register(sub: Any) -> None:
    pass
