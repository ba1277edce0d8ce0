"""privacy: retention settings per tenant, guests' requests, indexes for pruning

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06 10:05:00

- ``privacy_settings`` (one row per tenant, none = the defaults, off):
  retention on/off, customer window in months, device window in days, the
  device pruning watermark and the last run (admin/privacy/retention.py).
- ``guest_requests``: what guests asked from the portal's "My data"
  (erasure), with the deadline the owner must answer by.
- ``ix_devices_tenant_last_seen``, ``ix_consents_tenant_given``: device
  pruning reads them in batches instead of scanning the tables.
- ``ix_consents_customer_purpose``: a customer's newest answer per purpose
  (the "current marketing consent" of the list filter and marketing exports).
- ``ix_voucher_uses_customer``: erasing a customer sets its voucher uses'
  customer to NULL; without an index that is a scan per erased customer.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import porchlight.admin.db

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "privacy_settings",
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("retention_enabled", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("customer_months", sa.Integer(), server_default="24", nullable=False),
        sa.Column("device_days", sa.Integer(), server_default="90", nullable=False),
        sa.Column("devices_pruned_before", porchlight.admin.db.UTCDateTime(), nullable=True),
        sa.Column("last_run_at", porchlight.admin.db.UTCDateTime(), nullable=True),
        sa.Column("last_result", sa.JSON(), nullable=True),
        sa.Column("updated_by", sa.Integer(), nullable=True),
        sa.Column("updated_at", porchlight.admin.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_privacy_settings_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["updated_by"],
            ["users.id"],
            name=op.f("fk_privacy_settings_updated_by_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("tenant_id", name=op.f("pk_privacy_settings")),
    )
    op.create_table(
        "guest_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=True),
        sa.Column("location_id", sa.Integer(), nullable=True),
        sa.Column("router_id", sa.Integer(), nullable=True),
        sa.Column("event_id", sa.String(length=36), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=10), server_default="open", nullable=False),
        sa.Column("requested_at", porchlight.admin.db.UTCDateTime(), nullable=False),
        sa.Column("received_at", porchlight.admin.db.UTCDateTime(), nullable=False),
        sa.Column("due_at", porchlight.admin.db.UTCDateTime(), nullable=False),
        sa.Column("decided_at", porchlight.admin.db.UTCDateTime(), nullable=True),
        sa.Column("decided_by", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_guest_requests_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_guest_requests_customer_id_customers"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["location_id"],
            ["locations.id"],
            name=op.f("fk_guest_requests_location_id_locations"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["router_id"],
            ["routers.id"],
            name=op.f("fk_guest_requests_router_id_routers"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["decided_by"],
            ["users.id"],
            name=op.f("fk_guest_requests_decided_by_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_guest_requests")),
        sa.UniqueConstraint("event_id", name=op.f("uq_guest_requests_event_id")),
    )
    op.create_index(
        "ix_guest_requests_tenant_status", "guest_requests", ["tenant_id", "status", "due_at"]
    )
    op.create_index("ix_guest_requests_customer", "guest_requests", ["customer_id"])
    op.create_index("ix_devices_tenant_last_seen", "devices", ["tenant_id", "last_seen_at"])
    op.create_index("ix_consents_tenant_given", "consents", ["tenant_id", "given_at"])
    op.create_index(
        "ix_consents_customer_purpose", "consents", ["customer_id", "purpose", "given_at"]
    )
    op.create_index("ix_voucher_uses_customer", "voucher_uses", ["customer_id"])


def downgrade() -> None:
    op.drop_index("ix_voucher_uses_customer", table_name="voucher_uses")
    op.drop_index("ix_consents_customer_purpose", table_name="consents")
    op.drop_index("ix_consents_tenant_given", table_name="consents")
    op.drop_index("ix_devices_tenant_last_seen", table_name="devices")
    op.drop_index("ix_guest_requests_customer", table_name="guest_requests")
    op.drop_index("ix_guest_requests_tenant_status", table_name="guest_requests")
    op.drop_table("guest_requests")
    op.drop_table("privacy_settings")
