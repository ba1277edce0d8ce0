"""dashboard: new and returning customers from a rollup (customer_hours); visit_hours covered

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-06 14:20:00

The dashboard counted the tenant's customers whose first visit, and whose
last visit, falls in the period (an index range each; for 90 days most of
the tenant's customers). ``customer_hours`` counts customers per tenant by
the UTC hour of their first and of their last visit
(admin/customers/customer_rollup.py keeps it); the dashboard sums the
period's hours. Filled here in one pass over customers.

The visits per day and hour sum ``visit_hours`` over a tenant's locations: 90
days at 50 locations are 108,000 rows, each looked up in the table from the
(tenant_id, hour) index. The index now carries ``visits`` too (index only:
90 days 113 -> 52 ms on SQLite, 68 -> 36 ms on PostgreSQL, 100,000 customers).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def _hour(dialect: str, column: str) -> str:
    if dialect == "postgresql":
        return f"CAST(floor(extract(epoch FROM {column}) / 3600) AS BIGINT)"
    return f"(CAST(strftime('%s', {column}) AS INTEGER) / 3600)"


def upgrade() -> None:
    op.create_table(
        "customer_hours",
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("hour", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("firsts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("lasts", sa.Integer(), server_default="0", nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_customer_hours_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tenant_id", "hour", name=op.f("pk_customer_hours")),
    )
    d = op.get_bind().dialect.name
    first, last = _hour(d, "first_visit_at"), _hour(d, "last_visit_at")
    op.execute(
        "INSERT INTO customer_hours (tenant_id, hour, firsts, lasts) "  # noqa: S608
        "SELECT tenant_id, hour, sum(f), sum(l) FROM ("
        f"SELECT tenant_id, {first} AS hour, 1 AS f, 0 AS l FROM customers "
        "WHERE first_visit_at IS NOT NULL UNION ALL "
        f"SELECT tenant_id, {last} AS hour, 0 AS f, 1 AS l FROM customers "
        "WHERE last_visit_at IS NOT NULL) AS x GROUP BY tenant_id, hour"
    )
    op.create_index(
        "ix_visit_hours_tenant_hour_visits", "visit_hours", ["tenant_id", "hour", "visits"]
    )
    op.drop_index("ix_visit_hours_tenant_hour", table_name="visit_hours")
    op.execute("ANALYZE customer_hours")
    op.execute("ANALYZE visit_hours")


def downgrade() -> None:
    op.create_index("ix_visit_hours_tenant_hour", "visit_hours", ["tenant_id", "hour"])
    op.drop_index("ix_visit_hours_tenant_hour_visits", table_name="visit_hours")
    op.drop_table("customer_hours")
