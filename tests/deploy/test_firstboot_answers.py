"""What a flashed router's first boot leaves for the installer: its answer in
porchlight.txt on the card (written so a pulled plug cannot lose or tear it)
and on the console, without booting anything (tmp directories as its root)."""

from __future__ import annotations

import errno
import os
import stat

import pytest
from porchlight_deploy.firstboot_context import Context, report

TXT = b"\xef\xbb\xbf# mine\r\nadmin_url = https://a.example\r\ncode = ABCD-EFGH-JKMN\r\n"


def _card(tmp_path) -> Context:
    ctx = Context(root=tmp_path)
    ctx.txt.parent.mkdir(parents=True)
    ctx.txt.write_bytes(TXT)
    return ctx


def test_answer_is_on_the_card_before_the_console_shows_it(tmp_path, monkeypatch, capsys):
    """Temporary file synced, renamed over porchlight.txt, the folder synced (the
    rename's directory entry), and only then the console line an installer waits for."""
    ctx = _card(tmp_path)
    synced: list[tuple[str, str]] = []
    real_fsync = os.fsync

    def fsync(fd: int) -> None:
        kind = "folder" if stat.S_ISDIR(os.fstat(fd).st_mode) else "file"
        synced.append((kind, capsys.readouterr().out))
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    report(ctx, "enrolled", "gate ready at Lab Café", erase_code=True)
    assert [kind for kind, _ in synced] == ["file", "folder"]
    assert all("enrolled" not in printed for _, printed in synced)  # not before it is on disk
    assert "porchlight: enrolled: gate ready at Lab Café" in capsys.readouterr().out
    text = ctx.txt.read_bytes().decode("utf-8-sig")
    assert text.startswith("# mine\r\n") and "ABCD-EFGH-JKMN" not in text
    assert text.endswith("status = enrolled\r\nmessage = gate ready at Lab Café\r\n")
    assert sorted(p.name for p in ctx.txt.parent.iterdir()) == ["porchlight.txt"]


@pytest.mark.parametrize("failing", ["fsync", "replace"])
def test_a_failed_write_leaves_porchlight_txt_as_it_was(tmp_path, monkeypatch, capsys, failing):
    """The card full or failing mid-write: the installer's file untouched, no
    temporary file left beside it, and the answer still on the console."""
    ctx = _card(tmp_path)

    def broken(*args: object) -> None:
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(os, failing, broken)
    report(ctx, "problem", "only one network port found (eth0)")
    monkeypatch.undo()
    assert ctx.txt.read_bytes() == TXT
    assert sorted(p.name for p in ctx.txt.parent.iterdir()) == ["porchlight.txt"]
    out = capsys.readouterr().out
    assert "porchlight: problem: only one network port found (eth0)" in out
    assert f"could not write {ctx.txt}: Input/output error" in out
