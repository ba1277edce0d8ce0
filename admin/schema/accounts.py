"""Who signs in to the admin: tenants, users and their sessions, sign-in limits, the audit log."""

from __future__ import annotations

import sqlalchemy as sa

from porchlight.admin.db import UTCDateTime, metadata
from porchlight.admin.schema.columns import created, fk

ROLES = ("owner", "manager", "viewer")


tenants = sa.Table(
    "tenants",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("slug", sa.String(60), nullable=False, unique=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("country", sa.String(2), nullable=False, server_default="VN"),
    created(),
)


users = sa.Table(
    "users",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("tenant_id", sa.Integer, fk("tenants.id"), nullable=False),
    sa.Column("email", sa.String(254), nullable=False, unique=True),
    sa.Column("name", sa.String(200), nullable=False, server_default=""),
    sa.Column("password_hash", sa.String(255), nullable=False),
    sa.Column("role", sa.String(10), nullable=False),
    sa.Column("locale", sa.String(5), nullable=False, server_default="vi"),
    sa.Column("is_active", sa.Boolean, nullable=False, server_default=sa.true()),
    # Bumped on password change/reset so old sessions stop working.
    sa.Column("session_version", sa.Integer, nullable=False, server_default="1"),
    created(),
    sa.Column("last_login_at", UTCDateTime()),
    sa.CheckConstraint("role IN ('owner', 'manager', 'viewer')", name="role"),
)


# One row per signed-in browser (admin/sessions.py, migration 0007): the
# signed cookie holds a random token whose SHA-256 is `token_hash`. Deleting
# rows ends sessions at once (sign-out, sign out everywhere, a password or
# role change, the user removed).
user_sessions = sa.Table(
    "user_sessions",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("user_id", sa.Integer, fk("users.id"), nullable=False),
    sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
    created(),
    sa.Column("last_seen_at", UTCDateTime(), nullable=False),
    sa.Column("ip", sa.String(45)),
    sa.Column("user_agent", sa.String(200)),
    sa.Index("ix_user_sessions_user", "user_id"),
)


user_locations = sa.Table(
    "user_locations",
    metadata,
    sa.Column("user_id", sa.Integer, fk("users.id"), primary_key=True),
    sa.Column("location_id", sa.Integer, fk("locations.id"), primary_key=True),
)


# Sliding-window counters for login and API rate limits, shared by all workers.
rate_limits = sa.Table(
    "rate_limits",
    metadata,
    sa.Column("key", sa.String(200), primary_key=True),
    sa.Column("window_start", UTCDateTime(), nullable=False),
    sa.Column("count", sa.Integer, nullable=False),
)


audit_log = sa.Table(
    "audit_log",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("tenant_id", sa.Integer, fk("tenants.id"), nullable=False),
    sa.Column("user_id", sa.Integer, fk("users.id", ondelete="SET NULL")),
    sa.Column("router_id", sa.Integer, fk("routers.id", ondelete="SET NULL")),
    sa.Column("action", sa.String(60), nullable=False),
    sa.Column("target_type", sa.String(40)),
    sa.Column("target_id", sa.String(60)),
    sa.Column("details", sa.JSON),
    sa.Column("ip", sa.String(45)),
    sa.Column("at", UTCDateTime(), nullable=False),
    sa.Index("ix_audit_log_tenant_at", "tenant_id", "at"),
)
