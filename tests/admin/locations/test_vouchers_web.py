"""Voucher batches: generate, reach the routers' config, print, usage, void."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from porchlight.admin import schema
from porchlight.admin.locations.vouchers import ALPHABET, CODE_LENGTH
from porchlight.admin.sync.location_config import build_location_config


def generate(client: Any, tok: Any, location_id: int, **fields: str) -> Any:
    path = f"/locations/{location_id}/vouchers"
    data = {"count": "10", "duration": "2", "unit": "hours", "max_uses": "1", "max_devices": "1"}
    data.update(fields)
    data["csrf_token"] = tok(client, path)
    return client.post(path, data=data)


def codes(engine: Any) -> list[str]:
    with engine.connect() as conn:
        return conn.execute(sa.select(schema.vouchers.c.code)).scalars().all()


def config_vouchers(engine: Any, location_id: int) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        return build_location_config(conn, location_id)[0]["vouchers"]


@pytest.mark.both_dbs
def test_a_batch_makes_unique_readable_codes_the_routers_receive(
    owner_client: Any, tok: Any, engine: Any, world: Any
) -> None:
    response = generate(
        owner_client,
        tok,
        world.q1,
        count="25",
        duration="90",
        unit="minutes",
        max_uses="3",
        max_devices="2",
        note="Weekend",
    )
    assert response.status_code == 302
    made = codes(engine)
    assert len(made) == len(set(made)) == 25
    assert all(len(c) == CODE_LENGTH and set(c) <= set(ALPHABET) for c in made)
    sent = config_vouchers(engine, world.q1)
    assert sorted(v["code"] for v in sent) == sorted(made)
    assert {(v["duration_seconds"], v["max_uses"], v["max_devices"]) for v in sent} == {
        (5400, 3, 2)
    }
    assert config_vouchers(engine, world.q3) == []
    batch_page = owner_client.get(response.location).get_data(as_text=True)
    assert all(c in batch_page for c in made)
    with engine.connect() as conn:
        audit = conn.execute(
            sa.select(schema.audit_log.c.details).where(
                schema.audit_log.c.action == "voucher_batch_create"
            )
        ).scalar_one()
    assert audit["count"] == 25 and audit["duration_seconds"] == 5400


def test_printable_cards_show_each_unused_code(
    owner_client: Any, tok: Any, engine: Any, world: Any
) -> None:
    response = generate(owner_client, tok, world.q1, count="4")
    html = owner_client.get(response.location + "/print").get_data(as_text=True)
    assert html.count('data-testid="voucher-card"') == 4
    assert all(c in html for c in codes(engine))


def test_usage_shows_who_used_a_code(
    owner_client: Any, tok: Any, engine: Any, world: Any, factory: Any
) -> None:
    response = generate(owner_client, tok, world.q1, count="2")
    guest = factory.customer(world.tenant_id, "Lê Văn Cường", phone="+84911111111")
    with engine.begin() as conn:
        voucher = conn.execute(sa.select(schema.vouchers).order_by(schema.vouchers.c.code)).first()
        conn.execute(
            schema.vouchers.update().where(schema.vouchers.c.id == voucher.id).values(uses=1)
        )
        conn.execute(
            schema.voucher_uses.insert().values(
                voucher_id=voucher.id,
                mac="a2:00:00:00:00:09",
                customer_id=guest,
                used_at=datetime.now(UTC),
            )
        )
    page = owner_client.get(response.location).get_data(as_text=True)
    assert "Lê Văn Cường" in page and "a2:00:00:00:00:09" in page
    cards = owner_client.get(response.location + "/print").get_data(as_text=True)
    assert voucher.code not in cards  # used up: not printed again
    listing = owner_client.get(f"/locations/{world.q1}/vouchers").get_data(as_text=True)
    # the batch line: 2 codes, 1 used
    assert re.search(r'<td class="num">2</td>\s*<td class="num">1</td>', listing)


def test_void_takes_the_batch_out_of_the_routers_config(
    owner_client: Any, tok: Any, engine: Any, world: Any
) -> None:
    response = generate(owner_client, tok, world.q1, count="3")
    assert len(config_vouchers(engine, world.q1)) == 3
    owner_client.post(
        response.location + "/void", data={"csrf_token": tok(owner_client, response.location)}
    )
    assert config_vouchers(engine, world.q1) == []
    assert "Voided" in owner_client.get(response.location).get_data(as_text=True)
    with engine.connect() as conn:
        assert (
            "voucher_batch_void"
            in conn.execute(sa.select(schema.audit_log.c.action)).scalars().all()
        )


def test_bad_batch_fields_make_no_codes(
    owner_client: Any, tok: Any, engine: Any, world: Any
) -> None:
    yesterday = (date.today() - timedelta(days=2)).isoformat()
    for fields, field in (
        ({"count": "0"}, "count"),
        ({"count": "100000"}, "count"),
        ({"duration": "0"}, "duration"),
        ({"duration": "31", "unit": "days"}, "duration"),
        ({"max_devices": "50"}, "max_devices"),
        ({"expires_on": yesterday}, "expires_on"),
        ({"expires_on": "not-a-date"}, "expires_on"),
    ):
        response = generate(owner_client, tok, world.q1, **fields)
        assert response.status_code == 422, fields
        assert f'id="err-{field}"' in response.get_data(as_text=True), fields
    assert codes(engine) == []


@pytest.mark.both_dbs
def test_expiry_is_the_end_of_the_chosen_day_at_the_location(
    owner_client: Any, tok: Any, engine: Any, world: Any
) -> None:
    day = (date.today() + timedelta(days=10)).isoformat()
    generate(owner_client, tok, world.q1, count="1", expires_on=day)
    (sent,) = config_vouchers(engine, world.q1)
    # 23:59:59 in Asia/Ho_Chi_Minh (UTC+7) is 16:59:59Z
    assert sent["expires_at"] == f"{day}T16:59:59Z"


def test_viewer_and_other_managers_cannot_make_vouchers(
    viewer_client: Any, manager_client: Any, tok: Any, engine: Any, world: Any
) -> None:
    assert generate(viewer_client, tok, world.q1).status_code == 403
    path = f"/locations/{world.q3}/vouchers"
    data = {
        "count": "5",
        "duration": "1",
        "unit": "hours",
        "max_uses": "1",
        "max_devices": "1",
        "csrf_token": tok(manager_client, f"/locations/{world.q1}/vouchers"),
    }
    assert manager_client.post(path, data=data).status_code == 404
    assert codes(engine) == []
