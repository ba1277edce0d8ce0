"""Old home of the helpers every blueprint uses, now split by what they do.

- admin/db.py: `get_engine()`, `inserted_id(result)`;
- admin/scope.py: `current_tenant_id()`, `visible_location_ids(user)`,
  `location_or_404(conn, id)`, `can_edit(user)`, `require_role(*roles)`;
- admin/audit.py: `audit(conn, action, ...)`;
- admin/client.py: `client_ip()`, `safe_next(target, default)`.

Only re-exports remain here, for callers not yet moved; import from the new homes.
"""

from __future__ import annotations

from porchlight.admin.audit import audit
from porchlight.admin.client import client_ip, safe_next
from porchlight.admin.db import get_engine, inserted_id
from porchlight.admin.scope import can_edit, current_tenant_id, require_role, visible_location_ids

__all__ = [
    "audit",
    "can_edit",
    "client_ip",
    "current_tenant_id",
    "get_engine",
    "inserted_id",
    "require_role",
    "safe_next",
    "visible_location_ids",
]
