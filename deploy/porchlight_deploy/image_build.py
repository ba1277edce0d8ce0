"""deploy/build-image: a bootable disk image of a Porchlight router, without loop devices.

1. the Debian root (scripts/nspawn-root with the kernel and boot loader added,
   cached in /var/cache/porchlight) copied to a staging directory;
2. porchlight installed into it by install-router itself (`install
   --stage-only`, run inside the root with systemd-nspawn): venv, user, units;
   first boot runs install-router again with the ports it finds;
3. identity removed (machine-id, SSH host keys: made at first boot), SSH off
   unless --ssh-key, porchlight-firstboot.service enabled;
4. `mkfs.ext4 -d` for the root, `mkfs.vfat` + mtools for the FAT partitions,
   `sfdisk` on the image file, each partition copied in with dd at its offset.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from . import image_layout as il
from .image_root import customize, partition_files
from .porchlight_txt import TEMPLATE
from .venv import SOURCE_TREE, Source

CACHE = Path("/var/cache/porchlight")
MACHINES = {"amd64": ("x86_64",), "arm64": ("aarch64", "arm64")}
BINFMT = {"amd64": "qemu-x86_64", "arm64": "qemu-aarch64"}
TOOLS = ("debootstrap", "systemd-nspawn", "mkfs.ext4", "mkfs.vfat", "mcopy", "sfdisk", "dd")


class BuildError(Exception):
    pass


@dataclass
class ImageOptions:
    arch: str
    out: Path
    admin_url: str | None = None
    adoption_key: str | None = None
    ssh_key: str | None = None
    wheelhouse: Path | None = None
    keep_root: Path | None = None
    dry_run: bool = False
    base_only: bool = False

    @property
    def base(self) -> Path:
        return CACHE / f"image-bookworm-{self.arch}"


def can_run(arch: str) -> str | None:
    """None when this machine runs `arch` binaries, else why not (one line)."""
    if platform.machine() in MACHINES[arch]:
        return None
    if Path(f"/proc/sys/fs/binfmt_misc/{BINFMT[arch]}").is_file():
        return None
    return (
        f"cannot build --arch {arch} here: this {platform.machine()} machine has no binfmt "
        f"for {arch} binaries (apt-get install qemu-user-static binfmt-support, or build on {arch})"
    )


def plan(opts: ImageOptions) -> list[str]:
    key = "yes" if opts.adoption_key else "no"
    return [
        f"Debian 12 root for {opts.arch} in {opts.base} (scripts/nspawn-root; cached)",
        "copy it to a staging directory" + (f" kept as {opts.keep_root}" if opts.keep_root else ""),
        "install-router --stage-only inside it (venv, porchlight user, unit files)",
        f"first boot: porchlight-firstboot.service; admin {opts.admin_url or 'from porchlight.txt'}"
        f", adoption key {key}",
        "SSH "
        + ("on, key login only" if opts.ssh_key else "off (no --ssh-key)")
        + "; no passwords",
        "machine-id, SSH host keys, device token: made at first boot",
        *layout_plan(opts.arch),
        "mkfs.ext4 -d (root), mkfs.vfat + mcopy (FAT partitions): native tools, any --arch",
        f"sfdisk + dd into {opts.out} (no loop devices)",
    ]


def layout_plan(arch: str) -> list[str]:
    """The disk's partitions and how the root grows, as the plan names them."""
    lay = new_layout(arch, 0)
    table = "GPT" if lay.label == "gpt" else "MBR (the Pi's boot ROM, Raspberry Pi Imager)"
    lines = [f"{table} disk, {len(lay.partitions)} partitions"]
    for number, part in enumerate(lay.partitions, 1):
        what = {
            "esp": "EFI system partition: systemd-boot, vmlinuz, initrd.img",
            "porchlight": f"{il.CONFIG_LABEL}: {il.CONFIG_FILE}",
            "firmware": f"{il.CONFIG_LABEL} firmware: raspi-firmware, config.txt, cmdline.txt, "
            f"vmlinuz, initrd.img, {il.CONFIG_FILE}",
            "root": f"ext4 root '{part.label}'",
        }[part.name]
        size = f"{part.size_mib} MiB" if part.size_mib else "the staged root + 20% + 256 MiB"
        lines.append(f"partition {number}, {part.fs}, {size} at {part.start_mib} MiB: {what}")
    if lay.label == "gpt":
        lines.append("first boot: the root grows to the disk (systemd-repart, x-systemd.growfs)")
    else:
        lines.append(f"first boot: the root grows to the card ({il.GROW_UNIT}: sfdisk, resize2fs)")
    return lines


