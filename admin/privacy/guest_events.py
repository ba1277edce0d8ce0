"""The guest's own say, arriving from the portal's "My data" through the outbox.

`apply` handles the fresh (first-seen, per the `sync_events` ledger) events
of types ``consent`` and ``erasure_request`` in the ingest's transaction, so
each reaches the admin exactly once. The event names no person: it carries
the ``session_id`` of the login that made the customer, and the customer is
the one whose visit that session is (else the tenant's newest customer on the
device's MAC, as a welcome-back login is credited).

- ``consent`` adds a consent answer (a withdrawal is ``granted: false`` with
  the text version withdrawn), shown on the customer page; the newest answer
  per purpose is the current one (list filter, marketing exports).
- ``erasure_request`` opens a `guest_requests` row the owner must answer by
  ``due_at`` = received + `ERASURE_DEADLINE` (Privacy → Requests, a countdown).

Both are audited (router as the actor, no personal data in the details).
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from porchlight.admin import schema
from porchlight.admin.sync.enrollment import RouterIdentity
from porchlight.events import parse_time
from porchlight.privacy_law import ERASURE_DEADLINE

log = logging.getLogger(__name__)

# 72 hours (Vietnam's Decree 13/2023/ND-CP, Art. 16): see porchlight/privacy_law.py.
GUEST_EVENT_TYPES = ("consent", "erasure_request")


def _customer_for(conn: Connection, router: RouterIdentity, event: dict[str, Any]) -> int | None:
    v, d = schema.visits, schema.devices
    found = conn.execute(
        sa.select(v.c.customer_id)
        .where(v.c.router_id == router.router_id, v.c.session_id == event["data"]["session_id"])
        .limit(1)
    ).scalar()
    if found is not None:
        return int(found)
    found = conn.execute(
        sa.select(d.c.customer_id)
        .where(d.c.tenant_id == router.tenant_id, d.c.mac == event["mac"])
        .order_by(d.c.last_seen_at.desc())
        .limit(1)
    ).scalar()
    return None if found is None else int(found)


def _audit(
    conn: Connection,
    router: RouterIdentity,
    action: str,
    customer: int | None,
    details: dict[str, Any],
    now: datetime,
) -> None:
    conn.execute(
        schema.audit_log.insert().values(
            tenant_id=router.tenant_id,
            router_id=router.router_id,
            action=action,
            target_type="customer",
            target_id=None if customer is None else str(customer),
            details=details,
            at=now,
        )
    )


def apply(
    conn: Connection, router: RouterIdentity, events: list[dict[str, Any]], now: datetime
) -> int:
    """Apply fresh guest events (in their order); returns how many found their customer."""
    matched = 0
    for event in events:
        customer = _customer_for(conn, router, event)
        at = parse_time(event["occurred_at"])
        data = event["data"]
        if customer is not None:
            matched += 1
        else:
            log.info("%s %s: no customer for that login or device", event["type"], event["id"])
        if event["type"] == "consent":
            if customer is not None:
                conn.execute(
                    schema.consents.insert().values(
                        tenant_id=router.tenant_id,
                        customer_id=customer,
                        purpose=data["purpose"],
                        granted=data["granted"],
                        text_version=data["text_version"],
                        location_id=router.location_id,
                        mac=event["mac"],
                        given_at=at,
                        received_at=now,
                    )
                )
            action = "guest_consent_" + ("given" if data["granted"] else "withdrawn")
            details: dict[str, Any] = {
                "purpose": data["purpose"],
                "text_version": data["text_version"],
            }
        else:
            conn.execute(
                schema.guest_requests.insert().values(
                    tenant_id=router.tenant_id,
                    customer_id=customer,
                    location_id=router.location_id,
                    router_id=router.router_id,
                    event_id=event["id"],
                    kind="erasure",
                    status="open" if customer is not None else "no_data",
                    requested_at=at,
                    received_at=now,
                    due_at=min(at, now) + ERASURE_DEADLINE,
                )
            )
            action = "guest_erasure_requested"
            details = {"due_in_hours": int(ERASURE_DEADLINE.total_seconds() // 3600)}
        details["matched"] = customer is not None
        _audit(conn, router, action, customer, details, now)
    return matched
