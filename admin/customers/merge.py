"""Merge two customers (blueprint ``customers_merge``): one person, one row.

The customer whose page you are on is kept; the duplicate's visits,
devices, consents, tags, channels, Messenger contacts and per-location counters move to it, its
counters are added, empty fields are filled from it, and it is deleted — all
in one transaction, audited.
"""

from __future__ import annotations

import logging
from typing import Any

import sqlalchemy as sa
from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from sqlalchemy.engine import Connection

from porchlight.admin import schema
from porchlight.admin.audit import audit
from porchlight.admin.customers import channel_rollup, customer_rollup
from porchlight.admin.customers.groups import assign_group
from porchlight.admin.customers.list_page import tenant_region
from porchlight.admin.customers.page import in_scope, load_customer
from porchlight.admin.customers.query import text_condition
from porchlight.admin.db import get_engine, utcnow
from porchlight.admin.scope import current_tenant_id, require_role
from porchlight.phones import display_phone

log = logging.getLogger(__name__)

bp = Blueprint("customers_merge", __name__)
c = schema.customers
FILLABLE = (
    "phone", "email", "social_provider", "social_id", "external_code", "address",
    "province", "postal_code", "birthday", "gender",
)  # fmt: skip


def find_other(conn: Connection, tenant_id: int, keep_id: int, text: str) -> list[Any]:
    text = text.strip()[:100]
    if not text:
        return []
    if text.lstrip("#").isdigit() and len(text.lstrip("#")) < 9:
        cond = c.c.id == int(text.lstrip("#"))
    else:
        cond = text_condition(text, tenant_region(conn, tenant_id), conn.dialect.name, tenant_id)
    return list(
        conn.execute(
            sa.select(c).where(c.c.tenant_id == tenant_id, c.c.id != keep_id, cond).limit(5)
        )
    )


def _move_messenger_contacts(conn: Connection, keep_id: int, drop_id: int) -> None:
    """A PSID per Page: the kept customer's wins; the rest move (the drop's go with it)."""
    mc = schema.messenger_contacts.c
    pages = sa.select(mc.page_id).where(mc.customer_id == keep_id)
    conn.execute(
        schema.messenger_contacts.update()
        .where(mc.customer_id == drop_id, mc.page_id.not_in(pages))
        .values(customer_id=keep_id)
    )


def _merge_channels(conn: Connection, tenant_id: int, keep_id: int, drop_id: int) -> None:
    """Drop's login channels onto keep, each with the later last visit (and channel_hours).

    Also takes both away from customer_hours: merge_customers adds keep back at its end.
    """
    cc = schema.customer_channels
    channel_rollup.subtract(conn, [keep_id, drop_id])
    customer_rollup.subtract(conn, [keep_id, drop_id])
    mine = dict(
        conn.execute(
            sa.select(cc.c.channel, cc.c.last_visit_at).where(cc.c.customer_id == keep_id)
        ).all()
    )
    for channel, last in conn.execute(
        sa.select(cc.c.channel, cc.c.last_visit_at).where(cc.c.customer_id == drop_id)
    ).all():
        if channel not in mine:
            conn.execute(
                cc.insert().values(
                    customer_id=keep_id, channel=channel, tenant_id=tenant_id, last_visit_at=last
                )
            )
        elif last is not None and _max(mine[channel], last) != mine[channel]:
            conn.execute(
                cc.update()
                .where(cc.c.customer_id == keep_id, cc.c.channel == channel)
                .values(last_visit_at=last)
            )
    channel_rollup.add(conn, [keep_id])


