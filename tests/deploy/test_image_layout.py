"""deploy/build-image's layout without booting anything or running foreign binaries:
partition tables (GPT for amd64, MBR for the Raspberry Pi's arm64), the FAT
partitions' files, porchlight.txt as Notepad saves it, the root made generic.

The tables and FAT files are made by the real sfdisk, mkfs.vfat and mtools on
small files (no root, no loop devices) and read back the same way."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from deploykit import DEPLOY, REPO, run
from porchlight_deploy import image_build as ib
from porchlight_deploy import image_layout as il
from porchlight_deploy.firstboot import Context, first_boot
from porchlight_deploy.host import SYSTEMCTL_TIMEOUT
from porchlight_deploy.image_root import customize
from porchlight_deploy.porchlight_txt import TEMPLATE, TxtError, parse, rewrite

needs_tools = pytest.mark.skipif(
    not all(shutil.which(t) for t in ("sfdisk", "mkfs.vfat", "mcopy")),
    reason="needs fdisk, dosfstools and mtools (scripts/setup --tests)",
)
IDS = {
    "esp": "11111111-2222-3333-4444-555555555555",
    "config": "21111111-2222-3333-4444-555555555555",
    "root": "31111111-2222-3333-4444-555555555555",
}


def test_amd64_layout_is_gpt_with_esp_config_and_root():
    lay = il.layout("amd64", 900, IDS, "A1111111-2222-3333-4444-555555555555")
    assert lay.label == "gpt"
    assert [p.name for p in lay.partitions] == ["esp", "porchlight", "root"]
    assert lay.partitions[0].type == il.ESP_TYPE and lay.partitions[0].start_mib == 1
    assert lay.config.label == "PORCHLIGHT" and lay.config.type == il.BASIC_DATA_TYPE
    assert lay.root.type == il.ROOT_TYPES["amd64"]
    for before, after in zip(lay.partitions, lay.partitions[1:], strict=False):
        assert before.start_mib + before.size_mib <= after.start_mib  # no overlap
    assert lay.total_mib == 145 + 900 + 1
    cmdline = il.kernel_cmdline(lay)
    assert f"root=PARTUUID={IDS['root'].lower()}" in cmdline and "console=ttyS0" in cmdline
    entry = il.loader_files(lay, "vmlinuz", "initrd.img")["loader/entries/porchlight.conf"]
    assert "linux /vmlinuz\ninitrd /initrd.img\n" in entry


def test_arm64_layout_is_mbr_for_the_pi_with_porchlight_txt_on_the_firmware():
    lay = il.layout("arm64", 900, {}, "c0ffee01")
    assert lay.label == "dos"
    firmware, root = lay.partitions
    assert firmware.type == "c" and firmware.fs == "vfat" and lay.config is firmware
    assert root.type == "83" and root.fs == "ext4"
    assert lay.root_device == "PARTUUID=c0ffee01-02"
    files = il.raspi_files(lay)
    assert "root=PARTUUID=c0ffee01-02" in files["cmdline.txt"]
    assert "arm_64bit=1" in files["config.txt"]
    assert "raspi-firmware" in il.BOOT_PACKAGES["arm64"]
    assert "linux-image-arm64" in il.BOOT_PACKAGES["arm64"]


def test_unknown_architecture_is_refused():
    with pytest.raises(ValueError, match="unknown architecture"):
        il.layout("mips", 100, IDS, "x")


def _table(image: Path) -> dict:
    return json.loads(run(["sfdisk", "--json", str(image)]).stdout)["partitiontable"]


@needs_tools
@pytest.mark.parametrize("arch", ["amd64", "arm64"])
def test_image_assembled_from_partition_files(arch, tmp_path):
    """The table written by sfdisk on a file, each partition dd'd at its offset."""
    disk_id = "A1111111-2222-3333-4444-555555555555" if arch == "amd64" else "c0ffee01"
    lay = il.layout(arch, 8, IDS, disk_id)
    parts = {}
    for index, part in enumerate(lay.partitions):
        path = tmp_path / f"{part.name}.img"
        if part.fs == "vfat":
            files = {il.CONFIG_FILE: b"admin_url = https://a.example\r\n"}
            if part.name != "porchlight" and arch == "amd64":
                files = {"loader/loader.conf": b"timeout 0\n"}
            ib.make_fat(path, part.size_mib, part.label, files)
        else:
            path.write_bytes(bytes([index + 1]) * (part.size_mib * il.MIB))
        parts[part.name] = path
    image = tmp_path / "disk.img"
    ib.assemble(lay, image, parts)
    table = _table(image)
    assert table["label"] == lay.label
    starts = [p["start"] for p in table["partitions"]]
    assert starts == [p.start_mib * 2048 for p in lay.partitions]
    if arch == "amd64":
        assert [p["type"] for p in table["partitions"]] == [p.type for p in lay.partitions]
        assert [p["uuid"] for p in table["partitions"]] == [IDS["esp"], IDS["config"], IDS["root"]]
    else:
        assert [p["type"] for p in table["partitions"]] == ["c", "83"]
        assert table["partitions"][0].get("bootable") is True
    with image.open("rb") as handle:  # the root's bytes where the table says
        handle.seek(lay.root.offset)
        assert handle.read(4) == bytes([len(lay.partitions)]) * 4
    config = f"{image}@@{lay.config.offset}"
    text = run(["mtype", "-i", config, f"::/{il.CONFIG_FILE}"]).stdout
    assert text.startswith("admin_url = https://a.example")
    label = run(["mlabel", "-s", "-i", config]).stdout
    assert "PORCHLIGHT" in label


