"""The dashboard's channel ranking counts LINE customers like any other channel."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest


@pytest.mark.both_dbs
def test_line_ranks_among_the_channels(owner_client, world, factory):
    now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    for n in range(3):
        factory.customer(
            world.tenant_id, f"LINE {n}", visits=[(world.q1, now - timedelta(days=1), "line")]
        )
    factory.customer(world.tenant_id, "Zalo", visits=[(world.q1, now - timedelta(days=2), "zalo")])
    html = owner_client.get("/?days=7").get_data(as_text=True)
    assert re.search(r"LINE.*most.*Zalo.*fewest", html, re.S)
