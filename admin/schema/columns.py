"""Column helpers the table modules share."""

from __future__ import annotations

import sqlalchemy as sa

from porchlight.admin.db import UTCDateTime


def fk(target: str, **kw: object) -> sa.ForeignKey:
    return sa.ForeignKey(target, ondelete=str(kw.pop("ondelete", "CASCADE")))


def created() -> sa.Column[object]:
    return sa.Column("created_at", UTCDateTime(), nullable=False)
