"""Import benchmark: a 100,000-row KiotViet XLSX, dry run and apply, time and peak RSS.

    .venv/bin/python benchmarks/io_import.py [--rows 100000]

Each phase runs in its own process so the peak RSS printed is that phase's.
Targets (issue 17): apply under 10 s, dry run under 5 s, peak RSS under
300 MB. CPU time is printed next to wall time, and the load average when the
phase started: on a shared machine the CPU time is the fairer figure.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from io_common import fresh_db, in_child, peak_rss_mb  # noqa: E402

WORK = Path("/tmp/porchlight-bench-io")
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


def case(mode: str, rows: int) -> None:
    from porchlight.admin.io.imports.job import import_file

    db = WORK / "import.db"
    engine = fresh_db(db)
    path = make_file(rows)
    load = "/".join(f"{x:.1f}" for x in os.getloadavg())
    started = time.perf_counter()
    cpu = time.process_time()
    result = import_file(engine, path, tenant_id=1, location_id=1, dry_run=mode == "dry_run")
    wall = time.perf_counter() - started
    print(
        f"{mode:8s} {result['rows']:>7,} rows: {wall:6.1f} s wall, "
        f"{time.process_time() - cpu:6.1f} s CPU, peak RSS {peak_rss_mb():5.0f} MB; "
        f"add {result['add']:,} merge {result['merge']:,} skip {result['skip']:,}; "
        f"load {load}"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--case", action="store_true")
    parser.add_argument("mode", nargs="?")
    args = parser.parse_args()
    if args.case:
        case(args.mode, args.rows)
        return
    started = time.perf_counter()
    path = make_file(args.rows)
    print(
        f"file {path} ({path.stat().st_size / 1e6:.1f} MB) "
        f"ready in {time.perf_counter() - started:.1f} s"
    )
    for mode in ("dry_run", "apply"):
        print(in_child(Path(__file__), mode, "--rows", str(args.rows)))


if __name__ == "__main__":
    main()
