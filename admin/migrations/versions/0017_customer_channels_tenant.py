"""customer list: customer_channels carries its customer's tenant (a channel counted from one index)

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-06 15:45:00

Counting the customers who logged in through one channel joined
``customer_channels`` (whose rows had no tenant) to ``customers`` to keep the
tenant's: 500 ms on PostgreSQL and 741 ms on SQLite at 1,000,000 customers
(issue 18: < 300 ms). With the tenant on each row, the count reads the
range (tenant_id, channel) of ``ix_customer_channels_tenant_channel`` and
nothing else. That index replaces ``ix_customer_channels_channel``
(channel, customer_id), whose every use now has a tenant.

Every writer sets ``tenant_id`` (ingest, import, merge, seed, tests' factory);
it is NOT NULL, so one that forgets fails at once. A customer never changes
tenant, so no other write can make it wrong.

The table is locked meanwhile. SQLite: one UPDATE ... FROM customers, then
the table copied once to make the column NOT NULL with its foreign key (43 s
at 3.5M rows, load ~9). PostgreSQL: the table is written anew from a join
with customers, then its keys and indexes are built. An UPDATE left every old
row version behind, and CREATE INDEX in the same transaction indexes those
too (the index 2.2 times its size, and the primary key as bloated; an
index-only count of a channel went through the dead entries). Autovacuum
later marks the new pages all-visible, which an index-only count needs to
leave the table unread.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from porchlight.admin.db import UTCDateTime

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

FILL = (
    "UPDATE customer_channels SET tenant_id = c.tenant_id FROM customers c "
    "WHERE c.id = customer_channels.customer_id"
)


def _rebuild_on_postgresql() -> None:
    """customer_channels written anew with the tenant; keys and indexes built after."""
    op.execute("ALTER TABLE customer_channels RENAME TO customer_channels_0016")
    op.execute("ALTER INDEX pk_customer_channels RENAME TO pk_customer_channels_0016")
    op.create_table(
        "customer_channels",
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("last_visit_at", UTCDateTime(), nullable=True),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
    )
    op.execute(
        "INSERT INTO customer_channels (customer_id, channel, last_visit_at, tenant_id) "
        "SELECT cc.customer_id, cc.channel, cc.last_visit_at, c.tenant_id "
        "FROM customer_channels_0016 cc JOIN customers c ON c.id = cc.customer_id "
        "ORDER BY cc.customer_id, cc.channel"
    )
    op.drop_table("customer_channels_0016")
    op.create_primary_key("pk_customer_channels", "customer_channels", ["customer_id", "channel"])
    for column, target in (("customer_id", "customers"), ("tenant_id", "tenants")):
        op.create_foreign_key(
            f"fk_customer_channels_{column}_{target}",
            "customer_channels",
            target,
            [column],
            ["id"],
            ondelete="CASCADE",
        )


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        _rebuild_on_postgresql()
    else:
        _fill_on_sqlite()
    op.create_index(
        "ix_customer_channels_tenant_channel",
        "customer_channels",
        ["tenant_id", "channel", "customer_id"],
    )
    op.execute("ANALYZE customer_channels")


def _fill_on_sqlite() -> None:
    # first: the old index need not follow the rewritten rows
    op.drop_index("ix_customer_channels_channel", table_name="customer_channels")
    op.add_column("customer_channels", sa.Column("tenant_id", sa.Integer(), nullable=True))
    op.execute(FILL)
    with op.batch_alter_table("customer_channels", schema=None) as batch_op:
        batch_op.alter_column("tenant_id", existing_type=sa.Integer(), nullable=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_customer_channels_tenant_id_tenants"),
            "tenants",
            ["tenant_id"],
            ["id"],
            ondelete="CASCADE",
        )


def downgrade() -> None:
    op.drop_index("ix_customer_channels_tenant_channel", table_name="customer_channels")
    with op.batch_alter_table("customer_channels", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_customer_channels_tenant_id_tenants"), type_="foreignkey"
        )
        batch_op.drop_column("tenant_id")
    op.create_index("ix_customer_channels_channel", "customer_channels", ["channel", "customer_id"])
