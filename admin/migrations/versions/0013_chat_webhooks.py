"""chat webhooks: Zalo OA follow events and Messenger referrals per location

Tables `chat_webhooks` (the location's webhook token, encrypted OA secret key
and Meta app secret, Messenger Page, the key that signs m.me refs),
`chat_webhook_seen` (replays), `chat_pending` (answers waiting for their
customer's login) and `messenger_contacts` (a customer's PSID per Page).

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06 13:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from porchlight.admin.db import UTCDateTime

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def _fk(column: str, table: str, target: str, ondelete: str = "CASCADE") -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column],
        [f"{target}.id"],
        name=op.f(f"fk_{table}_{column}_{target}"),
        ondelete=ondelete,
    )


def upgrade() -> None:
    op.create_table(
        "chat_webhooks",
        sa.Column("location_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("token", sa.String(length=64), nullable=False),
        sa.Column("zalo_secret", sa.Text(), nullable=True),
        sa.Column("meta_app_secret", sa.Text(), nullable=True),
        sa.Column("meta_verify_token", sa.String(length=64), nullable=False),
        sa.Column("messenger_page", sa.String(length=100), nullable=True),
        sa.Column("messenger_page_id", sa.String(length=30), nullable=True),
        sa.Column("ref_key", sa.String(length=64), nullable=False),
        sa.Column("updated_by", sa.Integer(), nullable=True),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        _fk("location_id", "chat_webhooks", "locations"),
        _fk("tenant_id", "chat_webhooks", "tenants"),
        _fk("updated_by", "chat_webhooks", "users", "SET NULL"),
        sa.PrimaryKeyConstraint("location_id", name=op.f("pk_chat_webhooks")),
        sa.UniqueConstraint("token", name=op.f("uq_chat_webhooks_token")),
    )
    op.create_table(
        "chat_webhook_seen",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("location_id", sa.Integer(), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("received_at", UTCDateTime(), nullable=False),
        _fk("location_id", "chat_webhook_seen", "locations"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_chat_webhook_seen")),
        sa.UniqueConstraint(
            "location_id", "digest", name=op.f("uq_chat_webhook_seen_location_id_digest")
        ),
    )
    op.create_index("ix_chat_webhook_seen_received_at", "chat_webhook_seen", ["received_at"])
    op.create_table(
        "chat_pending",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("location_id", sa.Integer(), nullable=False),
        sa.Column("platform", sa.String(length=10), nullable=False),
        sa.Column("link_key", sa.String(length=200), nullable=False),
        sa.Column("value", sa.String(length=100), nullable=False),
        sa.Column("granted", sa.Boolean(), nullable=True),
        sa.Column("page_id", sa.String(length=30), nullable=True),
        sa.Column("happened_at", UTCDateTime(), nullable=False),
        sa.Column("received_at", UTCDateTime(), nullable=False),
        _fk("tenant_id", "chat_pending", "tenants"),
        _fk("location_id", "chat_pending", "locations"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_chat_pending")),
    )
    op.create_index("ix_chat_pending_link", "chat_pending", ["tenant_id", "platform", "link_key"])
    op.create_index("ix_chat_pending_received_at", "chat_pending", ["received_at"])
    op.create_table(
        "messenger_contacts",
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("page_id", sa.String(length=30), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("location_id", sa.Integer(), nullable=False),
        sa.Column("psid", sa.String(length=30), nullable=False),
        sa.Column("linked_at", UTCDateTime(), nullable=False),
        _fk("customer_id", "messenger_contacts", "customers"),
        _fk("tenant_id", "messenger_contacts", "tenants"),
        _fk("location_id", "messenger_contacts", "locations"),
        sa.PrimaryKeyConstraint("customer_id", "page_id", name=op.f("pk_messenger_contacts")),
    )


def downgrade() -> None:
    op.drop_table("messenger_contacts")
    op.drop_index("ix_chat_pending_received_at", table_name="chat_pending")
    op.drop_index("ix_chat_pending_link", table_name="chat_pending")
    op.drop_table("chat_pending")
    op.drop_index("ix_chat_webhook_seen_received_at", table_name="chat_webhook_seen")
    op.drop_table("chat_webhook_seen")
    op.drop_table("chat_webhooks")
