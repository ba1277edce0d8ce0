"""Export files: CSV (UTF-8 with BOM) or XLSX, at most 20,000 rows each.

An export with more rows is written as numbered parts
(``customers-01.xlsx``, ``customers-02.xlsx`` …) zipped into one download.
Parts are written one at a time to a temporary folder next to the result,
so memory stays flat whatever the row count.
"""

from __future__ import annotations

import csv
import gc
import io
import logging
import re
import shutil
import tempfile
import zipfile
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, Protocol

from porchlight.admin.io.exports.columns import STYLES, WIDTHS, RowMaker, headers
from porchlight.admin.io.exports.xlsx_stream import XlsxStreamWriter

log = logging.getLogger(__name__)

ROWS_PER_FILE = 20_000
FORMATS = ("xlsx", "csv")


class _Part(Protocol):
    def write(self, rows: list[tuple[object, ...]]) -> None: ...
    def close(self) -> None: ...


# Control characters (but tab, newline and the CR of CSV's line ends): whatever
# older data or a router ever stored, a CSV cell never carries one (Excel and
# many CSV readers stop at a NUL or show garbage). One pass over each batch.
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


class _CsvPart:
    """Rows go through a string buffer, one file write a batch (not one a row)."""

    def __init__(self, path: Path, header: list[str]) -> None:
        self._fh = path.open("w", encoding="utf-8-sig", newline="")
        self._buffer = io.StringIO()
        self._writer = csv.writer(self._buffer, lineterminator="\r\n")
        self._writer.writerow(header)

    def write(self, rows: list[tuple[object, ...]]) -> None:
        self._writer.writerows(rows)
        self._fh.write(_CONTROL.sub("", self._buffer.getvalue()))
        self._buffer.seek(0)
        self._buffer.truncate()

    def close(self) -> None:
        self._fh.write(_CONTROL.sub("", self._buffer.getvalue()))
        self._fh.close()


class _XlsxPart:
    def __init__(self, path: Path, header: list[str], country: str = "VN") -> None:
        self._writer = XlsxStreamWriter(path, WIDTHS, country=country)
        self._writer.write_header(header)

    def write(self, rows: list[tuple[object, ...]]) -> None:
        write_row = self._writer.write_row
        for values in rows:
            write_row(values, STYLES)

    def close(self) -> None:
        self._writer.close()


def _part(fmt: str, path: Path, header: list[str], country: str) -> _CsvPart | _XlsxPart:
    return _CsvPart(path, header) if fmt == "csv" else _XlsxPart(path, header, country)


def write_export(
    batches: Iterable[Sequence[Sequence[Any]]],
    *,
    out_dir: Path,
    base_name: str,
    fmt: str,
    maker: RowMaker,
    lang: str,
    rows_per_file: int | None = None,
    progress: Callable[[int], None] | None = None,
    disk_name: str | None = None,
) -> tuple[Path, int, int]:
    """Write all rows; returns (the file to download, rows written, number of parts).

    Parts are named after `base_name`; the file kept is `disk_name` (default
    `base_name`) with the format's or ``.zip``'s suffix.
    """
    disk_name = disk_name or base_name
    rows_per_file = rows_per_file or ROWS_PER_FILE
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}")
    out_dir.mkdir(parents=True, exist_ok=True)
    header = headers(lang)
    work = Path(tempfile.mkdtemp(prefix=f".{base_name}-", dir=out_dir))
    # The rows are tuples, lists and strings freed by reference counting; the
    # cyclic collector's passes over them cost ~25% of a 20,000-row CSV export.
    collecting = gc.isenabled()
    gc.disable()
    try:
        parts: list[Path] = []
        part: _Part | None = None
        in_part = 0
        total = 0
        for batch in batches:
            cells = maker.rows(batch)
            start = 0
            while start < len(cells):
                if part is None or in_part >= rows_per_file:
                    if part is not None:
                        part.close()
                    path = work / f"{base_name}-{len(parts) + 1:02d}.{fmt}"
                    parts.append(path)
                    part = _part(fmt, path, header, maker.region)
                    in_part = 0
                chunk = cells[start : start + rows_per_file - in_part]
                part.write(chunk)
                in_part += len(chunk)
                total += len(chunk)
                start += len(chunk)
            if progress:
                progress(total)
        if part is None:  # nothing matched: one file with the header only
            path = work / f"{base_name}-01.{fmt}"
            parts.append(path)
            part = _part(fmt, path, header, maker.region)
        part.close()
        if len(parts) == 1:
            final = out_dir / f"{disk_name}.{fmt}"
            parts[0].replace(final)
        else:
            final = out_dir / f"{disk_name}.zip"
            method = zipfile.ZIP_DEFLATED if fmt == "csv" else zipfile.ZIP_STORED
            tmp_zip = work / "all.zip"
            with zipfile.ZipFile(
                tmp_zip, "w", method, compresslevel=1 if fmt == "csv" else None
            ) as zf:
                for path in parts:
                    zf.write(path, arcname=path.name)
                    path.unlink()
            tmp_zip.replace(final)
        return final, total, len(parts)
    finally:
        if collecting:
            gc.enable()
        shutil.rmtree(work, ignore_errors=True)
