"""Whether a customer follows the venue's chat account: their newest follow answer.

The login records a ``line_follow`` (LINE OA friend) or ``zalo_follow`` answer
in the customer's consents (docs/protocols.md section 2). A guest who added
the OA at one login and blocked it later (the next login says no) is not a
follower: only the newest answer counts (given_at, then id). The list filter
``follows=line|zalo`` and the export's follow columns read it.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from porchlight.admin import schema
from porchlight.admin.privacy.consent_state import current_consent

FOLLOW_FILTERS = {"line": "line_follow", "zalo": "zalo_follow"}


def follows_condition(platform: str | None, customer_id: Any) -> sa.ColumnElement[bool] | None:
    """True when the customer's newest answer for `platform`'s account is a yes."""
    purpose = FOLLOW_FILTERS.get(platform or "")
    if purpose is None:
        return None
    return current_consent(customer_id, purpose)


def newest_follow_answers(conn: Connection, ids: list[int]) -> dict[int, dict[str, bool]]:
    """{customer id: {"line": bool, "zalo": bool}} for the customers among `ids` with answers."""
    if not ids:
        return {}
    k = schema.consents
    rows = conn.execute(
        sa.select(k.c.customer_id, k.c.purpose, k.c.granted)
        .where(k.c.customer_id.in_(ids), k.c.purpose.in_(FOLLOW_FILTERS.values()))
        .order_by(k.c.customer_id, k.c.given_at, k.c.id)
    ).all()
    platform = {purpose: name for name, purpose in FOLLOW_FILTERS.items()}
    out: dict[int, dict[str, bool]] = {}
    for customer_id, purpose, granted in rows:
        out.setdefault(int(customer_id), {})[platform[purpose]] = bool(granted)
    return out
