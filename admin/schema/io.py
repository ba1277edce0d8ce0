"""Background jobs: imports, exports, retention passes."""

from __future__ import annotations

import sqlalchemy as sa

from porchlight.admin.db import UTCDateTime, metadata
from porchlight.admin.schema.columns import created, fk

JOB_KINDS = ("import", "export", "retention")


JOB_STATES = ("queued", "running", "done", "failed")


jobs = sa.Table(
    "jobs",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("tenant_id", sa.Integer, fk("tenants.id"), nullable=False),
    sa.Column("kind", sa.String(20), nullable=False),
    sa.Column("status", sa.String(10), nullable=False, server_default="queued"),
    sa.Column("params", sa.JSON, nullable=False),
    sa.Column("progress", sa.Integer, nullable=False, server_default="0"),
    sa.Column("total", sa.Integer),
    sa.Column("result", sa.JSON),
    sa.Column("error", sa.Text),
    sa.Column("file_path", sa.String(500)),
    sa.Column("created_by", sa.Integer, fk("users.id", ondelete="SET NULL")),
    created(),
    sa.Column("started_at", UTCDateTime()),
    sa.Column("heartbeat_at", UTCDateTime()),
    sa.Column("finished_at", UTCDateTime()),
    sa.Column("expires_at", UTCDateTime()),
    sa.Column("seen_at", UTCDateTime()),  # the requester saw the "ready" notice
    # The claiming worker's lease, renewed while the job runs; a running job
    # whose lease ran out lost its worker and can be retried (0007).
    sa.Column("lease_expires_at", UTCDateTime()),
    sa.Column("worker", sa.String(120)),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Index("ix_jobs_status_created", "status", "created_at"),
    sa.Index("ix_jobs_tenant_created", "tenant_id", "created_at"),
)
