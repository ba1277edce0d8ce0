"""`porchlight admin import|export|worker`: results, JSON, one-line errors."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from builders import KIOTVIET_HEADERS, kiotviet_row, write_xlsx

from porchlight.admin import schema
from porchlight.admin.io import jobs
from porchlight.cli import main


def use_db(monkeypatch, engine, tmp_path) -> None:
    monkeypatch.setenv("PORCHLIGHT_ADMIN_DATABASE_URL", engine.url.render_as_string(False))
    monkeypatch.setenv("PORCHLIGHT_ADMIN_DATA_DIR", str(tmp_path / "data"))


def test_import_dry_run_then_for_real(engine, world, tmp_path, monkeypatch, capsys):
    use_db(monkeypatch, engine, tmp_path)
    path = write_xlsx(
        tmp_path / "kv.xlsx",
        [KIOTVIET_HEADERS, kiotviet_row("K1", "An", "0912345678"), kiotviet_row("K2", "B", "1")],
    )
    args = ["admin", "import", str(path), "--tenant", "acme", "--location", "Q1"]
    assert main([*args, "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "kv.xlsx (kiotviet): 2 rows; would add 1, merged 0, skipped 1" in out
    assert "row 3: phone not a valid phone number (1)" in out
    assert main([*args, "--group", "Khách sỉ", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert (result["mode"], result["add"], result["skip"]) == ("apply", 1, 1)
    with engine.connect() as conn:
        group = conn.execute(
            sa.select(schema.groups.c.name).join(
                schema.customers, schema.customers.c.group_id == schema.groups.c.id
            )
        ).scalar()
    assert group == "Khách sỉ"


def test_import_errors_are_one_line(engine, world, tmp_path, monkeypatch, capsys):
    use_db(monkeypatch, engine, tmp_path)
    pdf = tmp_path / "x.xlsx"
    pdf.write_bytes(b"%PDF-1.4")
    assert main(["admin", "import", str(pdf), "--tenant", "acme", "--location", "Q1"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "not an Excel (.xlsx) or CSV file" in err
    assert main(["admin", "import", str(pdf), "--tenant", "nope", "--location", "Q1"]) == 1
    assert "no tenant with slug 'nope'" in capsys.readouterr().err
    odd = tmp_path / "odd.csv"
    odd.write_text("Khách,Liên lạc\nAn,0912345678\n")
    assert main(["admin", "import", str(odd), "--tenant", "acme", "--location", "Q1"]) == 1
    assert "--map COLUMN=FIELD" in capsys.readouterr().err
    code = main(["admin", "import", str(odd), "--tenant", "acme", "--location", "Q1",
                 "--map", "1=name", "--map", "2=phone"])  # fmt: skip
    assert code == 0 and "added 1" in capsys.readouterr().out


def test_export_with_filters_and_split(engine, world, factory, tmp_path, monkeypatch, capsys):
    from porchlight.admin.io.exports import writers

    use_db(monkeypatch, engine, tmp_path)
    monkeypatch.setattr(writers, "ROWS_PER_FILE", 2)
    for i in range(5):
        factory.customer(
            world.tenant_id, f"K{i}", phone=f"+8491200000{i}", tags=["VIP"] if i else []
        )
    out = tmp_path / "exports"
    code = main(["admin", "export", "--tenant", "acme", "--format", "csv", "--out", str(out),
                 "--tag", "VIP", "--json"])  # fmt: skip
    assert code == 0
    result = json.loads(capsys.readouterr().out)
    assert (result["rows"], result["files"]) == (4, 2)
    with zipfile.ZipFile(result["path"]) as zf:
        assert len(zf.namelist()) == 2
    code = main(["admin", "export", "--tenant", "acme", "--format", "xlsx", "--out", str(out)])
    assert code == 0 and "5 customers in 3 file(s)" in capsys.readouterr().out
    with engine.connect() as conn:
        audited = conn.execute(
            sa.select(sa.func.count()).where(schema.audit_log.c.action == "customers.export")
        ).scalar()
    assert audited == 2


def test_worker_once(engine, world, tmp_path, monkeypatch):
    use_db(monkeypatch, engine, tmp_path)
    with engine.begin() as conn:
        job_id = jobs.enqueue(
            conn, tenant_id=world.tenant_id, kind="export", params={"scope": "all", "format": "csv"}
        )
    assert main(["admin", "worker", "--once"]) == 0
    with engine.connect() as conn:
        row = conn.execute(sa.select(schema.jobs).where(schema.jobs.c.id == job_id)).one()
    assert row.status == "done" and Path(row.file_path).is_file()
    assert str(tmp_path / "data") in row.file_path


def test_cli_files_are_named_in_local_time_and_never_overwritten(
    engine, world, factory, tmp_path, monkeypatch, capsys
):
    from porchlight.admin.db import utcnow
    from porchlight.admin.io.exports.local_time import file_stem

    use_db(monkeypatch, engine, tmp_path)
    factory.customer(world.tenant_id, "Lan", phone="+84912000001")
    out = tmp_path / "exports"
    args = ["admin", "export", "--tenant", "acme", "--format", "csv", "--out", str(out), "--json"]
    before = utcnow()
    assert main(args) == 0 and main(args) == 0
    first, second = (json.loads(line) for line in capsys.readouterr().out.splitlines())
    stems = {file_stem(t, ZoneInfo("Asia/Ho_Chi_Minh")) for t in (before, utcnow())}
    assert first["file_name"][: -len(".csv")] in stems
    if second["file_name"] == first["file_name"]:  # the same minute
        assert Path(second["path"]).name == first["file_name"][: -len(".csv")] + "-2.csv"
    assert len(list(out.iterdir())) == 2  # the second export kept the first
