"""The image's root fills the card or disk it was written to, tried on image files.

An image written to a card bigger than itself leaves free space after the root
partition. amd64 (GPT): systemd-repart with the image's own /etc/repart.d file
grows the root partition (and moves the backup GPT to the end) — run here on
an enlarged image file, as it runs on the disk at boot. arm64 (the Pi's MBR):
porchlight-growroot's sfdisk step on an enlarged file. Then ext4 grows with
resize2fs, as it does online at boot. No root, no loop devices. The boot
itself (partition and filesystem grown under a running system) is the opt-in
QEMU test's (tests/deploy/test_image_qemu.py).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from deploykit import run
from porchlight_deploy import growroot
from porchlight_deploy import image_build as ib
from porchlight_deploy import image_layout as il

pytestmark = pytest.mark.skipif(
    not all(shutil.which(t) for t in ("sfdisk", "mkfs.vfat", "mcopy", "mkfs.ext4", "resize2fs")),
    reason="needs fdisk, dosfstools, mtools and e2fsprogs (scripts/setup --tests)",
)
IDS = {
    "esp": "11111111-2222-3333-4444-555555555555",
    "config": "21111111-2222-3333-4444-555555555555",
    "root": "31111111-2222-3333-4444-555555555555",
}
GROWN_BY = 64  # MiB the "card" is bigger than the image


def _image(arch: str, folder: Path) -> tuple[il.Layout, Path]:
    """An image with a real (16 MiB) ext4 root, then made GROWN_BY MiB bigger."""
    disk_id = "A1111111-2222-3333-4444-555555555555" if arch == "amd64" else "c0ffee01"
    lay = il.layout(arch, 16, IDS, disk_id)
    tree = folder / "tree"
    (tree / "etc").mkdir(parents=True)
    (tree / "etc/hostname").write_text("porchlight\n")
    parts = {}
    for part in lay.partitions:
        path = folder / f"{part.name}.img"
        if part.fs == "vfat":
            ib.make_fat(path, part.size_mib, part.label, {il.CONFIG_FILE: b"code =\r\n"})
        else:
            run(["mkfs.ext4", "-q", "-F", "-d", str(tree), str(path), f"{part.size_mib}M"])
        parts[part.name] = path
    image = folder / "disk.img"
    ib.assemble(lay, image, parts)
    with image.open("r+b") as handle:
        handle.truncate(image.stat().st_size + GROWN_BY * il.MIB)
    return lay, image


def _partitions(image: Path) -> list[dict]:
    return json.loads(run(["sfdisk", "--json", str(image)]).stdout)["partitiontable"]["partitions"]


def _check_grown(lay: il.Layout, image: Path, before: list[dict], tail: int) -> None:
    """The root now ends `tail` sectors before the disk's end (systemd-repart keeps
    a partition's end on 4 KiB: up to 7 more); nothing else moved."""
    after = _partitions(image)
    assert after[:-1] == before[:-1]
    root = after[-1]
    assert int(root["start"]) == lay.root.start_mib * 2048
    left = image.stat().st_size // 512 - tail - (int(root["start"]) + int(root["size"]))
    assert 0 <= left < 8, left
    assert int(root["size"]) >= (16 + GROWN_BY - 1) * 2048
    verify = run(["sfdisk", "--verify", str(image)], check=False)
    assert verify.returncode == 0 and "No errors detected" in verify.stdout, verify.stdout


def _grow_ext4(image: Path, lay: il.Layout, folder: Path) -> int:
    """resize2fs on the grown partition (copied out: resize2fs takes no offset); blocks."""
    size = int(_partitions(image)[-1]["size"]) * 512
    part = folder / "root-grown.img"
    run(["dd", f"if={image}", f"of={part}", "bs=1M", f"skip={lay.root.start_mib}", "status=none"])
    with part.open("r+b") as handle:
        handle.truncate(size)
    run(["e2fsck", "-fy", str(part)], check=False)
    run(["resize2fs", str(part)])
    info = run(["dumpe2fs", "-h", str(part)]).stdout
    count = next(line for line in info.splitlines() if line.startswith("Block count:"))
    size_of_block = next(line for line in info.splitlines() if line.startswith("Block size:"))
    return int(count.split()[-1]) * int(size_of_block.split()[-1])


@pytest.mark.skipif(shutil.which("systemd-repart") is None, reason="needs systemd-repart")
def test_amd64_root_grows_with_systemd_repart_and_the_images_definition(tmp_path):
    lay, image = _image("amd64", tmp_path)
    before = _partitions(image)
    definitions = tmp_path / "repart.d"
    definitions.mkdir()
    for name, text in il.grow_files(lay).items():
        (definitions / Path(name).name).write_text(text)
    proc = run(["systemd-repart", "--dry-run=no", "--no-pager", f"--definitions={definitions}"]
               + [str(image)], check=False)  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    _check_grown(lay, image, before, tail=33)  # the backup GPT, moved to the new end
    assert _grow_ext4(image, lay, tmp_path) >= (16 + GROWN_BY - 1) * il.MIB
    grown = _partitions(image)
    again = run(["systemd-repart", "--dry-run=no", "--no-pager", f"--definitions={definitions}"]
                + [str(image)], check=False)  # fmt: skip
    assert again.returncode == 0 and _partitions(image) == grown  # the next boots: nothing


@pytest.mark.parametrize("arch", ["arm64", "amd64"])
def test_growroot_moves_the_root_partitions_end_to_the_disks_end(arch, tmp_path):
    """porchlight-growroot's partition step (the Pi's; on GPT it moves the backup too)."""
    lay, image = _image(arch, tmp_path)
    before = _partitions(image)
    number = len(lay.partitions)
    assert growroot.free_after(str(image), number) >= GROWN_BY * 2048 - 2048
    assert growroot.free_after(str(image), 1) == 0  # not the last partition
    assert growroot.grow_partition(str(image), number) is True
    _check_grown(lay, image, before, tail=33 if arch == "amd64" else 0)
    assert _grow_ext4(image, lay, tmp_path) >= (16 + GROWN_BY - 1) * il.MIB
    assert growroot.grow_partition(str(image), number) is False  # once is enough
    with pytest.raises(growroot.GrowError, match="has no partition 7"):
        growroot.free_after(str(image), 7)


def test_growroot_says_why_it_did_not_grow_and_tries_again_next_boot(tmp_path, monkeypatch, capsys):
    """/ on a whole disk (or anything but a partition): one console line, exit 1,
    no marker, so porchlight-growroot.service runs again at the next boot."""
    monkeypatch.setattr(growroot, "DONE", tmp_path / "root-grown")

    def whole_disk() -> tuple[str, int, str]:
        raise growroot.GrowError("/ is on vda, not a partition")

    monkeypatch.setattr(growroot, "root_partition", whole_disk)
    assert growroot.main([]) == 1
    out = capsys.readouterr().out
    assert out == "porchlight: the root filesystem was not grown: / is on vda, not a partition\n"
    assert not (tmp_path / "root-grown").exists()