def test_porchlight_txt_as_notepad_saves_it():
    text = "admin_url = https://admin.example/\r\nCODE = abcd-efgh-jkmn\r\nLan = eth1\r\n"
    for data in (
        b"\xef\xbb\xbf" + text.encode(),  # UTF-8 with BOM
        text.encode("utf-16"),  # "Unicode" (UTF-16 LE with BOM)
        text.replace("\r\n", "\n").encode(),
    ):
        setup = parse(data)
        assert setup.admin_url == "https://admin.example"
        assert setup.code == "abcd-efgh-jkmn" and setup.lan == "eth1" and setup.wan is None
    assert parse(TEMPLATE.format(admin_url="https://a.example").encode()).code is None
    baked = parse(b"", baked_admin_url="https://baked.example")
    assert baked.admin_url == "https://baked.example" and baked.code is None


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"\x00\x01\xfe\xff garbage", "not text"),
        (b"\xef\xbb\xbfadmin_url https://a.example\r\n", "line 1: 'admin_url https://a.example'"),
        (b"admin_url = https://a.example\nwifi password = x\n", "line 2: unknown setting"),
        (b"code = ABCD-EFGH-JKMN\n", "no admin_url"),
        (b"admin_url = http://admin.example\n", "plain http"),
        (b"admin_url = ftp://admin.example\n", "is not a web address"),
        (b"admin_url = https://a.example\nlan = eth0\nwan = eth0\n", "must be different"),
        (b"admin_url = https://a.example\nlan = eth0; rm -rf /\n", "not a network port"),
        (b"admin_url = https://a.example\nlan_address = 10.1.2.3/30\n", "no room for guests"),
        (b"admin_url = https://a.example\nlan_address = banana\n", "not like 10.42.0.1/24"),
    ],
)
def test_porchlight_txt_mistakes_are_named(data, message):
    with pytest.raises(TxtError, match=message.replace("(", r"\(")):
        parse(data)
    assert parse(b"admin_url = http://a.example\nallow_plain_http = yes\n").allow_plain_http


def test_rewrite_keeps_the_installers_lines_and_erases_the_code():
    data = b"\xef\xbb\xbf# mine\r\nadmin_url = https://a.example\r\ncode = ABCD\r\nstatus = old\r\n"
    out = rewrite(data, "enrolled", "gate ready at Lab Café", erase_code=True).decode()
    assert "# mine\r\n" in out and "ABCD" not in out and "code =\r\n" in out
    assert out.count("status = ") == 1 and out.endswith("message = gate ready at Lab Café\r\n")
    kept = rewrite(data, "problem", "wrong\ncode", erase_code=False).decode()
    assert "code = ABCD" in kept and "message = wrong code\r\n" in kept
    garbage = rewrite(b"\x00\xff", "problem", "not text", erase_code=False).decode()
    assert "admin_url =" in garbage and "status = problem" in garbage


def test_first_boot_writes_the_problem_into_porchlight_txt(tmp_path, capsys):
    ctx = Context(root=tmp_path)
    ctx.txt.parent.mkdir(parents=True)
    ctx.txt.write_bytes(b"\xef\xbb\xbfadmin_url = https://a.example\r\nlan eth0\r\n")
    assert first_boot(ctx) == 3
    text = ctx.txt.read_text()
    assert "status = problem" in text and "line 2: 'lan eth0' is not 'name = value'" in text
    assert "porchlight: problem: porchlight.txt line 2" in capsys.readouterr().out


