"""The image's root made generic and bootable: no identity, no passwords, SSH off
unless a key was given, systemd-networkd and porchlight-firstboot enabled; and
the files of its FAT partitions (boot loader, kernel, initrd)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from . import image_layout as il

FIRSTBOOT_UNIT = "porchlight-firstboot.service"
WANTS = "etc/systemd/system/multi-user.target.wants"
SSH_DROPIN = """\
# deploy/build-image: host keys are made at first boot, never baked into the image
[Service]
ExecStartPre=
ExecStartPre=/usr/bin/ssh-keygen -A
ExecStartPre=/usr/sbin/sshd -t
"""
# systemd applies presets at first boot (machine-id "uninitialized"); Debian's
# say "enable *". These come first: no SSH without a key, and porchlight's
# units stay off until first boot's install-router has configured them.
PRESET = """\
enable porchlight-firstboot.service
enable porchlight-growroot.service
disable porchlight-*
enable systemd-networkd.service
enable systemd-networkd.socket
disable systemd-networkd-wait-online.service
"""
SSHD_CONFIG = """\
# deploy/build-image: key login only
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
"""


def _link(root: Path, link: str, target: str) -> None:
    path = root / link
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.is_symlink() or path.exists():
        path.unlink()
    path.symlink_to(target)


def forget_identity(root: Path) -> None:
    """machine-id and SSH host keys are made at the image's first boot."""
    (root / "etc/machine-id").write_text("uninitialized\n")  # systemd: ConditionFirstBoot
    dbus_id = root / "var/lib/dbus/machine-id"
    if dbus_id.exists() or dbus_id.is_symlink():
        dbus_id.unlink()
        dbus_id.symlink_to("/etc/machine-id")
    for key in (root / "etc/ssh").glob("ssh_host_*"):
        key.unlink()
    for stale in ("var/lib/systemd/random-seed", "var/lib/systemd/credential.secret"):
        (root / stale).unlink(missing_ok=True)


def lock_passwords(root: Path) -> None:
    """Every account locked: nobody logs in with a password."""
    shadow = root / "etc/shadow"
    lines = []
    for line in shadow.read_text().splitlines():
        fields = line.split(":")
        if len(fields) > 1 and not fields[1].startswith(("*", "!")):
            fields[1] = "*"
        lines.append(":".join(fields))
    shadow.write_text("\n".join(lines) + "\n")
    os.chmod(shadow, 0o640)


def ssh(root: Path, key: str | None) -> None:
    _write(root / "etc/systemd/system/ssh.service.d/porchlight-host-keys.conf", SSH_DROPIN)
    for unit in ("ssh.service", "ssh.socket"):
        (root / WANTS / unit).unlink(missing_ok=True)
        (root / "etc/systemd/system/sockets.target.wants" / unit).unlink(missing_ok=True)
    (root / "etc/systemd/system/sshd.service").unlink(missing_ok=True)
    ssh_preset = "enable ssh.service\n" if key else "disable ssh.service\ndisable ssh.socket\n"
    _write(root / "etc/systemd/system-preset/10-porchlight-image.preset", ssh_preset + PRESET)
    if key is None:
        return
    _write(root / "etc/ssh/sshd_config.d/porchlight.conf", SSHD_CONFIG)
    _write(root / "root/.ssh/authorized_keys", key.strip() + "\n", 0o600)
    os.chmod(root / "root/.ssh", 0o700)
    _link(root, f"{WANTS}/ssh.service", "/lib/systemd/system/ssh.service")


def _write(path: Path, text: str, mode: int = 0o644) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    os.chmod(path, mode)


SLOW_START = """\
# deploy/build-image: a first start on a slow SD card or a small CPU may take
# longer than systemd's 90 s default (the watchdog still applies once it runs)
[Service]
TimeoutStartSec=5min
"""


