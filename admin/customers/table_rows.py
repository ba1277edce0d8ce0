"""The customer list's table rows: one page's details, read and put into words.

`page_details` reads the page's customers (the columns the table shows), their
tags and, in a location's list, their visits there; `table_rows` turns each
into a `TableRow` whose cells are text, so the template writes them out and
calls nothing per cell. (At 50 rows the template's per-cell calls and a dict's
failed attribute look-ups cost ~9 ms of a ~45 ms page.)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from porchlight.admin import schema
from porchlight.admin.i18n import fmt_dt, fmt_money, fmt_number
from porchlight.phones import display_phone

SHOWN_TAGS = 4  # chips in a row; the rest is "+N"


@dataclass(slots=True, frozen=True)
class TableRow:
    id: int
    name: str | None
    phone: str  # as read on screen (0912 345 678)
    email: str
    tags: list[str]  # the first SHOWN_TAGS, by name
    more_tags: int
    group: str | None  # the group's name
    visits: str
    last_visit: str  # "" when never
    last_place: str | None  # where, when the list is not one location's
    channel: str | None  # the last login channel, in words
    spend: str


def list_phone(e164: str) -> str:
    """`display_phone`, with a fast path for Vietnamese mobiles (0912 345 678)."""
    if len(e164) == 12 and e164.startswith("+84") and e164[3] in "35789":
        national = "0" + e164[3:]
        return f"{national[:4]} {national[4:7]} {national[7:]}"
    return display_phone(e164)


_c = schema.customers
_SHOWN = (
    _c.c.id,
    _c.c.name,
    _c.c.phone,
    _c.c.email,
    _c.c.group_id,
    _c.c.visit_count,
    _c.c.spend_total,
    _c.c.last_visit_at,
    _c.c.last_channel,
    _c.c.last_location_id,
)


def page_details(
    conn: Connection,
    ids: list[int],
    location: int | None,
    scope: list[int] | None,
) -> list[dict[str, Any]]:
    """The page's customers in `ids` order, with ``tags``; a location's list (or a
    manager's) counts visits and the last visit at those places only."""
    if not ids:
        return []
    ct, t, cl = schema.customer_tags, schema.tags, schema.customer_locations
    shown = conn.execute(sa.select(*_SHOWN).where(_c.c.id.in_(ids)))
    rows = {r.id: dict(r._mapping) for r in shown}
    tags: dict[int, list[str]] = {}
    for r in conn.execute(
        sa.select(ct.c.customer_id, t.c.name)
        .join(t, t.c.id == ct.c.tag_id)
        .where(ct.c.customer_id.in_(ids))
        .order_by(t.c.name)
    ):
        tags.setdefault(r.customer_id, []).append(r.name)
    local: dict[int, tuple[int, Any]] = {}
    places = [location] if location is not None else scope
    if places is not None:
        query = (
            sa.select(
                cl.c.customer_id,
                sa.func.sum(cl.c.visit_count).label("visits"),
                sa.func.max(cl.c.last_visit_at).label("last"),
            )
            .where(cl.c.customer_id.in_(ids), cl.c.location_id.in_(places))
            .group_by(cl.c.customer_id)
        )
        for agg in conn.execute(query):
            local[agg.customer_id] = (int(agg.visits or 0), agg.last)
    out = []
    for cid in ids:
        row = rows.get(cid)
        if row is None:
            continue
        row["tags"] = tags.get(cid, [])
        if places is not None:
            row["visit_count"], row["last_visit_at"] = local.get(cid, (0, None))
            if location is not None:
                row["last_location_id"] = location
        out.append(row)
    return out


def table_rows(
    rows: list[dict[str, Any]],
    *,
    locations: Mapping[int, Any],
    groups: Mapping[int, Any],
    channel_labels: Mapping[str, str],
    country: str,
    one_location: bool,
) -> list[TableRow]:
    """`page_details` rows in words, in the signed-in user's locale; `one_location`:
    the list is one place's, so a row does not name it."""
    out = []
    for r in rows:
        place = locations.get(r["last_location_id"])
        group = groups.get(r["group_id"]) if r["group_id"] else None
        channel = r["last_channel"]
        out.append(
            TableRow(
                id=r["id"],
                name=r["name"],
                phone=list_phone(r["phone"]) if r["phone"] else "",
                email=r["email"] or "",
                tags=r["tags"][:SHOWN_TAGS],
                more_tags=max(len(r["tags"]) - SHOWN_TAGS, 0),
                group=group.name if group is not None else None,
                visits=fmt_number(r["visit_count"]),
                last_visit=(
                    fmt_dt(r["last_visit_at"], place.timezone if place is not None else None)
                    if r["last_visit_at"]
                    else ""
                ),
                last_place=place.name if place is not None and not one_location else None,
                channel=channel_labels.get(channel, channel) if channel else None,
                spend=fmt_money(r["spend_total"], country),
            )
        )
    return out
