"""Shared fixtures and the rules for tests that need root, PostgreSQL or Chromium.

Root, PostgreSQL and browser tests skip with a clear reason on a developer box
that lacks them; with PORCHLIGHT_REQUIRE_ALL=1 (set by scripts/test, so CI)
a missing prerequisite fails the test instead of skipping it.
"""

from __future__ import annotations

import os
import shutil

import pytest

REQUIRE_ALL = os.environ.get("PORCHLIGHT_REQUIRE_ALL") == "1"


def _missing(item: pytest.Item) -> str | None:
    if item.get_closest_marker("root"):
        if os.geteuid() != 0:
            return "needs root (network namespaces, nftables)"
        for tool in ("nft", "ip", "dnsmasq"):
            if shutil.which(tool) is None:
                return f"needs the {tool} binary"
    if item.get_closest_marker("pg") and not os.environ.get("PORCHLIGHT_TEST_PG_URL"):
        return "needs PORCHLIGHT_TEST_PG_URL (a real PostgreSQL server; scripts/test sets it)"
    if item.get_closest_marker("browser") and shutil.which("chromium") is None:
        return "needs Debian's chromium (apt-get install chromium)"
    return None


def pytest_runtest_setup(item: pytest.Item) -> None:
    reason = _missing(item)
    if reason is None:
        return
    if REQUIRE_ALL:
        pytest.fail(f"prerequisite missing: {reason}", pytrace=False)
    pytest.skip(reason)
