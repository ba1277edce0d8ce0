"""Privacy: a tenant's retention settings and guests' requests."""

from __future__ import annotations

import sqlalchemy as sa

from porchlight.admin.db import UTCDateTime, metadata
from porchlight.admin.schema.columns import fk

# Retention per tenant (admin/privacy/retention.py, migration 0006); no row =
# the defaults, turned off.
privacy_settings = sa.Table(
    "privacy_settings",
    metadata,
    sa.Column("tenant_id", sa.Integer, fk("tenants.id"), primary_key=True, autoincrement=False),
    sa.Column("retention_enabled", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("customer_months", sa.Integer, nullable=False, server_default="24"),
    sa.Column("device_days", sa.Integer, nullable=False, server_default="90"),
    # Visits and consents older than this already lost their MACs and bytes.
    sa.Column("devices_pruned_before", UTCDateTime()),
    sa.Column("last_run_at", UTCDateTime()),
    sa.Column("last_result", sa.JSON),
    sa.Column("updated_by", sa.Integer, fk("users.id", ondelete="SET NULL")),
    sa.Column("updated_at", UTCDateTime(), nullable=False),
)


# What guests asked from the portal's "My data" (an erasure), for the owner to
# confirm by `due_at` (admin/privacy/requests.py, migration 0006).
guest_requests = sa.Table(
    "guest_requests",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("tenant_id", sa.Integer, fk("tenants.id"), nullable=False),
    sa.Column("customer_id", sa.Integer, fk("customers.id", ondelete="SET NULL")),
    sa.Column("location_id", sa.Integer, fk("locations.id", ondelete="SET NULL")),
    sa.Column("router_id", sa.Integer, fk("routers.id", ondelete="SET NULL")),
    sa.Column("event_id", sa.String(36), nullable=False, unique=True),
    sa.Column("kind", sa.String(20), nullable=False),
    sa.Column("status", sa.String(10), nullable=False, server_default="open"),
    sa.Column("requested_at", UTCDateTime(), nullable=False),  # router's clock
    sa.Column("received_at", UTCDateTime(), nullable=False),
    sa.Column("due_at", UTCDateTime(), nullable=False),
    sa.Column("decided_at", UTCDateTime()),
    sa.Column("decided_by", sa.Integer, fk("users.id", ondelete="SET NULL")),
    sa.Index("ix_guest_requests_tenant_status", "tenant_id", "status", "due_at"),
    sa.Index("ix_guest_requests_customer", "customer_id"),
)
