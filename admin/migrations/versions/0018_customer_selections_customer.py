"""retention: customer_selections indexed by customer (erasing a customer looked through it all)

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-06 16:00:00

``customer_selections`` (user_id, customer_id) had only its primary key, led
by the user: erasing a customer (the retention pass, the manager's erasure)
cascades to it by customer_id, and SQLite and PostgreSQL then read the whole
table for each erased customer. A user who ticked every customer of a large
list holds as many rows as the list. The index makes it a look-up.
"""

from __future__ import annotations

from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        op.f("ix_customer_selections_customer_id"), "customer_selections", ["customer_id"]
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_customer_selections_customer_id"), table_name="customer_selections")
