"""Import benchmark: a 100,000-row KiotViet XLSX, dry run and apply, time and peak RSS.

    .venv/bin/python benchmarks/io_import.py [--rows 100000] [--db URL] [--json]

The file and the SQLite database go to /tmp/porchlight-bench-io, or to
``PORCHLIGHT_BENCH_IO_DIR`` (two runs side by side, e.g. old code and new).

Phases: ``dry_run`` and ``apply`` into an empty tenant, and ``reimport``: the
same file applied again onto what ``apply`` left, every row merging into the
customer the first apply made (the merge-heavy case; ``apply`` runs first
when only ``reimport`` is asked for). ``--db`` runs them on PostgreSQL
(``postgresql+psycopg://...``; its tables are dropped and migrated afresh)
instead of a SQLite file.
Each phase runs in its own process so the peak RSS printed is that phase's.
Targets (issue 17): apply under 10 s, dry run under 5 s, peak RSS under
300 MB. CPU time is printed next to wall time, and the load average when the
phase started: on a shared machine the CPU time is the fairer figure. On
PostgreSQL the server's CPU time is added (its processes serving the
database, read from /proc: the server must run on this machine).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import sqlalchemy as sa  # noqa: E402
from io_common import NOW, fresh_db, peak_rss_mb  # noqa: E402

WORK = Path(os.environ.get("PORCHLIGHT_BENCH_IO_DIR", "/tmp/porchlight-bench-io"))
HEADERS = [
    "Loại khách", "Mã khách hàng", "Tên khách hàng", "Điện thoại", "Địa chỉ",
    "Khu vực giao hàng", "Phường/Xã", "Công ty", "Mã số thuế", "Số CMND/CCCD", "Ngày sinh",
    "Giới tính", "Email", "Facebook", "Nhóm khách hàng", "Ghi chú", "Ngày giao dịch cuối",
    "Nợ cần thu hiện tại", "Tổng bán", "Trạng thái",
]  # fmt: skip


def make_file(rows: int) -> Path:
    import xlsxwriter

    path = WORK / f"kiotviet-{rows}.xlsx"
    if path.exists():
        return path
    WORK.mkdir(parents=True, exist_ok=True)
    book = xlsxwriter.Workbook(str(path), {"constant_memory": True})
    sheet = book.add_worksheet()
    sheet.write_row(0, 0, HEADERS)
    for i in range(1, rows + 1):
        phone = f"09{i:08d}" if i % 3 else f"+84 9{i % 10}.{i:07d}"[:16]
        sheet.write_row(
            i,
            0,
            [
                "Cá nhân", f"KH{i:06d}", f"Nguyễn Văn Khách {i}", phone, f"{i} Lê Lợi",
                "Hồ Chí Minh - Quận 1", "Phường Bến Nghé", "", "", "", "01/02/1990", "Nam",
                f"khach{i}@example.vn", "", "VIP|Thân thiết", "", "15/11/2026", 0,
                1_250_000 + i, "Đang hoạt động",
            ],
        )  # fmt: skip
    book.close()
    return path


def fresh(url: str | None) -> sa.Engine:
    """An empty migrated database with tenant 1 and location 1."""
    if url is None:
        return fresh_db(WORK / "import.db")
    from porchlight.admin import schema
    from porchlight.admin.db import make_engine
    from porchlight.admin.migrate import upgrade

    engine = make_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql("DROP SCHEMA public CASCADE")
        conn.exec_driver_sql("CREATE SCHEMA public")
        conn.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    upgrade(engine)
    with engine.begin() as conn:
        conn.execute(schema.tenants.insert().values(id=1, slug="b", name="B", created_at=NOW))
        conn.execute(
            schema.locations.insert().values(
                id=1, tenant_id=1, name="Q1", created_at=NOW, updated_at=NOW
            )
        )
    return engine


def existing(url: str | None) -> sa.Engine:
    """The database the apply phase left (the re-import merges into its customers)."""
    from porchlight.admin.db import make_engine

    return make_engine(url or f"sqlite:///{WORK / 'import.db'}")


def case(mode: str, rows: int, url: str | None) -> dict[str, object]:
    from porchlight.admin.io.imports.job import import_file

    engine = existing(url) if mode == "reimport" else fresh(url)
    path = make_file(rows)
    load = os.getloadavg()
    server = server_cpu(engine)
    started = time.perf_counter()
    cpu = time.process_time()
    result = import_file(engine, path, tenant_id=1, location_id=1, dry_run=mode == "dry_run")
    wall = time.perf_counter() - started
    cpu = time.process_time() - cpu
    after = server_cpu(engine)
    return {
        "phase": mode,
        "db": engine.dialect.name,
        "rows": result["rows"],
        "wall_s": round(wall, 2),
        "cpu_s": round(cpu, 2),
        # PostgreSQL: CPU time of the server processes serving this database meanwhile
        "server_cpu_s": round(sum(t - server.get(pid, 0.0) for pid, t in after.items()), 2)
        if after
        else None,
        "peak_rss_mb": round(peak_rss_mb()),
        "add": result["add"],
        "merge": result["merge"],
        "skip": result["skip"],
        "load": [round(x, 1) for x in load],
    }


def server_cpu(engine: sa.Engine) -> dict[int, float]:
    """PostgreSQL on this machine: user + system CPU seconds of each server process
    connected to the database ({} on SQLite, or when /proc cannot tell)."""
    if engine.dialect.name != "postgresql":
        return {}
    with engine.connect() as conn:
        pids = conn.exec_driver_sql(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
        ).scalars()
        found = {}
        for pid in pids:
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            found[pid] = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return found


def line(r: dict[str, object]) -> str:
    load = "/".join(str(x) for x in r["load"])  # type: ignore[attr-defined]
    return (
        f"{r['phase']:8s} {r['db']:10s} {r['rows']:>7,} rows: {r['wall_s']:6.1f} s wall, "
        f"{r['cpu_s']:6.1f} s CPU"
        + (f" + server {r['server_cpu_s']:5.1f} s" if r["server_cpu_s"] is not None else "")
        + f", peak RSS {r['peak_rss_mb']:5} MB; "
        f"add {r['add']:,} merge {r['merge']:,} skip {r['skip']:,}; load {load}"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--db", help="a PostgreSQL URL (default: a SQLite file)")
    parser.add_argument("--phases", default="dry_run,apply,reimport")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--case", action="store_true")
    parser.add_argument("mode", nargs="?")
    args = parser.parse_args()
    if args.case:
        print(json.dumps(case(args.mode, args.rows, args.db)))
        return
    started = time.perf_counter()
    path = make_file(args.rows)
    if not args.json:
        print(
            f"file {path} ({path.stat().st_size / 1e6:.1f} MB) "
            f"ready in {time.perf_counter() - started:.1f} s"
        )
    results = []
    phases = args.phases.split(",")
    if "reimport" in phases and "apply" not in phases:
        phases.insert(phases.index("reimport"), "apply")
    for mode in phases:
        extra = ("--db", args.db) if args.db else ()
        began = time.perf_counter()
        out = subprocess.run(
            [sys.executable, __file__, "--case", mode, "--rows", str(args.rows), *extra],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        wall = time.perf_counter() - began
        result = json.loads(out) | {"process_wall_s": round(wall, 1)}
        results.append(result)
        if not args.json:
            print(f"{line(result)}  (process wall {wall:.1f} s)")
    if args.json:
        print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