def sh(argv: Sequence[str], timeout: float = 1800, **kw: object) -> str:
    proc = subprocess.run(
        list(argv), capture_output=True, text=True, timeout=timeout, check=False, **kw
    )  # type: ignore[call-overload]
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout or "no output").strip().splitlines()[-5:]
        raise BuildError(f"'{' '.join(argv[:3])}' failed: " + " / ".join(tail))
    return str(proc.stdout)


def base_root(opts: ImageOptions) -> Path:
    extra = ",".join((*il.BOOT_PACKAGES[opts.arch], *il.COMMON_PACKAGES))
    env = dict(os.environ, PORCHLIGHT_NSPAWN_EXTRA=extra)
    if opts.arch != "amd64":
        env["PORCHLIGHT_DEBOOTSTRAP_ARCH"] = opts.arch
    sh([str(SOURCE_TREE / "scripts/nspawn-root"), str(opts.base)], env=env)
    return opts.base


def wheelhouse(opts: ImageOptions, work: Path) -> Path:
    if opts.wheelhouse is not None:
        return opts.wheelhouse
    dest = work / "wheels"
    venv_python = SOURCE_TREE / ".venv/bin/python"
    python = str(venv_python) if venv_python.exists() else sys.executable
    sh([python, "-m", "pip", "wheel", "-q", "--disable-pip-version-check"]
       + ["--wheel-dir", str(dest), f"{SOURCE_TREE}[router]"])  # fmt: skip
    return dest


def copy_installer(root: Path) -> None:
    """deploy/ and systemd/ into /opt/porchlight/installer: install-router at first boot."""
    dest = root / "opt/porchlight/installer"
    if dest.exists():
        shutil.rmtree(dest)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    shutil.copytree(SOURCE_TREE / "deploy", dest / "deploy", ignore=ignore, symlinks=True)
    shutil.copytree(SOURCE_TREE / "systemd", dest / "systemd", ignore=ignore)
    shutil.copy2(SOURCE_TREE / "pyproject.toml", dest / "pyproject.toml")


def stage(root: Path, wheels: Path) -> None:
    """install-router --stage-only run inside the root (its own Python and paths)."""
    sh(
        ["systemd-nspawn", "-q", "-D", str(root), "--register=no", "--keep-unit"]
        + [f"--machine=porchlight-image-{os.getpid()}", "--private-network"]
        + [f"--bind-ro={wheels.resolve()}:/mnt/wheels", "--setenv=PYTHONDONTWRITEBYTECODE=1"]
        + ["--setenv=PYTHONPATH=/opt/porchlight/installer/deploy", "--chdir=/"]
        + ["/usr/bin/python3", "-m", "porchlight_deploy", "install", "--stage-only"]
        + ["--wheelhouse", "/mnt/wheels"]
    )


def root_size_mib(root: Path) -> int:
    used = int(sh(["du", "-s", "--block-size=1M", str(root)]).split()[0])
    return int(used * 1.2) + 256  # room for ext4's metadata, logs and an upgrade's venv


