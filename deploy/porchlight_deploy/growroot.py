"""The root partition and its ext4 fill the card or disk at first boot.

amd64 images (GPT) need none of this: systemd-repart (/etc/repart.d, in
Debian 12's systemd) grows the root partition into the free space after it
and fstab's x-systemd.growfs has systemd-growfs grow ext4 online after it.
systemd-repart reads GPT only, and the Raspberry Pi's disk is MBR (as its boot
ROM and Raspberry Pi Imager expect), so arm64 images run this instead from
porchlight-growroot.service, as Debian's own Raspberry Pi images do: sfdisk
moves the root partition's end to the disk's end (nothing else in the table
changes), partx tells the kernel the mounted partition's new size, resize2fs
grows ext4 online. `grow_partition` works on an image file as well (tests).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

SECTOR = 512
MIN_GROWTH = 2048  # sectors (1 MiB): less is left alone
DONE = Path("/var/lib/porchlight/root-grown")


class GrowError(Exception):
    pass


def _run(argv: Sequence[str], stdin: str | None = None) -> str:
    proc = subprocess.run(
        list(argv), input=stdin, capture_output=True, text=True, timeout=120, check=False
    )
    if proc.returncode != 0:
        why = (proc.stderr or proc.stdout or "no output").strip().splitlines()[-1:]
        raise GrowError(f"{' '.join(argv[:2])} failed: {' / '.join(why)}")
    return proc.stdout


def disk_sectors(disk: str) -> int:
    """The size of a block device or an image file, in sectors."""
    with open(disk, "rb") as handle:
        return handle.seek(0, os.SEEK_END) // SECTOR


def _table(disk: str) -> dict:
    return dict(json.loads(_run(["sfdisk", "--json", disk]))["partitiontable"])


def free_after(disk: str, number: int) -> int:
    """Sectors between partition `number`'s end and the end of the disk (GPT: its backup)."""
    table = _table(disk)
    parts = [p for p in table["partitions"] if re.search(rf"\D{number}$", p["node"])]
    if not parts:
        raise GrowError(f"{disk} has no partition {number}")
    end = int(parts[0]["start"]) + int(parts[0]["size"])
    if any(int(p["start"]) >= end for p in table["partitions"]):
        return 0  # not the last partition: nothing to grow into
    reserved = 33 if table["label"] == "gpt" else 0  # the backup GPT at the disk's end
    return disk_sectors(disk) - reserved - end


def grow_partition(disk: str, number: int) -> bool:
    """Partition `number`'s end moved to the end of `disk`; False when there was no room."""
    if free_after(disk, number) < MIN_GROWTH:
        return False
    if _table(disk)["label"] == "gpt":  # the backup GPT to the new end first
        _run(["sfdisk", "-q", "--no-reread", "--no-tell-kernel", "--relocate", "gpt-bak-std", disk])
    # a device in use is written anyway (--no-reread); the kernel is told by partx
    _run(["sfdisk", "-q", "--no-reread", "--no-tell-kernel", "-N", str(number), disk], ", +\n")
    return True


def root_partition() -> tuple[str, int, str]:
    """(disk, partition number, partition device) of the mounted root filesystem,
    from its device number (findmnt may say /dev/root when no initramfs mounted it)."""
    dev = os.stat("/").st_dev
    sysfs = Path(f"/sys/dev/block/{os.major(dev)}:{os.minor(dev)}").resolve()
    if not (sysfs / "partition").exists():
        raise GrowError(f"/ is on {sysfs.name}, not a partition")
    number = int((sysfs / "partition").read_text())
    return f"/dev/{sysfs.parent.name}", number, f"/dev/{sysfs.name}"


def main(argv: Sequence[str]) -> int:
    del argv
    try:
        disk, number, device = root_partition()
        if grow_partition(disk, number):
            _run(["partx", "-u", "--nr", str(number), disk])
            _run(["resize2fs", device])
        size = int(_run(["findmnt", "-n", "-b", "-o", "SIZE", "/"]).strip() or 0)
    except (GrowError, OSError, ValueError) as exc:
        print(f"porchlight: the root filesystem was not grown: {exc}", flush=True)
        return 1
    DONE.parent.mkdir(parents=True, exist_ok=True)
    DONE.write_text(f"{size}\n")
    print(f"porchlight: root filesystem {size / 2**30:.1f} GiB", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
