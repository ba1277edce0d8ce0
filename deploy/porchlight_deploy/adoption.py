"""Adoption without a code: announce to the baked-in admin and wait (first boot)."""

from __future__ import annotations

from typing import Any

from .firstboot_problem import Problem


def adopt(ctx: Any, setup: Any, baked: dict[str, Any], lan: str, wan: str) -> None:
    raise Problem("porchlight.txt has no code: put the enrollment code from the admin in it")