def _ports_answer(argv, timeout=60):
    """`ip` and `networkctl` as a router with three ports answers them: enp1s0 to
    the internet box (its DHCP lease), enp2s0 with no cable, enp3s0 to the access point."""
    carrier = ["BROADCAST", "MULTICAST", "UP", "LOWER_UP"]
    links = [
        {"ifname": "lo", "link_type": "loopback", "flags": ["LOOPBACK", "UP", "LOWER_UP"]},
        {"ifname": "enp1s0", "link_type": "ether", "flags": carrier},
        {"ifname": "enp2s0", "link_type": "ether", "flags": ["NO-CARRIER", *carrier[:3]]},
        {"ifname": "enp3s0", "link_type": "ether", "flags": carrier},
    ]
    out: object = []
    if argv[:3] == ["ip", "-j", "link"]:
        out = links
    elif argv[:4] == ["ip", "-j", "-4", "addr"] and argv[-1] == "enp1s0":
        out = [{"addr_info": [{"family": "inet", "local": "192.0.2.7", "dynamic": True}]}]
    return subprocess.CompletedProcess(argv, 0, json.dumps(out), "")


def test_first_boot_takes_the_port_with_a_cable_as_the_lan(tmp_path, monkeypatch, capsys):
    """Three ports or more: the LAN is the one the access point is plugged into,
    not the first by name (a 4-port x86 router with its AP on the third port)."""
    from porchlight_deploy import firstboot

    monkeypatch.setattr(firstboot, "run", _ports_answer)
    ctx = Context(root=tmp_path, dhcp_wait=5)
    setup = parse(b"admin_url = https://a.example\ncode = ABCD-EFGH-JKMN\n")
    assert firstboot.find_ports(ctx, setup) == ("enp3s0", "enp1s0")
    assert "LAN port: enp3s0 (a cable in it)" in capsys.readouterr().out
    probe = (tmp_path / "etc/systemd/network/90-porchlight-probe.network").exists()
    assert not probe  # the probe's DHCP is gone once the WAN is known
    wan_named = parse(b"admin_url = https://a.example\nwan = enp1s0\n")
    assert firstboot.find_ports(ctx, wan_named) == ("enp3s0", "enp1s0")
    assert firstboot.lan_port(["enp2s0"]) == "enp2s0"  # two ports: the other one


def _fake_root(tmp_path: Path) -> Path:
    root = tmp_path / "root"
    for sub in ("etc/ssh", "var/lib/dbus", "opt/porchlight/installer/systemd", "boot"):
        (root / sub).mkdir(parents=True)
    (root / "etc/machine-id").write_text("166f578ec8b2400f84ede42010bb0c29\n")
    (root / "var/lib/dbus/machine-id").write_text("166f578ec8b2400f84ede42010bb0c29\n")
    (root / "etc/ssh/ssh_host_ed25519_key").write_text("secret")
    (root / "etc/shadow").write_text("root:$y$j9T$hash:1::::::\ndaemon:*:1::::::\nx::1::::::\n")
    for unit in ("porchlight-firstboot.service", il.GROW_UNIT):
        shutil.copy(REPO / "systemd" / unit, root / "opt/porchlight/installer/systemd")
    return root