def merge_customers(conn: Connection, tenant_id: int, keep_id: int, drop_id: int) -> None:
    """Move everything of `drop_id` onto `keep_id` and delete `drop_id`."""
    keep = conn.execute(sa.select(c).where(c.c.id == keep_id)).one()
    drop = conn.execute(sa.select(c).where(c.c.id == drop_id)).one()
    # Visits only change customer (same location and hour): visit_hours stays right.
    for table in (schema.visits, schema.consents):
        conn.execute(
            table.update().where(table.c.customer_id == drop_id).values(customer_id=keep_id)
        )
    conn.execute(
        schema.voucher_uses.update()
        .where(schema.voucher_uses.c.customer_id == drop_id)
        .values(customer_id=keep_id)
    )
    d = schema.devices
    keep_macs = set(conn.execute(sa.select(d.c.mac).where(d.c.customer_id == keep_id)).scalars())
    conn.execute(
        d.update()
        .where(d.c.customer_id == drop_id, d.c.mac.not_in(keep_macs or {""}))
        .values(customer_id=keep_id)
    )
    for table, key in (
        (schema.customer_tags, "tag_id"),
        (schema.customer_selections, "user_id"),
    ):
        have = set(
            conn.execute(sa.select(table.c[key]).where(table.c.customer_id == keep_id)).scalars()
        )
        for value in conn.execute(
            sa.select(table.c[key]).where(table.c.customer_id == drop_id)
        ).scalars():
            if value not in have:
                conn.execute(table.insert().values(customer_id=keep_id, **{key: value}))
    _move_messenger_contacts(conn, keep_id, drop_id)
    _merge_channels(conn, keep.tenant_id, keep_id, drop_id)
    cl = schema.customer_locations
    mine = {
        r.location_id: r for r in conn.execute(sa.select(cl).where(cl.c.customer_id == keep_id))
    }
    for r in conn.execute(sa.select(cl).where(cl.c.customer_id == drop_id)).all():
        if r.location_id in mine:
            m = mine[r.location_id]
            conn.execute(
                cl.update()
                .where(cl.c.customer_id == keep_id, cl.c.location_id == r.location_id)
                .values(
                    visit_count=m.visit_count + r.visit_count,
                    first_visit_at=_min(m.first_visit_at, r.first_visit_at),
                    last_visit_at=_max(m.last_visit_at, r.last_visit_at),
                )
            )
        else:
            conn.execute(
                cl.insert().values(
                    customer_id=keep_id,
                    location_id=r.location_id,
                    visit_count=r.visit_count,
                    first_visit_at=r.first_visit_at,
                    last_visit_at=r.last_visit_at,
                )
            )
    later = drop if _max(keep.last_visit_at, drop.last_visit_at) != keep.last_visit_at else keep
    values: dict[str, Any] = {
        "visit_count": keep.visit_count + drop.visit_count,
        "spend_total": keep.spend_total + drop.spend_total,
        "first_visit_at": _min(keep.first_visit_at, drop.first_visit_at),
        "last_visit_at": _max(keep.last_visit_at, drop.last_visit_at),
        "last_channel": later.last_channel or keep.last_channel,
        "last_location_id": later.last_location_id or keep.last_location_id,
        "created_at": min(keep.created_at, drop.created_at),
        "updated_at": utcnow(),
        "name": keep.name or drop.name,
        "notes": "\n\n".join(n for n in (keep.notes, drop.notes) if n),
    }
    fill = {f: getattr(drop, f) for f in FILLABLE if getattr(keep, f) in (None, "")}
    conn.execute(c.delete().where(c.c.id == drop_id))  # frees its phone/e-mail first
    conn.execute(c.update().where(c.c.id == keep_id).values(**values, **fill))
    assign_group(conn, tenant_id, keep_id)
    customer_rollup.add(conn, [keep_id])  # first/last visits as merged


def _min(a: Any, b: Any) -> Any:
    return b if a is None else a if b is None else min(a, b)


def _max(a: Any, b: Any) -> Any:
    return b if a is None else a if b is None else max(a, b)


@bp.route("/customers/<int:customer_id>/merge", methods=["GET", "POST"])
@require_role("owner", "manager")
def merge(customer_id: int) -> ResponseReturnValue:
    tenant_id = current_tenant_id()
    engine = get_engine()
    if request.method == "GET":
        with engine.connect() as conn:
            keep, _scope = load_customer(conn, customer_id)
            text = request.args.get("other", "")
            found = []
            for row in find_other(conn, tenant_id, customer_id, text):
                if in_scope(conn, row.id, _scope):
                    found.append(row)
        return render_template(
            "merge.html", keep=keep, found=found, text=text, display_phone=display_phone
        )
    raw = request.form.get("other_id", "")
    if not raw.isdigit() or int(raw) == customer_id:
        flash(_("Pick the duplicate customer to merge."), "error")
        return redirect(url_for("customers_page.show", customer_id=customer_id))
    with engine.begin() as conn:
        load_customer(conn, customer_id)
        drop, _scope = load_customer(conn, int(raw))
        merge_customers(conn, tenant_id, customer_id, drop.id)
        audit(
            conn,
            "customer_merge",
            "customer",
            customer_id,
            {"merged": drop.id, "visits": drop.visit_count},
        )
    flash(_("Merged: the duplicate's visits and details are now on this customer."), "success")
    return redirect(url_for("customers_page.show", customer_id=customer_id))
