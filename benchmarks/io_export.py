"""Export benchmark: 20,000 rows to XLSX and CSV, 200,000 rows to 10 zipped XLSX files.

    .venv/bin/python benchmarks/io_export.py [--big 200000]

Each case runs in its own process (peak RSS is that case's). Customers carry
two tags and two consent answers each, like a venue's real list.
Targets (issue 6): 20,000 XLSX < 2 s, CSV < 0.3 s; 200,000 (10 files) < 25 s,
memory flat in row count.
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from io_common import NOW, fresh_db, in_child, peak_rss_mb  # noqa: E402

WORK = Path("/tmp/porchlight-bench-io")


def seed(rows: int) -> Path:
    from porchlight.admin import schema

    db = WORK / f"export-{rows}.db"
    if db.exists():
        return db
    WORK.mkdir(parents=True, exist_ok=True)
    engine = fresh_db(db)
    with engine.begin() as conn:
        conn.execute(schema.tags.insert(), [{"id": 1, "tenant_id": 1, "name": "wifi"},
                                            {"id": 2, "tenant_id": 1, "name": "VIP"}])  # fmt: skip
        for start in range(0, rows, 10_000):
            ids = range(start + 1, min(start + 10_001, rows + 1))
            conn.execute(
                schema.customers.insert(),
                [
                    {
                        "id": i, "tenant_id": 1, "name": f"Nguyễn Thị Khách {i}",
                        "phone": f"+849{i:08d}", "email": f"k{i}@example.vn",
                        "visit_count": i % 40, "spend_total": 1000 * i,
                        "first_visit_at": NOW - timedelta(days=i % 300),
                        "last_visit_at": NOW - timedelta(hours=i % 500),
                        "last_channel": "form", "province": "Hồ Chí Minh",
                        "notes": "=1+1" if i % 100 == 0 else "", "created_at": NOW,
                        "updated_at": NOW,
                    }
                    for i in ids
                ],
            )  # fmt: skip
            conn.execute(
                schema.customer_tags.insert(),
                [{"customer_id": i, "tag_id": t} for i in ids for t in (1, 2)],
            )
            conn.execute(
                schema.customer_locations.insert(),
                [{"customer_id": i, "location_id": 1, "visit_count": i % 40} for i in ids],
            )
            conn.execute(
                schema.consents.insert(),
                [
                    {"tenant_id": 1, "customer_id": i, "purpose": p, "granted": i % 2 == 0,
                     "text_version": "v1", "given_at": NOW, "received_at": NOW}
                    for i in ids for p in ("wifi", "marketing")
                ],
            )  # fmt: skip
    engine.dispose()
    return db


def case(rows: int, fmt: str) -> None:
    from porchlight.admin.db import make_engine
    from porchlight.admin.io.exports.job import export_customers

    engine = make_engine(f"sqlite:///{seed(rows)}")
    started, cpu = time.perf_counter(), time.process_time()
    result = export_customers(
        engine, tenant_id=1, scope="all", fmt=fmt, out_dir=WORK / "out", base_name=f"b-{rows}"
    )
    wall = time.perf_counter() - started
    size = Path(result["path"]).stat().st_size / 1e6
    print(
        f"{rows:>7,} rows {fmt:4s}: {wall:6.2f} s wall, {time.process_time() - cpu:6.2f} s CPU, "
        f"peak RSS {peak_rss_mb():4.0f} MB, {result['files']} file(s), {size:.1f} MB"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--big", type=int, default=200_000)
    parser.add_argument("--case", action="store_true")
    parser.add_argument("rows", nargs="?", type=int)
    parser.add_argument("fmt", nargs="?")
    args = parser.parse_args()
    if args.case:
        case(args.rows, args.fmt)
        return
    for rows in (20_000, args.big):
        started = time.perf_counter()
        seed(rows)
        print(f"database with {rows:,} customers ready in {time.perf_counter() - started:.1f} s")
    for rows, fmt in ((20_000, "csv"), (20_000, "xlsx"), (args.big, "csv"), (args.big, "xlsx")):
        print(in_child(Path(__file__), str(rows), fmt))


if __name__ == "__main__":
    main()
