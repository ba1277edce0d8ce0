"""Portal fixtures: a fake agent on a real Unix socket, the app, a guest's client."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from portal_fake_agent import FakeAgent
from portal_helpers import GUEST_IP, GUEST_MAC, PORTAL, phone_client

from porchlight.portal.app import create_app


@pytest.fixture
def agent() -> Iterator[FakeAgent]:
    fake = FakeAgent().start()
    fake.add_client(GUEST_IP, GUEST_MAC)
    try:
        yield fake
    finally:
        fake.cleanup()


@pytest.fixture
def app(agent):
    return create_app(
        {
            "SECRET_KEY": "test-secret",
            "AGENT_SOCKET": agent.path,
            "PORTAL_URL": PORTAL,
            "CONFIG_CACHE_SECONDS": 0.0,
        }
    )


@pytest.fixture
def guest(app):
    """A phone on the LAN talking to the portal (requests reach it by its own URL)."""
    return phone_client(app)
