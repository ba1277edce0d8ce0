"""adoption: routers flashed from an image announce themselves and wait to be adopted

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06 10:30:00

- ``adoption_keys``: a tenant's keys (SHA-256 only) that deploy/build-image
  bakes into an image (--adoption-key); an announcement names its tenant by it.
- ``router_announcements``: one row per announcing router (its secret's
  SHA-256, serial, MACs, version): grants nothing; a manager adopts it into a
  location on the Routers page (``router_id``), and the router's next
  announce with the same secret gets a one-time enrollment code, once
  (``delivered_at``).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import porchlight.admin.db

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "adoption_keys",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("key_hash", sa.String(length=128), nullable=False),
        sa.Column("revoked_at", porchlight.admin.db.UTCDateTime(), nullable=True),
        sa.Column("created_at", porchlight.admin.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("key_hash"),
    )
    op.create_table(
        "router_announcements",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("secret_hash", sa.String(length=128), nullable=False),
        sa.Column("serial", sa.String(length=64), nullable=False),
        sa.Column("macs", sa.JSON(), nullable=False),
        sa.Column("agent_version", sa.String(length=40), nullable=True),
        sa.Column("location_hint", sa.String(length=200), nullable=True),
        sa.Column("remote_addr", sa.String(length=64), nullable=True),
        sa.Column("last_seen_at", porchlight.admin.db.UTCDateTime(), nullable=False),
        sa.Column("router_id", sa.Integer(), nullable=True),
        sa.Column("adopted_at", porchlight.admin.db.UTCDateTime(), nullable=True),
        sa.Column("delivered_at", porchlight.admin.db.UTCDateTime(), nullable=True),
        sa.Column("created_at", porchlight.admin.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["router_id"], ["routers.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("secret_hash"),
    )
    op.create_index(
        "ix_router_announcements_tenant_id", "router_announcements", ["tenant_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_router_announcements_tenant_id", table_name="router_announcements")
    op.drop_table("router_announcements")
    op.drop_table("adoption_keys")
