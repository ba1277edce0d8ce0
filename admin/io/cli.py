"""`porchlight admin import` and `porchlight admin export`: the same work as the pages.

Both run in the foreground (no worker needed) and are audited like the web.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from porchlight.admin import schema
from porchlight.errors import PorchlightError, UsageError

log = logging.getLogger(__name__)


def _tenant(conn: Connection, slug: str) -> int:
    t = schema.tenants.c
    tenant_id = conn.execute(sa.select(t.id).where(t.slug == slug)).scalar()
    if tenant_id is None:
        raise PorchlightError(f"no tenant with slug {slug!r}")
    return int(tenant_id)


def _location(conn: Connection, tenant_id: int, name: str) -> int:
    loc = schema.locations.c
    found = conn.execute(
        sa.select(loc.id).where(loc.tenant_id == tenant_id, loc.name == name)
    ).scalar()
    if found is None:
        raise PorchlightError(f"no location named {name!r} in this tenant")
    return int(found)


def _group(conn: Connection, tenant_id: int, name: str, create: bool) -> int:
    g = schema.groups.c
    found = conn.execute(sa.select(g.id).where(g.tenant_id == tenant_id, g.name == name)).scalar()
    if found is not None:
        return int(found)
    if not create:
        raise PorchlightError(f"no group named {name!r} in this tenant")
    result = conn.execute(schema.groups.insert().values(tenant_id=tenant_id, name=name[:100]))
    assert result.inserted_primary_key is not None
    return int(result.inserted_primary_key[0])


def _mapping(pairs: list[str]) -> dict[str, str] | None:
    from porchlight.admin.io.imports.layouts import FIELDS

    if not pairs:
        return None
    mapping: dict[str, str] = {}
    for pair in pairs:
        column, _, field = pair.partition("=")
        if not column.isdigit() or field not in FIELDS:
            raise UsageError(
                f"--map wants COLUMN=FIELD (column from 1; fields: {', '.join(FIELDS)})"
            )
        mapping[str(int(column) - 1)] = field
    return mapping


def _cmd_import(args: argparse.Namespace) -> int:
    from porchlight.admin.db import engine_from_env
    from porchlight.admin.io.imports.job import import_file
    from porchlight.admin.io.imports.texts import text

    path = Path(args.file)
    if not path.is_file():
        raise PorchlightError(f"{path}: no such file")
    engine: Engine = engine_from_env()
    with engine.begin() as conn:
        tenant_id = _tenant(conn, args.tenant)
        location_id = _location(conn, tenant_id, args.location)
        group_id = _group(conn, tenant_id, args.group, not args.dry_run) if args.group else None
    from porchlight.admin.io.imports.files import ImportFileError

    try:
        result = import_file(
            engine,
            path,
            tenant_id=tenant_id,
            location_id=location_id,
            group_id=group_id,
            dry_run=args.dry_run,
            mapping=_mapping(args.map),
            encoding=args.encoding,
            file_name=path.name,
        )
    except ImportFileError as exc:
        raise PorchlightError(f"{path.name}: {text(exc.code)}") from exc
    if result.get("needs_mapping"):
        columns = ", ".join(f"{i + 1}={h}" for i, h in enumerate(result["headers"]))
        raise PorchlightError(
            f"{path.name}: columns not recognised ({columns})",
            hint="tell which is which with --map COLUMN=FIELD, e.g. --map 2=phone",
        )
    if args.json:
        json.dump(result, sys.stdout, ensure_ascii=False, default=str)
        sys.stdout.write("\n")
        return 0
    verb = "would add" if args.dry_run else "added"
    print(
        f"{path.name} ({result['layout']}): {result['rows']} rows; {verb} {result['add']}, "
        f"merged {result['merge']}, skipped {result['skip']}"
    )
    for err in result["errors"][:50]:
        message = text(err["code"], "en", other=err.get("other"))
        value = f" ({err['value']})" if err.get("value") else ""
        print(f"  row {err['row']}: {err.get('field') or ''} {message}{value}")
    if result["error_count"] > 50:
        print(f"  … and {result['error_count'] - 50} more")
    return 0


def _filter_args(conn: Connection, tenant_id: int, args: argparse.Namespace) -> str:
    values: dict[str, Any] = {}
    if args.location:
        values["location"] = _location(conn, tenant_id, args.location)
    if args.group:
        values["group"] = (
            "none" if args.group == "none" else _group(conn, tenant_id, args.group, False)
        )
    for key in ("channel", "province", "postal", "updated_from", "updated_to", "q", "tag_mode"):
        if getattr(args, key):
            values[key] = getattr(args, key)
    for key in ("visits_min", "visits_max"):
        if getattr(args, key) is not None:
            values[key] = getattr(args, key)
    if args.tag:
        values["tag"] = args.tag
    return urlencode(values, doseq=True)


def _cmd_export(args: argparse.Namespace) -> int:
    from porchlight.admin.db import engine_from_env, utcnow
    from porchlight.admin.io.exports.job import export_customers, zone_for
    from porchlight.admin.io.exports.local_time import file_stem

    engine: Engine = engine_from_env()
    with engine.connect() as conn:
        tenant_id = _tenant(conn, args.tenant)
        query_string = _filter_args(conn, tenant_id, args)
        scope = "filtered" if query_string else "all"
        zone = zone_for(conn, tenant_id, scope, query_string, None)
    stem = file_stem(utcnow(), zone)  # local time, as the web's files
    disk, n = stem, 1
    while any(Path(args.out, f"{disk}.{ext}").exists() for ext in (args.format, "zip")):
        n += 1
        disk = f"{stem}-{n}"  # a second export within the minute keeps the first
    result = export_customers(
        engine,
        tenant_id=tenant_id,
        scope=scope,
        fmt=args.format,
        out_dir=Path(args.out),
        base_name=stem,
        disk_name=disk,
        zone=zone,
        lang=args.lang,
        filters_qs=query_string,
        purpose="marketing" if args.marketing else None,
    )
    if args.json:
        json.dump(result, sys.stdout, ensure_ascii=False)
        sys.stdout.write("\n")
    else:
        print(f"{result['path']}: {result['rows']} customers in {result['files']} file(s)")
    return 0


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("import", help="import a customer list (XLSX or CSV)")
    p.add_argument("file", metavar="FILE")
    p.add_argument("--tenant", required=True, metavar="SLUG")
    p.add_argument("--location", required=True, metavar="NAME")
    p.add_argument("--group", metavar="NAME", help="put every imported customer in this group")
    p.add_argument("--dry-run", action="store_true", help="count and list errors; write nothing")
    p.add_argument("--encoding", help="CSV encoding (default: detected)")
    p.add_argument("--map", action="append", default=[], metavar="COLUMN=FIELD")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_cmd_import)

    p = sub.add_parser("export", help="export customers to XLSX or CSV files")
    p.add_argument("--tenant", required=True, metavar="SLUG")
    p.add_argument("--format", choices=("xlsx", "csv"), default="xlsx")
    p.add_argument("--out", required=True, metavar="DIR")
    p.add_argument("--lang", choices=("vi", "th", "en"), default="vi")
    p.add_argument("--location", metavar="NAME")
    p.add_argument("--channel")
    p.add_argument("--tag", action="append", default=[])
    p.add_argument("--tag-mode", choices=("any", "all"))
    p.add_argument("--province")
    p.add_argument("--postal")
    p.add_argument("--updated-from", metavar="YYYY-MM-DD")
    p.add_argument("--updated-to", metavar="YYYY-MM-DD")
    p.add_argument("--visits-min", type=int)
    p.add_argument("--visits-max", type=int)
    p.add_argument("--group", metavar="NAME", help="a group name, or 'none'")
    p.add_argument("--q", metavar="TEXT", help="name, phone or email")
    p.add_argument(
        "--marketing",
        action="store_true",
        help="for marketing: only customers whose marketing consent is current",
    )
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_cmd_export)