def services(root: Path) -> None:
    """systemd-networkd and resolved for the ports first boot configures; no
    wait-online (first boot writes the network files and waits itself)."""
    _link(root, f"{WANTS}/systemd-networkd.service", "/lib/systemd/system/systemd-networkd.service")
    _link(
        root,
        "etc/systemd/system/sockets.target.wants/systemd-networkd.socket",
        "/lib/systemd/system/systemd-networkd.socket",
    )
    _link(root, "etc/systemd/system/systemd-networkd-wait-online.service", "/dev/null")
    _link(root, "etc/resolv.conf", "../run/systemd/resolve/stub-resolv.conf")
    unit = root / "opt/porchlight/installer/systemd" / FIRSTBOOT_UNIT
    shutil.copy2(unit, root / "etc/systemd/system" / FIRSTBOOT_UNIT)
    _link(root, f"{WANTS}/{FIRSTBOOT_UNIT}", f"/etc/systemd/system/{FIRSTBOOT_UNIT}")
    (root / il.CONFIG_MOUNT.lstrip("/")).mkdir(parents=True, exist_ok=True)
    for name in ("porchlight-agent.service", "porchlight-portal.service"):
        _write(root / f"etc/systemd/system/{name}.d/image-slow-start.conf", SLOW_START)


def grow_root(root: Path, lay: il.Layout) -> None:
    """The root fills the card or disk at first boot (il.grow_files: GPT by
    systemd-repart, the Pi's MBR by porchlight-growroot.service)."""
    for name, text in il.grow_files(lay).items():
        _write(root / name, text)
    if lay.label == "gpt":
        return
    unit = root / "opt/porchlight/installer/systemd" / il.GROW_UNIT
    shutil.copy2(unit, root / "etc/systemd/system" / il.GROW_UNIT)
    _link(root, f"{WANTS}/{il.GROW_UNIT}", f"/etc/systemd/system/{il.GROW_UNIT}")


def customize(root: Path, lay: il.Layout, image_json: str, ssh_key: str | None) -> None:
    forget_identity(root)
    lock_passwords(root)
    ssh(root, ssh_key)
    services(root)
    grow_root(root, lay)
    _write(root / "etc/hostname", "porchlight\n")
    _write(root / "etc/hosts", "127.0.0.1 localhost\n127.0.1.1 porchlight\n::1 localhost\n")
    _write(root / "etc/fstab", il.fstab(lay))
    _write(root / il.IMAGE_CONFIG.lstrip("/"), image_json)
    (root / ".porchlight-nspawn-root").unlink(missing_ok=True)
    for deb in (root / "var/cache/apt/archives").glob("*.deb"):
        deb.unlink()


def _newest(root: Path, pattern: str) -> Path:
    found = sorted((root / "boot").glob(pattern))
    if not found:
        raise FileNotFoundError(f"no /boot/{pattern} in the image's root")
    return found[-1]


Files = dict[str, Path | bytes]


def partition_files(root: Path, lay: il.Layout) -> tuple[Files, Files]:
    """(boot partition files, PORCHLIGHT partition files) as FAT path -> source."""
    kernel, initrd = _newest(root, "vmlinuz-*"), _newest(root, "initrd.img-*")
    boot: Files = {"vmlinuz": kernel, "initrd.img": initrd}
    if lay.arch == "amd64":
        efi = root / "usr/lib/systemd/boot/efi/systemd-bootx64.efi"
        boot["EFI/BOOT/BOOTX64.EFI"] = efi
        boot["EFI/systemd/systemd-bootx64.efi"] = efi
        for name, text in il.loader_files(lay, "vmlinuz", "initrd.img").items():
            boot[name] = text.encode()
        return boot, {}
    firmware = root / "usr/lib/raspi-firmware"
    for item in sorted(firmware.glob("*")):
        if item.is_file():
            boot[item.name] = item
    for dtb in sorted((root / "usr/lib").glob("linux-image-*/broadcom/bcm27*-rpi-*.dtb")):
        boot[dtb.name] = dtb
    for name, text in il.raspi_files(lay).items():
        boot[name] = text.encode()
    return boot, {}