@pytest.mark.parametrize("key", [None, "ssh-ed25519 AAAAC3Nza test@example"])
def test_root_made_generic(tmp_path, key):
    root = _fake_root(tmp_path)
    lay = il.layout("amd64", 100, IDS, "A1111111-2222-3333-4444-555555555555")
    customize(root, lay, il.image_config("amd64", "https://a.example", "k", "0.1.0"), key)
    assert (root / "etc/machine-id").read_text() == "uninitialized\n"
    assert (root / "var/lib/dbus/machine-id").readlink() == Path("/etc/machine-id")
    assert not list((root / "etc/ssh").glob("ssh_host_*"))
    for line in (root / "etc/shadow").read_text().splitlines():
        assert line.split(":")[1] in ("*",), line  # no hash, no empty password
    preset = (root / "etc/systemd/system-preset/10-porchlight-image.preset").read_text()
    wants = root / "etc/systemd/system/multi-user.target.wants"
    assert (wants / "porchlight-firstboot.service").is_symlink()
    assert "disable porchlight-*" in preset
    slow = root / "etc/systemd/system/porchlight-agent.service.d/image-slow-start.conf"
    assert "TimeoutStartSec=5min" in slow.read_text()
    assert SYSTEMCTL_TIMEOUT > 5 * 60  # install-router outwaits it: systemd says what failed
    if key is None:
        assert "disable ssh.service" in preset and not (wants / "ssh.service").exists()
        assert not (root / "root/.ssh").exists()
    else:
        assert "enable ssh.service" in preset and (wants / "ssh.service").is_symlink()
        assert (root / "root/.ssh/authorized_keys").read_text() == key + "\n"
        assert (
            "PasswordAuthentication no"
            in (root / "etc/ssh/sshd_config.d/porchlight.conf").read_text()
        )
    image = json.loads((root / "etc/porchlight/image.json").read_text())
    assert image == {
        "arch": "amd64",
        "admin_url": "https://a.example",
        "adoption_key": "k",
        "version": "0.1.0",
    }


def _build_image(*args: str) -> subprocess.CompletedProcess[str]:
    env = {"PYTHONPATH": str(DEPLOY), "PATH": "/usr/sbin:/usr/bin:/sbin:/bin"}
    return run([sys.executable, "-m", "porchlight_deploy", "image", *args], check=False, env=env)


def test_dry_run_prints_the_plan(tmp_path):
    proc = _build_image("--arch", "amd64", "--dry-run", "--out", str(tmp_path / "x.img"))
    assert proc.returncode == 0, proc.stderr
    assert "SSH off (no --ssh-key); no passwords" in proc.stdout
    assert "sfdisk + dd" in proc.stdout and "no loop devices" in proc.stdout
    assert not (tmp_path / "x.img").exists()


@pytest.mark.skipif(
    Path("/proc/sys/fs/binfmt_misc/qemu-aarch64").exists(), reason="this machine runs arm64"
)
def test_arm64_without_binfmt_says_so_in_one_line(tmp_path):
    proc = _build_image("--arch", "arm64", "--out", str(tmp_path / "pi.img"))
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and "no binfmt for arm64" in proc.stderr
    assert not (tmp_path / "pi.img").exists()


def test_arm64_dry_run_plans_the_pi_disk_even_where_it_cannot_build(tmp_path):
    proc = _build_image("--arch", "arm64", "--dry-run", "--out", str(tmp_path / "pi.img"))
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "MBR (the Pi's boot ROM, Raspberry Pi Imager) disk, 2 partitions" in out
    assert "partition 1, vfat, 256 MiB at 4 MiB: PORCHLIGHT firmware: raspi-firmware" in out
    assert "config.txt, cmdline.txt" in out and "porchlight.txt" in out
    assert "partition 2, ext4" in out and "porchlight-growroot.service" in out
    if ib.can_run("arm64"):
        assert out.count("note: cannot build --arch arm64 here") == 1
    amd64 = _build_image("--arch", "amd64", "--dry-run", "--out", str(tmp_path / "x.img")).stdout
    assert "GPT disk, 3 partitions" in amd64 and "systemd-repart, x-systemd.growfs" in amd64
    assert "note:" not in amd64
    assert not (tmp_path / "pi.img").exists()


def _boot_files(root: Path, arch: str) -> None:
    """What Debian's kernel, initramfs-tools and raspi-firmware (arm64) or
    systemd-boot-efi (amd64) leave in a root: small stand-ins, never run."""
    (root / f"boot/vmlinuz-6.1.0-28-{arch}").write_bytes(b"kernel")
    (root / f"boot/initrd.img-6.1.0-28-{arch}").write_bytes(b"initrd")
    if arch == "amd64":
        efi = root / "usr/lib/systemd/boot/efi/systemd-bootx64.efi"
        efi.parent.mkdir(parents=True)
        efi.write_bytes(b"MZ systemd-boot")
        return
    firmware = root / "usr/lib/raspi-firmware"
    firmware.mkdir(parents=True)
    for name in ("bootcode.bin", "start4.elf", "fixup4.dat"):
        (firmware / name).write_bytes(name.encode())
    dtbs = root / "usr/lib/linux-image-6.1.0-28-arm64/broadcom"
    dtbs.mkdir(parents=True)
    (dtbs / "bcm2711-rpi-4-b.dtb").write_bytes(b"dtb")