def make_fat(path: Path, size_mib: int, label: str, files: dict[str, Path | bytes]) -> None:
    path.unlink(missing_ok=True)
    fat = ["-F", "32"] if size_mib >= 64 else []
    sh(["mkfs.vfat", *fat, "-n", label, "-C", str(path), str(size_mib * 1024)])
    made: set[str] = set()
    for name in sorted(files):
        parts = name.split("/")[:-1]
        for depth in range(1, len(parts) + 1):
            folder = "/".join(parts[:depth])
            if folder not in made:
                sh(["mmd", "-i", str(path), f"::/{folder}"])
                made.add(folder)
        source = files[name]
        if isinstance(source, bytes):
            tmp = path.with_name(path.name + ".file")
            tmp.write_bytes(source)
            source = tmp
        sh(["mcopy", "-o", "-i", str(path), str(source), f"::/{name}"])
    path.with_name(path.name + ".file").unlink(missing_ok=True)


def assemble(lay: il.Layout, out: Path, parts: dict[str, Path]) -> None:
    out.unlink(missing_ok=True)
    with out.open("wb") as handle:
        handle.truncate(lay.total_mib * il.MIB)
    sh(["sfdisk", "-q", "--no-reread", "--no-tell-kernel", str(out)], input=il.sfdisk_script(lay))
    for part in lay.partitions:
        sh(["dd", f"if={parts[part.name]}", f"of={out}", "bs=1M", f"seek={part.start_mib}"]
           + ["conv=notrunc,sparse", "status=none"])  # fmt: skip


def porchlight_txt(admin_url: str | None) -> bytes:
    """porchlight.txt as the image ships it: the template, CRLF for Notepad."""
    return TEMPLATE.format(admin_url=admin_url or "").replace("\n", "\r\n").encode()


def write_image(lay: il.Layout, root: Path, out: Path, work: Path, admin_url: str | None) -> None:
    """The partitions made from the finished root (mkfs.ext4 -d, mkfs.vfat + mtools)
    and assembled into `out`. Native tools only, whatever the image's architecture."""
    boot_files, config_files = partition_files(root, lay)
    config_files[il.CONFIG_FILE] = porchlight_txt(admin_url)
    parts: dict[str, Path] = {}
    for part in lay.partitions:
        target = work / f"{part.name}.img"
        if part.fs == "ext4":
            target.unlink(missing_ok=True)
            sh(["mkfs.ext4", "-q", "-F", "-L", part.label, "-d", str(root), "-E",
                "root_owner=0:0", str(target), f"{part.size_mib}M"])  # fmt: skip
        elif part.label == il.CONFIG_LABEL and part.name == "porchlight":
            make_fat(target, part.size_mib, part.label, dict(config_files))
        else:  # the ESP, or the Pi's firmware partition (which holds porchlight.txt too)
            files = dict(boot_files)
            if part.label == il.CONFIG_LABEL:
                files.update(config_files)
            make_fat(target, part.size_mib, part.label, files)
        parts[part.name] = target
    assemble(lay, out, parts)


def new_layout(arch: str, root_mib: int) -> il.Layout:
    ids = {name: str(uuid.uuid4()).upper() for name in ("esp", "config", "root")}
    disk_id = str(uuid.uuid4()).upper() if arch == "amd64" else uuid.uuid4().hex[:8]
    return il.layout(arch, root_mib, ids, disk_id)


def build(opts: ImageOptions) -> Path:
    missing = [tool for tool in TOOLS if shutil.which(tool) is None]
    if missing:
        raise BuildError(
            f"missing tools: {', '.join(missing)} "
            "(apt-get install debootstrap systemd-container e2fsprogs dosfstools mtools fdisk)"
        )
    base = base_root(opts)
    work = opts.out.parent / f".{opts.out.name}.work"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    root = opts.keep_root or work / "root"
    try:
        if root.exists():
            shutil.rmtree(root)
        sh(["cp", "-a", "--reflink=auto", str(base), str(root)])
        copy_installer(root)
        stage(root, wheelhouse(opts, work))
        lay = new_layout(opts.arch, root_size_mib(root))
        image_json = il.image_config(opts.arch, opts.admin_url, opts.adoption_key, Source().version)
        customize(root, lay, image_json, opts.ssh_key)
        write_image(lay, root, opts.out, work, opts.admin_url)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return opts.out


