"""dashboard: customers per login channel from a rollup (channel_hours)

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-06 14:05:00

The dashboard's "login channels" counted distinct customers over the
period's visits (764 ms for 30 days, 2.1 s for 90 at 1,000,000 customers /
10,000,000 visits on PostgreSQL). A customer counts for a channel in a
period exactly when their last visit through it falls in the period:

- ``customer_channels.last_visit_at`` keeps that last visit (filled here
  from the visits in one grouped pass; None for a channel without a visit,
  such as "import");
- ``channel_hours`` counts customer_channels rows per tenant, channel and UTC
  hour of ``last_visit_at`` (admin/customers/channel_rollup.py keeps it), so
  the dashboard sums a few thousand rows.

Built within the migration's transaction: at 10,000,000 visits the grouped
pass takes tens of seconds, customer_channels locked meanwhile.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from porchlight.admin.db import UTCDateTime

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def _hour(dialect: str, column: str) -> str:
    if dialect == "postgresql":
        return f"CAST(floor(extract(epoch FROM {column}) / 3600) AS BIGINT)"
    return f"(CAST(strftime('%s', {column}) AS INTEGER) / 3600)"


def upgrade() -> None:
    with op.batch_alter_table("customer_channels", schema=None) as batch_op:
        batch_op.add_column(sa.Column("last_visit_at", UTCDateTime(), nullable=True))
    op.create_table(
        "channel_hours",
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("hour", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("customers", sa.Integer(), server_default="0", nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_channel_hours_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tenant_id", "channel", "hour", name=op.f("pk_channel_hours")),
    )
    op.execute(
        "UPDATE customer_channels SET last_visit_at = m.last FROM ("
        "SELECT customer_id, channel, max(started_at) AS last FROM visits "
        "GROUP BY customer_id, channel) AS m "
        "WHERE customer_channels.customer_id = m.customer_id "
        "AND customer_channels.channel = m.channel"
    )
    hour = _hour(op.get_bind().dialect.name, "cc.last_visit_at")
    op.execute(
        "INSERT INTO channel_hours (tenant_id, channel, hour, customers) "  # noqa: S608
        f"SELECT c.tenant_id, cc.channel, {hour}, count(*) "
        "FROM customer_channels cc JOIN customers c ON c.id = cc.customer_id "
        f"WHERE cc.last_visit_at IS NOT NULL GROUP BY c.tenant_id, cc.channel, {hour}"
    )
    op.execute("ANALYZE channel_hours")


def downgrade() -> None:
    op.drop_table("channel_hours")
    with op.batch_alter_table("customer_channels", schema=None) as batch_op:
        batch_op.drop_column("last_visit_at")