def _ext4_file(image: Path, lay: il.Layout, path: str, folder: Path) -> str:
    """A file of the image's ext4 root, read with debugfs (no mount, no loop device)."""
    part = folder / "root-part.img"
    run(["dd", f"if={image}", f"of={part}", "bs=1M", f"skip={lay.root.start_mib}"]
        + [f"count={lay.root.size_mib}", "status=none"])  # fmt: skip
    return run(["debugfs", "-R", f"cat {path}", str(part)]).stdout


@needs_tools
@pytest.mark.skipif(shutil.which("debugfs") is None, reason="needs e2fsprogs' debugfs")
@pytest.mark.parametrize("arch", ["arm64", "amd64"])
def test_image_written_from_a_root_with_native_tools_only(arch, tmp_path):
    """build-image's last half (customize, write_image) on a root that holds the
    files Debian's packages would: the Pi's image too, on a machine that cannot
    run an arm64 binary. Partition table, FAT files, porchlight.txt, root files."""
    root = _fake_root(tmp_path)
    _boot_files(root, arch)
    lay = ib.new_layout(arch, 16)
    customize(root, lay, il.image_config(arch, None, None, "0.1.0"), None)
    (tmp_path / "work").mkdir()
    image = tmp_path / "disk.img"
    ib.write_image(lay, root, image, tmp_path / "work", "https://admin.example")
    table = _table(image)
    assert table["label"] == lay.label and len(table["partitions"]) == len(lay.partitions)
    fat = f"{image}@@{lay.config.offset}"
    txt = run(["mtype", "-i", fat, f"::/{il.CONFIG_FILE}"]).stdout
    assert "admin_url = https://admin.example\n" in txt and "code =" in txt
    boot = f"{image}@@{lay.partitions[0].offset}"
    listing = run(["mdir", "-/", "-b", "-i", boot, "::/"]).stdout
    fstab = _ext4_file(image, lay, "/etc/fstab", tmp_path)
    assert f"{lay.root_device}  /  ext4" in fstab
    repart = _ext4_file(image, lay, f"/{il.REPART_FILE}", tmp_path)
    grow_unit = _ext4_file(image, lay, f"/etc/systemd/system/{il.GROW_UNIT}", tmp_path)
    if arch == "arm64":
        assert table["partitions"][0]["type"] == "c" and table["partitions"][1]["type"] == "83"
        for name in ("bootcode.bin", "start4.elf", "fixup4.dat", "bcm2711-rpi-4-b.dtb"):
            assert f"::/{name}" in listing, listing
        for name in ("config.txt", "cmdline.txt", "vmlinuz", "initrd.img", il.CONFIG_FILE):
            assert f"::/{name}" in listing, listing
        cmdline = run(["mtype", "-i", boot, "::/cmdline.txt"]).stdout
        assert f"root=PARTUUID={lay.disk_id}-02 " in cmdline
        assert "kernel=vmlinuz" in run(["mtype", "-i", boot, "::/config.txt"]).stdout
        assert "x-systemd.growfs" not in fstab and not repart  # MBR: not systemd-repart's
        assert "python3 -m porchlight_deploy growroot" in grow_unit
    else:
        assert "::/EFI/BOOT/BOOTX64.EFI" in listing and "::/loader/loader.conf" in listing
        assert il.CONFIG_FILE not in listing  # on its own PORCHLIGHT partition
        assert "defaults,noatime,x-systemd.growfs" in fstab
        assert "[Partition]\nType=root-x86-64\n" in repart and not grow_unit


def test_adoption_key_file_as_the_admin_prints_it(tmp_path):
    key = "pla_" + "Ab-_9" * 7
    printed = {
        "bare": f"{key}\n",
        "text": f"adoption key for demo (shown once): {key}\nsave it to a file and build ...\n",
        "json": f'{{"tenant": "demo", "adoption_key": "{key}"}}\n',
    }
    for name, text in printed.items():
        (tmp_path / name).write_text(text)
        assert ib.read_adoption_key(tmp_path / name) == key, name
    (tmp_path / "empty").write_text("\n")
    with pytest.raises(ib.BuildError, match="holds no adoption key"):
        ib.read_adoption_key(tmp_path / "empty")
    (tmp_path / "two").write_text(f"{key}\npla_{'x' * 32}\n")
    with pytest.raises(ib.BuildError, match="more than one adoption key"):
        ib.read_adoption_key(tmp_path / "two")