# the admin's adoption keys (porchlight.admin.sync.adoption.KEY_PREFIX + token_urlsafe)
ADOPTION_KEY = re.compile(r"(?<![\w-])pla_[\w-]{16,}")


def read_adoption_key(path: Path) -> str:
    """The key in FILE: the key alone, or what `porchlight admin adoption-key`
    printed into it (its sentence, or its --json)."""
    found = set(ADOPTION_KEY.findall(path.read_text(errors="replace")))
    if len(found) != 1:
        raise BuildError(
            f"{path} holds {'no' if not found else 'more than one'} adoption key (pla_...); "
            "make one on the admin: porchlight admin adoption-key --tenant SLUG > FILE"
        )
    return found.pop()


def parse_args(argv: Sequence[str]) -> ImageOptions:
    parser = argparse.ArgumentParser(prog="build-image", description="a bootable router image")
    parser.add_argument("--arch", required=True, choices=il.ARCHES)
    parser.add_argument("--out", type=Path, metavar="FILE", help="the raw image")
    parser.add_argument("--admin-url", metavar="URL", help="the admin the router announces to")
    parser.add_argument("--adoption-key", type=Path, metavar="FILE", help="the admin's key")
    parser.add_argument("--ssh-key", type=Path, metavar="FILE", help="root's SSH public key")
    parser.add_argument("--wheelhouse", type=Path, metavar="DIR", help="porchlight[router] wheels")
    parser.add_argument("--keep-root", type=Path, metavar="DIR", help="keep the root directory")
    parser.add_argument("--dry-run", action="store_true", help="print the plan")
    parser.add_argument(
        "--base-only", action="store_true", help="only build (or check) the cached Debian root"
    )
    args = parser.parse_args(argv)
    if args.out is None and not args.base_only:
        parser.error("--out FILE is required")
    key = ssh = None
    try:
        if args.adoption_key:
            key = read_adoption_key(args.adoption_key)
        if args.ssh_key:
            ssh = args.ssh_key.read_text().strip()
    except OSError as exc:
        raise BuildError(f"cannot read {exc.filename}: {exc.strerror}") from exc
    if ssh is not None and not ssh.startswith(("ssh-", "ecdsa-", "sk-")):
        raise BuildError(f"{args.ssh_key} is not an SSH public key (ssh-ed25519 AAAA...)")
    if args.admin_url and not args.admin_url.startswith(("https://", "http://")):
        raise BuildError(f"--admin-url {args.admin_url} is not an http(s) URL")
    return ImageOptions(
        arch=args.arch,
        out=(args.out or Path("porchlight.img")).resolve(),
        admin_url=args.admin_url.rstrip("/") if args.admin_url else None,
        adoption_key=key,
        ssh_key=ssh,
        wheelhouse=args.wheelhouse,
        keep_root=args.keep_root.resolve() if args.keep_root else None,
        dry_run=args.dry_run,
        base_only=args.base_only,
    )


def main(argv: Sequence[str]) -> int:
    try:
        opts = parse_args(argv)
        why = can_run(opts.arch)
        if opts.dry_run:
            print(f"build-image --arch {opts.arch}: the plan")
            for step in plan(opts):
                print(f"  - {step}")
            if why:
                print(f"note: {why}")
            return 0
        if why:
            print(f"build-image: {why}", file=sys.stderr)
            return 2
        if os.geteuid() != 0:
            print("build-image: run as root (debootstrap, systemd-nspawn)", file=sys.stderr)
            return 1
        start = time.monotonic()
        if opts.base_only:
            print(f"build-image: Debian root ready in {base_root(opts)}")
            return 0
        out = build(opts)
    except BuildError as exc:
        print(f"build-image: {exc}", file=sys.stderr)
        return 1
    size = out.stat().st_size // il.MIB
    print(f"build-image: {out} ({size} MiB) in {time.monotonic() - start:.0f} s")
    print(f"  write it with: dd if={out} of=/dev/sdX bs=4M conv=fsync (or balenaEtcher)")
    return 0
