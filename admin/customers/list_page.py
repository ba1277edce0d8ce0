"""The customer list (blueprint ``customers``): filters, sorts, pages, selection.

Filters live in the URL (`customer_filters.parse_filters`); one page is one
keyset query plus one query for the page's details. Ticked rows are kept in
`customer_selections` so a selection survives paging, for the export form
(which posts to the exports area's ``/exports``).
"""

from __future__ import annotations

import logging
from dataclasses import replace
from functools import partial
from typing import Any
from urllib.parse import parse_qs

import sqlalchemy as sa
from flask import Blueprint, current_app, jsonify, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user
from sqlalchemy.engine import Connection

from porchlight.admin import schema
from porchlight.admin.client import safe_next
from porchlight.admin.customers import page_query
from porchlight.admin.customers.filter_words import channel_words
from porchlight.admin.customers.filters import (
    CustomerFilters,
    parse_filters,
)
from porchlight.admin.customers.groups import tenant_groups
from porchlight.admin.customers.query import (
    build_customer_query,
    count_query,
    search_key,
)
from porchlight.admin.customers.search_plan import (
    capped_count,
    counts_matches,
)
from porchlight.admin.customers.segments import tenant_segments
from porchlight.admin.customers.selection import change as change_selection
from porchlight.admin.customers.selection import clear as clear_selection
from porchlight.admin.customers.selection import list_key, selected_ids
from porchlight.admin.customers.table_rows import table_rows
from porchlight.admin.db import get_engine
from porchlight.admin.i18n import fmt_number
from porchlight.admin.io.downloads import ready_exports
from porchlight.admin.scope import current_tenant_id, require_role, visible_location_ids
from porchlight.events import CHANNELS

log = logging.getLogger(__name__)

bp = Blueprint("customers", __name__)


def location_scope(conn: Connection) -> list[int] | None:
    """None for users who see the whole tenant, else the manager's locations."""
    if current_user.role == "manager":
        return visible_location_ids(current_user, conn)
    return None


def tenant_locations(conn: Connection, tenant_id: int, scope: list[int] | None) -> list[Any]:
    loc = schema.locations
    query = sa.select(loc).where(loc.c.tenant_id == tenant_id).order_by(loc.c.name)
    if scope is not None:
        query = query.where(loc.c.id.in_(scope))
    return list(conn.execute(query))


def tenant_region(conn: Connection, tenant_id: int) -> str:
    """The tenant's country (phone region, time zone): the signed-in user's tenant's
    came with their session's row (admin/sessions.py); another's is read."""
    if getattr(current_user, "tenant_id", None) == tenant_id:
        return str(current_user.tenant_country)
    t = schema.tenants
    return str(conn.execute(sa.select(t.c.country).where(t.c.id == tenant_id)).scalar() or "VN")


@bp.route("/customers")
@require_role()
def index() -> ResponseReturnValue:
    tenant_id = current_tenant_id()
    filters, notices = parse_filters(request.args)
    engine = get_engine()
    size = int(current_app.config["PAGE_SIZE"])
    with engine.connect() as conn:
        scope = location_scope(conn)
        region = tenant_region(conn, tenant_id)
        # The page is read in a worker thread meanwhile (page_query.py). A location
        # outside the user's is known after the look-up below: then it is read again.
        page = page_query.start(engine, filters, tenant_id, scope, region, size)
        locations = tenant_locations(conn, tenant_id, scope)
        if filters.location is not None and filters.location not in {x.id for x in locations}:
            log.warning(
                "user %s asked for location %s outside their scope",
                current_user.id,
                filters.location,
            )
            notices.append(_("You have no location with that number; showing all of yours."))
            filters = replace(filters, location=None, after=None)
            page = page_query.start(engine, filters, tenant_id, scope, region, size)
        groups = tenant_groups(conn, tenant_id)
        t = schema.tags
        tags = list(
            conn.execute(
                sa.select(t.c.name).where(t.c.tenant_id == tenant_id).order_by(t.c.name).limit(500)
            ).scalars()
        )
        selection = selected_ids(conn, current_user.id, list_key(filters))
        segments = tenant_segments(conn, tenant_id)
        ready = ready_exports(conn)
    labels = channel_words()
    shape = partial(
        table_rows,
        locations={loc.id: loc for loc in locations},
        groups={g.id: g for g in groups},
        channel_labels=labels,
        country=region,
        one_location=filters.location is not None,
    )
    return render_template(
        "customers.html",
        filters=filters,
        filtered=filters.is_filtered(),
        notices=notices,
        rows=page_query.PendingRows(page, shape),
        locations=locations,
        groups=groups,
        tags=tags,
        channels=(*CHANNELS, "import"),
        channel_labels=labels,
        selection=selection,
        selected_set=set(selection),
        list_key=list_key(filters),
        provinces=sorted({loc.province for loc in locations if loc.province}),
        list_url=request.full_path.rstrip("?"),
        total_src=total_src(filters),
        segments=segments,
        ready_exports=lambda: ready,
    )


def whole_list(filters: CustomerFilters) -> CustomerFilters:
    """The list these filters narrow: everyone, or everyone at their location."""
    return CustomerFilters(location=filters.location)


def is_narrowed(filters: CustomerFilters) -> bool:
    """Filters beyond the location (a sort alone narrows nothing)."""
    base = whole_list(filters)
    return filters.to_args(sort=base.sort, after=None) != base.to_args()


