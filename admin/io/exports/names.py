"""The names an export's filters point at, kept with its audit row.

The audit log tells an export in words long after it ran ("Lan exported 164
customers (VIP, Chi nhánh 03) as XLSX"): the group and location names are
the ones they had then, stored with the row, not looked up again by id.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from porchlight.admin import schema
from porchlight.admin.customers.filters import CustomerFilters

MAX_NAMED_LOCATIONS = 20


def filter_names(
    conn: Connection,
    tenant_id: int,
    filters: CustomerFilters | None,
    location_scope: Sequence[int] | None,
) -> dict[str, dict[str, str]]:
    """{"locations": {id: name}, "groups": {id: name}} for the ids the export names."""
    places: set[int] = set(list(location_scope or [])[:MAX_NAMED_LOCATIONS])
    groups: set[int] = set()
    if filters is not None:
        if filters.location is not None:
            places.add(int(filters.location))
        if filters.group is not None and filters.group != "none":
            groups.add(int(filters.group))
    loc, g = schema.locations.c, schema.groups.c
    found: dict[str, dict[str, str]] = {"locations": {}, "groups": {}}
    if places:
        query = sa.select(loc.id, loc.name).where(loc.tenant_id == tenant_id, loc.id.in_(places))
        found["locations"] = {str(i): name for i, name in conn.execute(query)}
    if groups:
        query = sa.select(g.id, g.name).where(g.tenant_id == tenant_id, g.id.in_(groups))
        found["groups"] = {str(i): name for i, name in conn.execute(query)}
    return found
