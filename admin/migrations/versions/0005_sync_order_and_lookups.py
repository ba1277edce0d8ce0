"""order-independent session ends; parked-event counts per router; devices/customers indexes

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25 22:40:00

- ``pending_session_ends``: a ``session_end`` whose visit (made by the login)
  has not arrived yet is kept here and applied when it does, in the same
  ingest transaction (admin/ingest_ends.py), so batch order no longer loses
  dwell time and bytes.
- ``routers.rejected_events`` / ``rejected_reason``: how many events the
  agent parked because the admin refused them (409/422), from its heartbeat.
- ``ix_devices_tenant_mac`` (tenant_id, mac, last_seen_at): the returning-
  device look-up (tenant's newest customer on a MAC) was a scan of the
  tenant's devices; no earlier index starts with (tenant_id, mac) — the
  unique (customer_id, mac) cannot serve it.
- ``ix_customers_tenant_first_visit`` (tenant_id, first_visit_at): the
  dashboard's new-customer count over a period; none of the customer
  indexes of 0001-0004 has first_visit_at.

Plain CREATE INDEX on both databases (it locks writes to the table for the
build; at a million customers that is seconds, see docs/protocols.md).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import porchlight.admin.db

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "pending_session_ends",
        sa.Column("event_id", sa.String(length=36), nullable=False),
        sa.Column("router_id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.String(length=64), nullable=False),
        sa.Column("ended_at", porchlight.admin.db.UTCDateTime(), nullable=False),
        sa.Column("dwell_seconds", sa.Integer(), nullable=False),
        sa.Column("bytes_in", sa.BigInteger(), nullable=False),
        sa.Column("bytes_out", sa.BigInteger(), nullable=False),
        sa.Column("received_at", porchlight.admin.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["router_id"],
            ["routers.id"],
            name=op.f("fk_pending_session_ends_router_id_routers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("event_id", name=op.f("pk_pending_session_ends")),
    )
    op.create_index(
        "ix_pending_session_ends_router_session",
        "pending_session_ends",
        ["router_id", "session_id"],
    )
    op.create_index("ix_pending_session_ends_received", "pending_session_ends", ["received_at"])
    op.add_column("routers", sa.Column("rejected_events", sa.Integer(), nullable=True))
    op.add_column("routers", sa.Column("rejected_reason", sa.String(length=200), nullable=True))
    op.create_index("ix_devices_tenant_mac", "devices", ["tenant_id", "mac", "last_seen_at"])
    op.create_index("ix_customers_tenant_first_visit", "customers", ["tenant_id", "first_visit_at"])


def downgrade() -> None:
    op.drop_index("ix_customers_tenant_first_visit", table_name="customers")
    op.drop_index("ix_devices_tenant_mac", table_name="devices")
    # Native DROP COLUMN (SQLite >= 3.35): a batch table copy of `routers`
    # would DROP it with foreign keys on, cascading into router_commands.
    op.execute("ALTER TABLE routers DROP COLUMN rejected_reason")
    op.execute("ALTER TABLE routers DROP COLUMN rejected_events")
    op.drop_index("ix_pending_session_ends_received", table_name="pending_session_ends")
    op.drop_index("ix_pending_session_ends_router_session", table_name="pending_session_ends")
    op.drop_table("pending_session_ends")
