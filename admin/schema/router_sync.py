"""Routers, their adoption and what the sync API keeps: commands, seen events, early ends."""

from __future__ import annotations

import sqlalchemy as sa

from porchlight.admin.db import UTCDateTime, metadata
from porchlight.admin.schema.columns import created, fk

routers = sa.Table(
    "routers",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("tenant_id", sa.Integer, fk("tenants.id"), nullable=False),
    sa.Column("location_id", sa.Integer, fk("locations.id"), nullable=False),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("enroll_code_hash", sa.String(128), unique=True),
    sa.Column("enroll_expires_at", UTCDateTime()),
    sa.Column("enrolled_at", UTCDateTime()),
    sa.Column("token_hash", sa.String(128), unique=True),
    sa.Column("token_prefix", sa.String(12)),
    sa.Column("revoked_at", UTCDateTime()),
    sa.Column("hostname", sa.String(200)),
    sa.Column("last_seen_at", UTCDateTime()),
    sa.Column("agent_version", sa.String(40)),
    sa.Column("uptime_seconds", sa.BigInteger),
    sa.Column("clients_online", sa.Integer),
    sa.Column("outbox_depth", sa.Integer),
    sa.Column("config_etag", sa.String(80)),
    # Events the admin refused (409/422) that the agent parked, from its
    # heartbeat (migration 0005): the Routers page warns while > 0.
    sa.Column("rejected_events", sa.Integer),
    sa.Column("rejected_reason", sa.String(200)),
    # The router's clock minus the admin's, from heartbeats and batches (0007).
    sa.Column("clock_skew_seconds", sa.Integer),
    created(),
)


# Routers flashed from deploy/build-image announce themselves with the tenant's
# adoption key (0008): they grant nothing until a manager adopts one into a
# location, which creates its `routers` row; the router then gets a one-time
# enrollment code on its next announce (only with its own secret) and enrolls.
adoption_keys = sa.Table(
    "adoption_keys",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("tenant_id", sa.Integer, fk("tenants.id"), nullable=False),
    sa.Column("key_hash", sa.String(128), nullable=False, unique=True),
    sa.Column("revoked_at", UTCDateTime()),
    created(),
)


router_announcements = sa.Table(
    "router_announcements",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("tenant_id", sa.Integer, fk("tenants.id"), nullable=False, index=True),
    sa.Column("secret_hash", sa.String(128), nullable=False, unique=True),
    sa.Column("serial", sa.String(64), nullable=False),
    sa.Column("macs", sa.JSON, nullable=False),
    sa.Column("agent_version", sa.String(40)),
    sa.Column("location_hint", sa.String(200)),
    sa.Column("remote_addr", sa.String(64)),
    sa.Column("last_seen_at", UTCDateTime(), nullable=False),
    sa.Column("router_id", sa.Integer, fk("routers.id", ondelete="SET NULL")),
    sa.Column("adopted_at", UTCDateTime()),
    sa.Column("delivered_at", UTCDateTime()),
    created(),
)


router_commands = sa.Table(
    "router_commands",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("router_id", sa.Integer, fk("routers.id"), nullable=False, index=True),
    sa.Column("action", sa.String(40), nullable=False),
    sa.Column("payload", sa.JSON, nullable=False),
    created(),
    sa.Column("acked_at", UTCDateTime()),
)


# The exactly-once ledger: every event id the admin has applied.
sync_events = sa.Table(
    "sync_events",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("router_id", sa.Integer, fk("routers.id", ondelete="SET NULL")),
    sa.Column("type", sa.String(20), nullable=False),
    sa.Column("occurred_at", UTCDateTime(), nullable=False),
    sa.Column("received_at", UTCDateTime(), nullable=False),
    sa.Index("ix_sync_events_received_at", "received_at"),  # /metrics' last minute (0010)
)


# A session_end that reached the admin before the login that opens its visit
# (an earlier batch, a reordered retry): kept here and applied, in the same
# transaction, when the visit arrives (admin/sync/ingest_ends.py, migration 0005).
# Rows for sessions that never get a visit (anonymous click-through) are
# pruned after PENDING_END_DAYS.
pending_session_ends = sa.Table(
    "pending_session_ends",
    metadata,
    sa.Column("event_id", sa.String(36), primary_key=True),
    sa.Column("router_id", sa.Integer, fk("routers.id"), nullable=False),
    sa.Column("session_id", sa.String(64), nullable=False),
    sa.Column("ended_at", UTCDateTime(), nullable=False),
    sa.Column("dwell_seconds", sa.Integer, nullable=False),
    sa.Column("bytes_in", sa.BigInteger, nullable=False),
    sa.Column("bytes_out", sa.BigInteger, nullable=False),
    sa.Column("received_at", UTCDateTime(), nullable=False),
    sa.Index("ix_pending_session_ends_router_session", "router_id", "session_id"),
    sa.Index("ix_pending_session_ends_received", "received_at"),
)
