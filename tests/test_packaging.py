"""The wheel as setuptools builds it: no packaging warnings, every file of the parts inside.

agent/ portal/ admin/ become porchlight.agent/.portal/.admin through the committed
symlinks porchlight/agent -> ../agent etc.; the wheel must carry their data
(templates, static, fonts, compiled translations, migrations) as real files.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PARTS = ("agent", "portal", "admin")
SKIP = shutil.ignore_patterns(
    ".git", ".venv", "build", "dist", "test-artifacts", "*.egg-info", "__pycache__", ".*_cache"
)
# what the programs read at run time (extraction configs and .po sources may stay out)
RUN_TIME = {".py", ".html", ".css", ".js", ".json", ".mo", ".mako", ".svg", ".ttf", ".xlsx"}
# a Python warning as `warnings` prints it: "path:line: SomethingWarning: text"
PY_WARNING = re.compile(r"\w*Warning: ")


def test_parts_are_symlinks_into_the_package():
    for part in PARTS:
        link = REPO / "porchlight" / part
        assert link.is_symlink(), f"porchlight/{part} should be a symlink to ../{part}"
        assert os.readlink(link) == f"../{part}"
        assert (link / "__init__.py").resolve() == REPO / part / "__init__.py"


def _source_files(tree: Path) -> set[str]:
    """Every run-time file of `tree`'s package and parts, named as inside the wheel."""
    names = set()
    for top in ("porchlight", *PARTS):
        for root, dirs, files in os.walk(tree / top):  # does not follow porchlight/<part>
            dirs[:] = [d for d in dirs if d != "__pycache__"]
            for name in files:
                if Path(name).suffix not in RUN_TIME:
                    continue
                rel = Path(root, name).relative_to(tree).as_posix()
                names.add(rel if top == "porchlight" else f"porchlight/{rel}")
    return names


def test_wheel_builds_without_warnings_and_holds_every_data_file(tmp_path):
    src = tmp_path / "src"
    shutil.copytree(REPO, src, symlinks=True, ignore=SKIP)
    out = tmp_path / "out"
    out.mkdir()
    proc = subprocess.run(
        [
            sys.executable,
            "-W",
            "always",
            "-c",
            "import sys; from setuptools.build_meta import build_wheel; "
            "print(build_wheel(sys.argv[1]))",
            str(out),
        ],
        cwd=src,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    output = proc.stdout + proc.stderr
    assert "absent from" not in output
    assert not [line for line in output.splitlines() if PY_WARNING.search(line)], output[-3000:]

    wheel = out / proc.stdout.split()[-1]
    with zipfile.ZipFile(wheel) as zf:
        names = zf.namelist()
    assert len(names) == len(set(names)), "a file is in the wheel twice"
    inside = set(names)
    for must in (
        "porchlight/admin/templates/base.html",
        "porchlight/admin/static/admin.css",
        "porchlight/admin/fonts/NotoSansThai-Regular.ttf",
        "porchlight/admin/translations/vi/LC_MESSAGES/messages.mo",
        "porchlight/admin/translations/th/LC_MESSAGES/messages.mo",
        "porchlight/admin/migrations/env.py",
        "porchlight/admin/migrations/script.py.mako",
        "porchlight/admin/migrations/versions/0001_core_schema.py",
        "porchlight/agent/daemon.py",
        "porchlight/portal/app.py",
    ):
        assert must in inside, must
    assert sorted(_source_files(src) - inside) == []
