"""What deploy/build-image lays out, as data: partitions, boot files, first-boot config.

Pure functions (no commands run), so the layout of both architectures is
covered by unit tests on any machine, even one that cannot run arm64 binaries.

amd64 (UEFI mini PCs, x86 routers): a GPT disk with an EFI system partition
(systemd-boot, the kernel and its initrd), a small FAT partition labelled
PORCHLIGHT that holds ``porchlight.txt`` (Windows and macOS show it as a
drive) and the ext4 root. arm64 (Raspberry Pi 4; bookworm's kernel does not
support the Pi 5): an MBR disk, as the Pi's boot ROM and Raspberry Pi Imager
expect, whose FAT firmware partition holds ``porchlight.txt`` beside
config.txt and cmdline.txt, and the ext4 root.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

MIB = 1024 * 1024
SECTOR = 512
ESP_TYPE = "C12A7328-F81F-11D2-BA4B-00A0C93EC93B"
BASIC_DATA_TYPE = "EBD0A0A2-B9E5-4433-87C0-68B6B72699C7"  # Windows gives it a drive letter
ROOT_TYPES = {  # the Discoverable Partitions Specification's root types
    "amd64": "4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709",
    "arm64": "B921B045-1DF0-41C3-AF44-4C6F280D3FAE",
}
ARCHES = tuple(ROOT_TYPES)
CONFIG_LABEL = "PORCHLIGHT"
CONFIG_MOUNT = "/boot/porchlight"
CONFIG_FILE = "porchlight.txt"
IMAGE_CONFIG = "/etc/porchlight/image.json"  # what build-image baked in
ROOT_LABEL = "porchlight-root"
# packages the bootable root has on top of scripts/nspawn-root's list
BOOT_PACKAGES = {
    "amd64": ("linux-image-amd64", "initramfs-tools", "systemd-boot-efi"),
    # fdisk: sfdisk, with which porchlight-growroot grows the Pi's MBR root partition
    "arm64": ("linux-image-arm64", "initramfs-tools", "raspi-firmware", "fdisk"),
}
COMMON_PACKAGES = (
    "systemd-resolved",  # DNS from the WAN's DHCP lease into /etc/resolv.conf
    "systemd-timesyncd",  # a clock good enough for TLS to the admin
    "udev",
    "kmod",
    "ca-certificates",
    "openssh-server",  # installed, enabled only when build-image got --ssh-key
)


@dataclass(frozen=True)
class Partition:
    name: str  # GPT partition name / what it is
    start_mib: int
    size_mib: int
    type: str  # GPT type GUID, or an MBR type byte in hex
    fs: str  # "vfat" or "ext4"
    label: str
    uuid: str = ""  # GPT PARTUUID (MBR: empty, derived from the disk id)

    @property
    def offset(self) -> int:
        return self.start_mib * MIB

    @property
    def size(self) -> int:
        return self.size_mib * MIB


@dataclass(frozen=True)
class Layout:
    arch: str
    label: str  # "gpt" or "dos"
    partitions: tuple[Partition, ...]
    disk_id: str

    @property
    def total_mib(self) -> int:
        last = self.partitions[-1]
        return last.start_mib + last.size_mib + 1  # 1 MiB for the backup GPT

    @property
    def root(self) -> Partition:
        return self.partitions[-1]

    @property
    def config(self) -> Partition:
        """The FAT partition that holds porchlight.txt."""
        return next(p for p in self.partitions if p.fs == "vfat" and p.label == CONFIG_LABEL)

    @property
    def root_device(self) -> str:
        """How the kernel command line names the root partition."""
        if self.label == "gpt":
            return f"PARTUUID={self.root.uuid.lower()}"
        return f"PARTUUID={self.disk_id.lower()}-{len(self.partitions):02d}"


def layout(arch: str, root_mib: int, uuids: dict[str, str], disk_id: str) -> Layout:
    """The partitions of an image whose root filesystem is `root_mib` MiB.

    `uuids` names each partition's GPT PARTUUID (esp, config, root); `disk_id`
    is the GPT disk GUID or, for arm64's MBR, 8 hex digits."""
    if arch not in ARCHES:
        raise ValueError(f"unknown architecture {arch!r} (one of {', '.join(ARCHES)})")
    parts: tuple[Partition, ...]
    if arch == "arm64":
        parts = (
            Partition("firmware", 4, 256, "c", "vfat", CONFIG_LABEL),
            Partition("root", 260, root_mib, "83", "ext4", ROOT_LABEL),
        )
        return Layout(arch, "dos", parts, disk_id)
    parts = (
        Partition("esp", 1, 128, ESP_TYPE, "vfat", "ESP", uuids["esp"]),
        Partition("porchlight", 129, 16, BASIC_DATA_TYPE, "vfat", CONFIG_LABEL, uuids["config"]),
        Partition("root", 145, root_mib, ROOT_TYPES[arch], "ext4", ROOT_LABEL, uuids["root"]),
    )
    return Layout(arch, "gpt", parts, disk_id)


