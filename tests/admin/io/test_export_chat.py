"""The export carries each customer's login channels and whether they follow the venue."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from test_export import export, read_csv, read_xlsx

from porchlight.admin import schema

VISIT = datetime(2026, 11, 20, 3, 30, tzinfo=UTC)


def follow(engine, world, customer_id, purpose, granted, when):
    with engine.begin() as conn:
        conn.execute(
            schema.consents.insert().values(
                tenant_id=world.tenant_id,
                customer_id=customer_id,
                purpose=purpose,
                granted=granted,
                text_version="line-oa:@porchcafe",
                location_id=world.q1,
                given_at=when,
                received_at=when,
            )
        )


@pytest.fixture
def chatters(engine, factory, world):
    somchai = factory.customer(
        world.tenant_id, "Somchai", "+66812345678",
        visits=[(world.q1, VISIT, "form"), (world.q1, VISIT + timedelta(days=1), "line")],
    )  # fmt: skip
    follow(engine, world, somchai, "line_follow", True, VISIT)
    blocked = factory.customer(world.tenant_id, "Blocked", "+66812345679",
                               visits=[(world.q1, VISIT, "line")])  # fmt: skip
    follow(engine, world, blocked, "line_follow", True, VISIT)
    follow(engine, world, blocked, "line_follow", False, VISIT + timedelta(days=2))
    factory.customer(
        world.tenant_id, "Never asked", "+66812345670", visits=[(world.q1, VISIT, "click")]
    )
    return somchai


@pytest.mark.both_dbs
def test_export_has_channels_and_follow_status(engine, world, chatters, tmp_path):
    rows = read_csv(Path(export(engine, world, tmp_path, "csv", lang="en")["path"]))
    header = rows[0]
    channels, line, zalo = (
        header.index(h) for h in ("Login channels", "LINE friend", "Zalo follower")
    )
    by_name = {row[1]: row for row in rows[1:]}
    assert by_name["Somchai"][channels] == "Form, LINE"
    assert (by_name["Somchai"][line], by_name["Somchai"][zalo]) == ("yes", "")
    assert by_name["Blocked"][line] == "no"  # the newest answer counts
    assert by_name["Never asked"][line] == ""


def test_export_in_thai_and_the_follows_filter(engine, world, chatters, tmp_path):
    rows = read_xlsx(Path(export(engine, world, tmp_path, "xlsx", lang="th",
                                 scope="filtered", filters_qs="follows=line")["path"]))  # fmt: skip
    header = rows[0]
    assert "ช่องทางเข้าสู่ระบบทั้งหมด" in header and "เพื่อนใน LINE" in header
    assert [row[1] for row in rows[1:]] == ["Somchai"]
    assert rows[1][header.index("เพื่อนใน LINE")] == "ใช่"
