"""What an import did or would do: counts, problems, and rows as they will be saved.

`rows` = `add` + `merge` + `skip`. `merge` counts rows that join a customer
already in the tenant and rows that join an earlier row of the same file
(`merged_rows` says which row joined which). A skipped row lists every
problem it has in `errors`; a row imported with a field left empty lists one
warning per field in `warnings`. The dry run keeps the first adds and merges
as they will be saved (`preview_add`, `preview_merge`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from porchlight.admin.io.imports.records import Record, RowError, RowProblems
from porchlight.phones import display_phone

MAX_KEPT = 500
PREVIEW_ROWS = 20


@dataclass
class Summary:
    layout: str
    rows: int = 0
    add: int = 0
    merge: int = 0
    skip: int = 0
    error_count: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)
    warning_count: int = 0
    warnings: list[dict[str, Any]] = field(default_factory=list)
    in_file_merges: int = 0
    merged_rows: list[dict[str, int]] = field(default_factory=list)
    preview_add: list[dict[str, Any]] = field(default_factory=list)
    preview_merge: list[dict[str, Any]] = field(default_factory=list)

    def skipped(self, item: RowProblems) -> None:
        self.skip += 1
        self._keep(self.errors, item.problems)
        self.error_count += len(item.problems)

    def warned(self, record: Record) -> None:
        if record.warnings:
            self._keep(self.warnings, record.warnings)
            self.warning_count += len(record.warnings)

    def merged_in_file(self, row: int, into: int) -> None:
        self.merge += 1
        self.in_file_merges += 1
        if len(self.merged_rows) < MAX_KEPT:
            self.merged_rows.append({"row": row, "into": into})

    @staticmethod
    def _keep(kept: list[dict[str, Any]], problems: tuple[RowError, ...]) -> None:
        room = MAX_KEPT - len(kept)
        kept.extend(p.as_dict() for p in problems[: max(room, 0)])

    def as_dict(self) -> dict[str, Any]:
        return {
            "layout": self.layout,
            "rows": self.rows,
            "add": self.add,
            "merge": self.merge,
            "skip": self.skip,
            "error_count": self.error_count,
            "errors": self.errors,
            "warning_count": self.warning_count,
            "warnings": self.warnings,
            "in_file_merges": self.in_file_merges,
            "merged_rows": self.merged_rows,
            "preview_add": self.preview_add,
            "preview_merge": self.preview_merge,
        }


def shown(record: Record, group: str | None) -> dict[str, Any]:
    """A record as the customer it will be saved as (JSON for the job's result)."""
    return {
        "row": record.row,
        "rows": [record.row, *record.merged],
        "name": record.name,
        "phone": display_phone(record.phone) if record.phone else "",
        "email": record.email or "",
        "external_code": record.external_code or "",
        "birthday": record.birthday.isoformat() if record.birthday else "",
        "province": record.province or "",
        "spend_total": str(record.spend_total) if record.spend_total is not None else "",
        "group": group or "",
        "tags": list(record.tags),
        "notes": (record.notes or "")[:80],
    }
