"""A LINE login through the real agent: the MAC is let in, the follow answer is in the outbox."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from portal_helpers import PORTAL, form_post, phone_client
from test_line_login import LINE_USER, FakeLine

from porchlight.portal.app import create_app

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "agent"))
from agentkit import started_agent  # noqa: E402  (the agent's own test runner)

MAC = "3a:10:20:30:40:51"
IP = "10.99.0.43"


@pytest.fixture
def line():
    fake = FakeLine()
    yield fake
    fake.server.shutdown()
    fake.server.server_close()


def test_line_login_through_the_real_agent(tmp_path, line):
    with started_agent(tmp_path) as (agent, kernel):
        agent.gate.seen(MAC, ip=IP)
        config = json.loads(json.dumps(agent.gate.config))
        config["portal"]["channels"] = ["form", "line"]
        config["portal"]["chat"] = {"line_oa": "@porchcafe", "line_bot_prompt": "aggressive"}
        agent.apply_config(config)
        base = line.base
        app = create_app(
            {
                "SECRET_KEY": "t",
                "AGENT_SOCKET": str(agent.server.path),
                "PORTAL_URL": PORTAL,
                "CONFIG_CACHE_SECONDS": 0.0,
                "OAUTH_PROVIDERS": {
                    "line": {
                        "client_id": "1657000000",
                        "client_secret": "line-s3cret",
                        "authorize_url": f"{base}/oauth2/v2.1/authorize",
                        "token_url": f"{base}/oauth2/v2.1/token",
                        "userinfo_url": f"{base}/oauth2/v2.1/verify",
                        "friendship_url": f"{base}/friendship/v1/status",
                    }
                },
            }
        )
        phone = phone_client(app, IP)
        start = form_post(phone, {"channel": "line", "consent_wifi": "yes"})
        assert start.status_code == 303 and "bot_prompt=aggressive" in start.headers["Location"]
        done = phone.get(line.approve(start.headers["Location"]))
        assert done.status_code == 303
        assert MAC in kernel.sets["allowed"]
        events = [json.loads(row["body"]) for row in agent.db.query("SELECT body FROM outbox")]
        login = next(e for e in events if e["type"] == "login")["data"]
    assert login["channel"] == "line"
    assert login["social_id"] == f"line:{LINE_USER}"
    assert {"purpose": "line_follow", "granted": True, "text_version": "line-oa:@porchcafe"} in (
        login["consents"]
    )