def sfdisk_script(lay: Layout) -> str:
    """The `sfdisk IMAGE < script` input that writes the partition table."""
    lines = [f"label: {lay.label}", "unit: sectors"]
    if lay.label == "gpt":
        lines.append(f"label-id: {lay.disk_id}")
    else:
        lines.append(f"label-id: 0x{lay.disk_id}")
    lines.append("")
    per_mib = MIB // SECTOR
    for part in lay.partitions:
        fields = [
            f"start={part.start_mib * per_mib}",
            f"size={part.size_mib * per_mib}",
            f"type={part.type}",
        ]
        if lay.label == "gpt":
            fields += [f"uuid={part.uuid}", f'name="{part.name}"']
        elif part.fs == "vfat":
            fields.append("bootable")
        lines.append(", ".join(fields))
    return "\n".join(lines) + "\n"


def kernel_cmdline(lay: Layout) -> str:
    consoles = "console=tty0 console=ttyS0,115200" if lay.arch == "amd64" else "console=tty1"
    return f"root={lay.root_device} rw rootfstype=ext4 rootwait {consoles} quiet"


def loader_files(lay: Layout, kernel: str, initrd: str) -> dict[str, str]:
    """systemd-boot's configuration on the ESP (amd64), path -> text."""
    return {
        "loader/loader.conf": "default porchlight.conf\ntimeout 0\neditor no\n",
        "loader/entries/porchlight.conf": (
            f"title Porchlight\nlinux /{kernel}\ninitrd /{initrd}\noptions {kernel_cmdline(lay)}\n"
        ),
    }


def raspi_files(lay: Layout) -> dict[str, str]:
    """The Pi firmware partition's own config (arm64), path -> text."""
    return {
        "cmdline.txt": kernel_cmdline(lay) + "\n",
        "config.txt": (
            "# Porchlight on a Raspberry Pi 4 (written by deploy/build-image)\n"
            "arm_64bit=1\nenable_uart=1\nkernel=vmlinuz\ninitramfs initrd.img followkernel\n"
        ),
    }


def image_config(arch: str, admin_url: str | None, adoption_key: str | None, version: str) -> str:
    """/etc/porchlight/image.json: what first boot knows before porchlight.txt is read."""
    data = {
        "arch": arch,
        "admin_url": admin_url,
        "adoption_key": adoption_key,
        "version": version,
    }
    return json.dumps(data, indent=1) + "\n"


REPART_TYPES = {"amd64": "root-x86-64", "arm64": "root-arm64"}  # systemd-repart's names
REPART_FILE = "etc/repart.d/50-porchlight-root.conf"
GROW_UNIT = "porchlight-growroot.service"


def grow_files(lay: Layout) -> dict[str, str]:
    """How the root fills the disk it was written to, at first boot (root path -> text).

    GPT (amd64): systemd-repart grows the root partition into the free space
    after it (the ESP and PORCHLIGHT partitions match no definition: left as
    they are) and moves the backup GPT to the disk's end; x-systemd.growfs in
    fstab (see `fstab`) has systemd-growfs grow ext4 online after it. MBR (the
    Pi): systemd-repart reads GPT only, so porchlight-growroot.service does it
    with sfdisk, partx and resize2fs (growroot.py); no file here."""
    if lay.label != "gpt":
        return {}
    return {
        REPART_FILE: (
            "# deploy/build-image: at first boot the root partition grows to the\n"
            "# end of the disk it was written to (the other partitions stay)\n"
            f"[Partition]\nType={REPART_TYPES[lay.arch]}\n"
        )
    }


def fstab(lay: Layout) -> str:
    grow = ",x-systemd.growfs" if lay.label == "gpt" else ""  # the Pi: porchlight-growroot
    return (
        "# written by deploy/build-image; the PORCHLIGHT partition is mounted by\n"
        "# porchlight-firstboot when it needs porchlight.txt\n"
        f"{lay.root_device}  /  ext4  defaults,noatime{grow}  0  1\n"
    )
