"""Saved segments: a named set of customer-list filters, shared by the tenant's users."""

from __future__ import annotations

import sqlalchemy as sa

from porchlight.admin.db import metadata
from porchlight.admin.schema.columns import created, fk

customer_segments = sa.Table(
    "customer_segments",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("tenant_id", sa.Integer, fk("tenants.id"), nullable=False),
    sa.Column("name", sa.String(60), nullable=False),
    sa.Column("filters", sa.String(2000), nullable=False),  # the list's query string
    sa.Column("created_by", sa.Integer, fk("users.id", ondelete="SET NULL")),
    created(),
    sa.UniqueConstraint("tenant_id", "name"),
)
