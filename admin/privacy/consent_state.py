"""A customer's current consent per purpose: their newest answer (given_at, then id).

A guest who ticked marketing at one login and withdrew it from "My data"
later has the withdrawal as the newest answer: no current marketing consent.
`current_consent` is the SQL condition (list filter, marketing exports; the
index ``ix_consents_customer_purpose`` makes it a short look-up per customer);
`granted_versions` reads the text versions the current consents agreed to.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from porchlight.admin import schema

CONSENT_FILTERS = ("marketing", "no_marketing")


def current_consent(customer_id: Any, purpose: str = "marketing") -> sa.ColumnElement[bool]:
    """True when the customer's newest `purpose` answer is a yes."""
    k1, k2 = schema.consents.alias(), schema.consents.alias()
    newer = sa.exists().where(
        k2.c.customer_id == k1.c.customer_id,
        k2.c.purpose == purpose,
        sa.or_(
            k2.c.given_at > k1.c.given_at,
            sa.and_(k2.c.given_at == k1.c.given_at, k2.c.id > k1.c.id),
        ),
    )
    return sa.exists().where(
        k1.c.customer_id == customer_id,
        k1.c.purpose == purpose,
        k1.c.granted.is_(True),
        ~newer,
    )


def consent_condition(value: str | None, customer_id: Any) -> sa.ColumnElement[bool] | None:
    """The list filter ``consent``: "marketing" (current yes) or "no_marketing" (anything else)."""
    if value == "marketing":
        return current_consent(customer_id)
    if value == "no_marketing":
        return ~current_consent(customer_id)
    return None


def granted_versions(
    conn: Connection, ids: list[int], purpose: str = "marketing"
) -> dict[int, str]:
    """{customer id: text version} of the customers among `ids` whose current answer is yes."""
    if not ids:
        return {}
    k = schema.consents
    rows = conn.execute(
        sa.select(k.c.customer_id, k.c.granted, k.c.text_version)
        .where(k.c.customer_id.in_(ids), k.c.purpose == purpose)
        .order_by(k.c.customer_id, k.c.given_at, k.c.id)
    ).all()
    newest: dict[int, tuple[bool, str]] = {}
    for customer_id, granted, version in rows:
        newest[int(customer_id)] = (bool(granted), str(version))
    return {cid: version for cid, (granted, version) in newest.items() if granted}
