"""Issue 15, findings 5 and 6, in the admin's guest-page settings: the walled garden
refuses what would open a country or the LAN (in the manager's language), and the
social logins' own domains are shown, read-only, next to it."""

from __future__ import annotations

import re
from typing import Any

from test_guest_page_web import config, new_session_id, page, save

from porchlight.walled_garden import SOCIAL_DOMAINS


def test_turned_on_social_logins_show_their_domains_read_only(
    owner_client: Any, tok: Any, engine: Any, world: Any
) -> None:
    html = owner_client.get(page(world.q1)).get_data(as_text=True)
    assert 'id="social-walled"' not in html
    answer = save(
        owner_client, tok, engine, world.q1, channel_google="on", channel_zalo="on",
        walled_garden="pay.example.com",
    )  # fmt: skip
    assert answer.status_code == 302
    html = owner_client.get(page(world.q1)).get_data(as_text=True)
    listed = html[html.index('id="social-walled"') :]
    listed = listed[: listed.index("</div>")]
    assert all(domain in listed for domain in SOCIAL_DOMAINS["google"] + SOCIAL_DOMAINS["zalo"])
    assert "facebook.com" not in listed
    textarea = re.search(r'<textarea name="walled_garden"[^>]*>([^<]*)</textarea>', html)
    assert textarea and textarea.group(1).strip() == "pay.example.com"  # not editable there


def test_a_public_suffix_is_refused_in_the_managers_language(
    app: Any, factory: Any, tok: Any, engine: Any, world: Any
) -> None:
    user = factory.user(world.tenant_id, "manager", locations=[world.q1], locale="vi")
    client = app.test_client()
    with client.session_transaction() as session:
        session["_user_id"] = new_session_id(app, user["id"])
    answer = save(client, tok, engine, world.q1, walled_garden="zalo.me\ncom.vn\n10.0.0.0/8")
    html = answer.get_data(as_text=True)
    assert answer.status_code == 422
    assert "“com.vn” là hậu tố công khai" in html
    assert "“10.0.0.0/8” là dải địa chỉ nội bộ" in html


def test_router_ports_and_client_isolation_reach_the_routers_config(
    owner_client: Any, tok: Any, engine: Any, world: Any
) -> None:
    """Issue 15, finding 4: the router's ports are opt-in per location; isolation is on
    by default and switchable (the agent applies both, see test_gate_integrity_root)."""
    assert config(engine, world.q1)[0]["lan"] == {
        "router_tcp_ports": [],
        "router_udp_ports": [],
        "client_isolation": True,
    }
    bad = save(owner_client, tok, engine, world.q1, router_tcp_ports="22, 70000")
    assert bad.status_code == 422 and "“70000” is not a port" in bad.get_data(as_text=True)
    good = save(
        owner_client, tok, engine, world.q1, router_tcp_ports="2222 22", router_udp_ports="",
        client_isolation="",
    )  # fmt: skip
    assert good.status_code == 302
    assert config(engine, world.q1)[0]["lan"] == {
        "router_tcp_ports": [22, 2222],
        "router_udp_ports": [],
        "client_isolation": False,
    }
    from porchlight.agent.config import validate_config

    assert validate_config(config(engine, world.q1)[0])["lan"]["router_tcp_ports"] == [22, 2222]
