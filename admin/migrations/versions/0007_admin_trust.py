"""admin trust: server-side sessions, job leases, router clock skew, selection's list

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-08 09:00:00

- ``user_sessions``: one row per signed-in browser (admin/sessions.py). The
  signed cookie holds a random token whose SHA-256 is the row's key; every
  request looks the row up, so sign-out, "sign out everywhere", a password
  change, a role change or removing the user ends sessions at once, and a
  copied cookie stops working.
- ``jobs.lease_expires_at`` / ``worker`` / ``attempts``: a running job is
  leased by the worker that claimed it and renewed while it runs; a job whose
  lease ran out (the worker died) shows as lost and can be retried from its
  page (admin/io/jobs.py).
- ``routers.clock_skew_seconds``: the router's clock minus the admin's, from
  its heartbeats and batches (events are refused outside a window around the
  admin's clock; the Routers page says how far off the router is).
- ``customer_selection_lists``: the list (its filters) a user's ticked rows
  were made on: a selection belongs to that list and is cleared once it is
  exported.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import porchlight.admin.db

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "user_sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", porchlight.admin.db.UTCDateTime(), nullable=False),
        sa.Column("last_seen_at", porchlight.admin.db.UTCDateTime(), nullable=False),
        sa.Column("ip", sa.String(length=45), nullable=True),
        sa.Column("user_agent", sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_user_sessions_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_user_sessions")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_user_sessions_token_hash")),
    )
    op.create_index("ix_user_sessions_user", "user_sessions", ["user_id"])
    op.add_column(
        "jobs", sa.Column("lease_expires_at", porchlight.admin.db.UTCDateTime(), nullable=True)
    )
    op.add_column("jobs", sa.Column("worker", sa.String(length=120), nullable=True))
    op.add_column("jobs", sa.Column("attempts", sa.Integer(), server_default="0", nullable=False))
    op.add_column("routers", sa.Column("clock_skew_seconds", sa.Integer(), nullable=True))
    op.create_table(
        "customer_selection_lists",
        sa.Column("user_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("filters", sa.String(length=2000), nullable=False),
        sa.Column("made_at", porchlight.admin.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_customer_selection_lists_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_customer_selection_lists")),
    )
    # Selections made before this revision belong to no known list: start clean.
    op.execute("DELETE FROM customer_selections")


def downgrade() -> None:
    op.drop_table("customer_selection_lists")
    # Native DROP COLUMN (SQLite >= 3.35): a batch copy of `routers` or `jobs`
    # would DROP them with foreign keys on, cascading into their children.
    op.execute("ALTER TABLE routers DROP COLUMN clock_skew_seconds")
    op.execute("ALTER TABLE jobs DROP COLUMN attempts")
    op.execute("ALTER TABLE jobs DROP COLUMN worker")
    op.execute("ALTER TABLE jobs DROP COLUMN lease_expires_at")
    op.drop_index("ix_user_sessions_user", table_name="user_sessions")
    op.drop_table("user_sessions")
