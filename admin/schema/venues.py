"""Locations and what a venue sets up there: guest-page settings, vouchers."""

from __future__ import annotations

import sqlalchemy as sa

from porchlight.admin.db import UTCDateTime, metadata
from porchlight.admin.schema.columns import created, fk

locations = sa.Table(
    "locations",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("tenant_id", sa.Integer, fk("tenants.id"), nullable=False),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("address", sa.String(500)),
    sa.Column("province", sa.String(100)),
    sa.Column("postal_code", sa.String(20)),
    sa.Column("country", sa.String(2), nullable=False, server_default="VN"),
    sa.Column("timezone", sa.String(64), nullable=False, server_default="Asia/Ho_Chi_Minh"),
    sa.Column("opening_hours", sa.JSON),
    # the venue's Wi-Fi, printed on voucher cards (no password: an open network)
    sa.Column("wifi_ssid", sa.String(32)),
    sa.Column("wifi_password", sa.String(64)),
    # the ways in until the guest page is first saved; NULL: today's defaults
    # (location_config.NEW_LOCATION_CHANNELS); migration 0012 kept the old four
    sa.Column("default_channels", sa.JSON),
    sa.Column("archived_at", UTCDateTime()),
    created(),
    sa.Column("updated_at", UTCDateTime(), nullable=False),
    sa.UniqueConstraint("tenant_id", "name"),
)


# Guest-page settings per location; every save is a new version (the ETag).
portal_settings = sa.Table(
    "portal_settings",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("location_id", sa.Integer, fk("locations.id"), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("settings", sa.JSON, nullable=False),
    sa.Column("logo", sa.LargeBinary),
    sa.Column("logo_type", sa.String(40)),
    sa.Column("created_by", sa.Integer, fk("users.id", ondelete="SET NULL")),
    created(),
    sa.UniqueConstraint("location_id", "version"),
)


voucher_batches = sa.Table(
    "voucher_batches",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("tenant_id", sa.Integer, fk("tenants.id"), nullable=False),
    sa.Column("location_id", sa.Integer, fk("locations.id"), nullable=False),
    sa.Column("count", sa.Integer, nullable=False),
    sa.Column("duration_seconds", sa.Integer, nullable=False),
    sa.Column("max_uses", sa.Integer, nullable=False),
    sa.Column("max_devices", sa.Integer, nullable=False),
    sa.Column("expires_at", UTCDateTime()),
    sa.Column("note", sa.String(200)),
    sa.Column("voided_at", UTCDateTime()),
    sa.Column("created_by", sa.Integer, fk("users.id", ondelete="SET NULL")),
    created(),
)


vouchers = sa.Table(
    "vouchers",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("batch_id", sa.Integer, fk("voucher_batches.id"), nullable=False, index=True),
    sa.Column("tenant_id", sa.Integer, fk("tenants.id"), nullable=False),
    sa.Column("code", sa.String(20), nullable=False),
    sa.Column("uses", sa.Integer, nullable=False, server_default="0"),
    sa.UniqueConstraint("tenant_id", "code"),
)


voucher_uses = sa.Table(
    "voucher_uses",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("voucher_id", sa.Integer, fk("vouchers.id"), nullable=False, index=True),
    sa.Column("mac", sa.String(17), nullable=False),
    sa.Column("customer_id", sa.Integer, fk("customers.id", ondelete="SET NULL")),
    sa.Column("used_at", UTCDateTime(), nullable=False),
    sa.Index("ix_voucher_uses_customer", "customer_id"),  # erasure sets it NULL (0006)
)