def total_src(filters: CustomerFilters) -> str | None:
    """Where the page of a narrowed list fetches its whole list's count, beside the
    matching count (`?part=matching`): two requests at once, each one count (at 1M
    the whole list's count alone took 57-75 ms of every filtered count request)."""
    if not is_narrowed(filters):
        return None
    return url_for("customers.count", **whole_list(filters).to_args())


def count_texts(
    filters: CustomerFilters,
    everyone: int | None,
    matching: int | None,
    narrowed: bool,
    place: str | None,
    capped: bool = False,
) -> dict[str, Any]:
    """The list's totals in words; `everyone` None: not counted (no total text),
    `matching` None: a search too short to count, `capped`: more than `matching`
    (= COUNT_CAP) match."""
    if everyone is None:
        total = ""
    elif place:
        total = _("%(n)s customers at %(place)s", n=fmt_number(everyone), place=place)
    elif current_user.role == "manager":
        total = _("%(n)s customers at your locations", n=fmt_number(everyone))
    else:
        total = _("%(n)s customers across all locations", n=fmt_number(everyone))
    if not narrowed:
        match = ""
    elif matching is None:
        match = _("Type 3 or more letters or digits to count the matches")
    elif capped:
        match = _("More than %(n)s match the filters", n=fmt_number(matching))
    else:
        match = _("%(n)s match the filters", n=fmt_number(matching))
    return {
        "everyone": everyone,
        "matching": None if capped else matching,  # the page's scripts show a number
        "at_least": matching if capped else None,
        "total_text": total,
        "match_text": match,
    }


def matching_count(
    conn: Connection, filters: CustomerFilters, tenant_id: int, scope: list[int] | None, region: str
) -> tuple[int | None, bool]:
    """(customers matching, whether more than that): a search counts up to COUNT_CAP
    and not at all for one or two characters (admin/customers/search_plan.py)."""
    unordered = build_customer_query(
        filters,
        tenant_id,
        scope,
        region=region,
        ordered=False,
        dialect=conn.dialect.name,
        ids_only=True,
    )
    if not filters.q:
        return int(conn.execute(count_query(unordered)).scalar_one()), False
    if not counts_matches(search_key(filters.q)):
        return None, False
    return capped_count(conn, unordered)


@bp.route("/customers/count")
@require_role()
def count() -> ResponseReturnValue:
    """The totals for a list URL (fetched after the page: counting can take longer)."""
    tenant_id = current_tenant_id()
    filters, _notices = parse_filters(request.args)
    with get_engine().connect() as conn:
        scope = location_scope(conn)
        locations = {loc.id: loc for loc in tenant_locations(conn, tenant_id, scope)}
        if filters.location is not None and filters.location not in locations:
            filters = replace(filters, location=None)
        region = tenant_region(conn, tenant_id)
        matching, capped = matching_count(conn, filters, tenant_id, scope, region)
        narrowed = is_narrowed(filters)
        everyone: int | None = matching or 0
        if narrowed and request.args.get("part") == "matching":
            everyone = None  # the page asks for the whole list's count beside (total_src)
        elif narrowed:
            whole = build_customer_query(
                whole_list(filters), tenant_id, scope, region=region, ordered=False,
                dialect=conn.dialect.name,
            )  # fmt: skip
            everyone = conn.execute(count_query(whole)).scalar_one()
    place = locations[filters.location].name if filters.location is not None else None
    texts = count_texts(filters, everyone, matching, narrowed, place, capped)
    if request.accept_mimetypes.best == "application/json":
        return jsonify(texts)
    return render_template("customer_count.html", texts=texts, filters=filters)


@bp.route("/customers/selection", methods=["POST"])
@require_role()
def selection() -> ResponseReturnValue:
    """Tick or untick rows of one list (``add``/``remove`` ids, or a page's ``page_id`` and
    ``pick`` without JavaScript), or clear everything; one transaction each."""
    tenant_id = current_tenant_id()
    c = schema.customers
    raw = request.form.get("list", "")[:4000]
    parsed = {k: v if len(v) > 1 else v[0] for k, v in parse_qs(raw).items()}
    key = list_key(parse_filters(parsed)[0])

    def ids(name: str) -> set[int]:
        values = request.form.getlist(name)[:500]
        return {int(v) for v in values if v.isdigit() and len(v) < 10}

    page_ids, picked = ids("page_id"), ids("pick")
    add = ids("add") | (picked & page_ids)
    remove = ids("remove") | (page_ids - picked)
    with get_engine().begin() as conn:
        if request.form.get("op") == "clear":
            clear_selection(conn, current_user.id)
        elif add or remove:
            scope = location_scope(conn)
            visible = sa.select(c.c.id).where(c.c.id.in_(sorted(add)), c.c.tenant_id == tenant_id)
            if scope is not None:
                cl = schema.customer_locations
                visible = visible.where(
                    sa.exists().where(cl.c.customer_id == c.c.id, cl.c.location_id.in_(scope))
                )
            allowed = set(conn.execute(visible).scalars()) if add else set()
            change_selection(conn, current_user.id, key, allowed, remove)
        chosen = selected_ids(conn, current_user.id, key)
    if request.accept_mimetypes.best == "application/json":
        return jsonify(
            count=len(chosen),
            count_text=ngettext("%(num)s selected", "%(num)s selected", len(chosen)),
            ids=",".join(map(str, chosen)),
        )
    return redirect(safe_next(request.form.get("next"), url_for("customers.index")))
