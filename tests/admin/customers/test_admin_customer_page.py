"""The customer page: history, edit, group fix, merge, erase, JSON download, scope."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from porchlight.admin import schema

T0 = datetime(2026, 11, 20, 1, 30, tzinfo=UTC)  # 08:30 in Hồ Chí Minh City


@pytest.fixture
def guest(world, factory):
    return factory.customer(
        world.tenant_id, "An Nguyễn", "+84912345678", "an@x.vn",
        visits=[(world.q1, T0, "form"), (world.q3, T0 + timedelta(days=1), "zalo")],
        tags=["wifi"],
    )  # fmt: skip


def audit_actions(engine):
    with engine.connect() as conn:
        return [r.action for r in conn.execute(sa.select(schema.audit_log))]


@pytest.mark.both_dbs
def test_page_shows_history_in_local_time(owner_client, guest):
    html = owner_client.get(f"/customers/{guest}").get_data(as_text=True)
    assert "An Nguyễn" in html and "0912 345 678" in html
    assert "8:30" in html  # 01:30 UTC shown in the location's timezone
    assert "Zalo" in html and "Q3" in html and '<svg class="pin"' in html
    assert "42 min" in html  # dwell


@pytest.mark.both_dbs
def test_manager_of_another_location_gets_404_and_it_is_logged(
    factory, world, manager_client, engine
):
    only_q3 = factory.customer(world.tenant_id, "Q3 only", visits=[(world.q3, T0, "form")])
    assert manager_client.get(f"/customers/{only_q3}").status_code == 404
    assert manager_client.get(f"/customers/{only_q3}/data.json").status_code == 404
    assert "customer_denied" in audit_actions(engine)


def test_other_tenants_customer_is_404(owner_client, factory):
    other = factory.tenant("other")
    stranger = factory.customer(
        other, "Stranger", visits=[(factory.location(other, "X"), T0, "form")]
    )
    assert owner_client.get(f"/customers/{stranger}").status_code == 404


def test_manager_sees_only_their_locations_visits(manager_client, guest):
    html = manager_client.get(f"/customers/{guest}").get_data(as_text=True)
    assert "Q1" in html and '<span class="chip channel">Zalo' not in html  # Q3's login
    assert 'href="https://zalo.me/0912345678"' in html  # a chat by phone is not Q3's to hide


@pytest.mark.both_dbs
def test_edit_name_tags_notes_and_hostile_text(owner_client, guest, csrf, engine):
    evil = "<script>alert(1)</script>'; DROP TABLE customers;--"
    resp = owner_client.post(
        f"/customers/{guest}/edit",
        data={
            "csrf_token": csrf(owner_client, f"/customers/{guest}"),
            "name": evil,
            "tag": [],  # removes "wifi"
            "new_tags": "birthday, regular",
            "notes": "likes iced coffee\n" + evil,
            "group": "auto",
        },
    )
    assert resp.status_code == 302
    html = owner_client.get(f"/customers/{guest}").get_data(as_text=True)
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    with engine.connect() as conn:
        row = conn.execute(sa.select(schema.customers).where(schema.customers.c.id == guest)).one()
        tags = (
            conn.execute(
                sa.select(schema.tags.c.name)
                .join(schema.customer_tags)
                .where(schema.customer_tags.c.customer_id == guest)
            )
            .scalars()
            .all()
        )
    assert row.name == evil and row.notes.startswith("likes iced coffee")
    assert sorted(tags) == ["birthday", "regular"]
    assert "customer_edit" in audit_actions(engine)
    # the new tag is offered as a filter on the list
    assert 'value="birthday"' in owner_client.get("/customers").get_data(as_text=True)


def test_group_follows_visits_unless_fixed(owner_client, guest, csrf, engine):
    def group_name():
        with engine.connect() as conn:
            return conn.execute(
                sa.select(schema.groups.c.name)
                .join(schema.customers, schema.customers.c.group_id == schema.groups.c.id)
                .where(schema.customers.c.id == guest)
            ).scalar()

    assert group_name() == "Member"  # 2 visits: Member (1+)
    with engine.connect() as conn:
        vip = conn.execute(
            sa.select(schema.groups.c.id).where(schema.groups.c.name == "VIP")
        ).scalar()
    token = csrf(owner_client, f"/customers/{guest}")
    base = {"csrf_token": token, "name": "An", "tag": ["wifi"], "notes": ""}
    owner_client.post(f"/customers/{guest}/edit", data={**base, "group": str(vip)})
    assert group_name() == "VIP"
    # a threshold change does not move a fixed customer
    owner_client.post(
        "/groups", data={"csrf_token": token, "name": "Member", "min_visits": "1", "id": ""}
    )
    assert group_name() == "VIP"
    owner_client.post(f"/customers/{guest}/edit", data={**base, "group": "auto"})
    assert group_name() == "Member"


def test_threshold_edit_regroups(owner_client, guest, csrf, engine):
    with engine.connect() as conn:
        silver = conn.execute(
            sa.select(schema.groups.c.id).where(schema.groups.c.name == "Silver")
        ).scalar()
    token = csrf(owner_client, "/groups")
    resp = owner_client.post(
        "/groups", data={"csrf_token": token, "id": silver, "name": "Silver", "min_visits": "2"}
    )
    assert resp.status_code == 302
    html = owner_client.get(f"/customers/{guest}").get_data(as_text=True)
    assert 'class="chip group">Silver<' in html


def test_viewer_reads_but_cannot_edit(viewer_client, guest, csrf):
    html = viewer_client.get(f"/customers/{guest}").get_data(as_text=True)
    assert "An Nguyễn" in html and 'id="edit-form"' not in html
    resp = viewer_client.post(
        f"/customers/{guest}/edit",
        data={"csrf_token": csrf(viewer_client, f"/customers/{guest}"), "name": "x"},
    )
    assert resp.status_code == 403


@pytest.mark.both_dbs
def test_merge_moves_everything(owner_client, world, factory, guest, csrf, engine):
    dup = factory.customer(
        world.tenant_id, "", None, "an.other@x.vn",
        visits=[(world.q1, T0 + timedelta(days=5), "voucher")], tags=["vip"], spend_total=30,
    )  # fmt: skip
    page = owner_client.get(f"/customers/{guest}/merge?other=an.other@x.vn").get_data(as_text=True)
    assert f'name="other_id" value="{dup}"' in page
    resp = owner_client.post(
        f"/customers/{guest}/merge",
        data={"csrf_token": csrf(owner_client, f"/customers/{guest}"), "other_id": dup},
    )
    assert resp.status_code == 302
    assert owner_client.get(f"/customers/{dup}").status_code == 404
    with engine.connect() as conn:
        row = conn.execute(sa.select(schema.customers).where(schema.customers.c.id == guest)).one()
        visits = conn.execute(
            sa.select(sa.func.count()).where(schema.visits.c.customer_id == guest)
        ).scalar()
        q1 = conn.execute(
            sa.select(schema.customer_locations.c.visit_count).where(
                schema.customer_locations.c.customer_id == guest,
                schema.customer_locations.c.location_id == world.q1,
            )
        ).scalar()
    assert (row.visit_count, visits, q1) == (3, 3, 2)
    assert row.last_channel == "voucher" and row.email == "an@x.vn"
    assert float(row.spend_total) == 30
    assert "customer_merge" in audit_actions(engine)


@pytest.mark.both_dbs
def test_erase_removes_everything(owner_client, guest, csrf, engine):
    token = csrf(owner_client, f"/customers/{guest}")
    resp = owner_client.post(f"/customers/{guest}/delete", data={"csrf_token": token})
    assert resp.status_code == 302  # not confirmed: nothing happens
    assert owner_client.get(f"/customers/{guest}").status_code == 200
    owner_client.post(f"/customers/{guest}/delete", data={"csrf_token": token, "confirm": "yes"})
    assert owner_client.get(f"/customers/{guest}").status_code == 404
    with engine.connect() as conn:
        for table in (schema.visits, schema.customer_locations, schema.customer_tags):
            assert (
                conn.execute(
                    sa.select(sa.func.count()).where(table.c.customer_id == guest)
                ).scalar()
                == 0
            )
        details = conn.execute(
            sa.select(schema.audit_log.c.details).where(
                schema.audit_log.c.action == "customer_erase"
            )
        ).scalar_one()
    assert "An" not in json.dumps(details)  # no personal data left in the log


def test_json_download_has_everything(owner_client, guest, engine):
    resp = owner_client.get(f"/customers/{guest}/data.json")
    assert resp.status_code == 200
    assert "attachment" in resp.headers["Content-Disposition"]
    data = json.loads(resp.get_data(as_text=True))
    assert data["customer"]["phone"] == "+84912345678"
    assert len(data["visits"]) == 2 and data["tags"] == ["wifi"]
    assert "customer_download" in audit_actions(engine)
