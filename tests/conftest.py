"""Shared fixtures and the rules for tests that need root, PostgreSQL or Chromium.

Root, PostgreSQL and browser tests skip with a clear reason on a developer box
that lacks them; with PORCHLIGHT_REQUIRE_ALL=1 (set by scripts/test, so CI)
a missing prerequisite fails the test instead of skipping it.
"""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from werkzeug.serving import make_server

REQUIRE_ALL = os.environ.get("PORCHLIGHT_REQUIRE_ALL") == "1"

# Debian's chromium, headless; without the background-networking flags it
# keeps trying to reach Google's hosts, which this machine's network refuses.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]


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
    if item.get_closest_marker("nginx") and not (
        shutil.which("nginx") or os.path.exists("/usr/sbin/nginx")
    ):
        return "needs Debian's nginx (apt-get install nginx)"
    return None


def pytest_runtest_setup(item: pytest.Item) -> None:
    reason = _missing(item)
    if reason is None:
        return
    if REQUIRE_ALL:
        pytest.fail(f"prerequisite missing: {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Debian's headless Chromium through Playwright (never `playwright install`)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(
            executable_path=shutil.which("chromium"), headless=True, args=CHROMIUM_ARGS
        )
        yield chromium
        chromium.close()


@pytest.fixture
def serve_wsgi() -> Iterator[Callable[[Any], str]]:
    """Start WSGI apps on free loopback ports (stopped after the test); gives their URLs."""
    running: list[tuple[Any, threading.Thread]] = []

    def start(app: Any) -> str:
        server = make_server("127.0.0.1", 0, app, threaded=True)
        thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
        thread.start()
        running.append((server, thread))
        return f"http://127.0.0.1:{server.server_port}"

    yield start
    for server, thread in running:
        server.shutdown()
        thread.join()
