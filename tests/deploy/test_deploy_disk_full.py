"""A disk that fills up during install-router: a clear message, every change
undone, no half-written file, and a later install with room still works.

The small disks are tmpfs mounts under the test's tmp_path (unmounted after,
even on failure); the installer runs in the test's network namespace with
--root on them. The stand-in porchlight wheel (test_deploy_forwarding.py)
keeps the venv builds short.
"""

from __future__ import annotations

import shutil
import subprocess
from contextlib import contextmanager
from pathlib import Path

import pytest
from deploykit import tree
from test_deploy_forwarding import (  # noqa: F401 (a fixture)
    forwarding,
    set_forwarding,
    snapshot,
    standin_wheelhouse,
)

pytestmark = [pytest.mark.root]


@contextmanager
def tmpfs(where: Path, size: str):
    where.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size},mode=0755", "tmpfs", str(where)],
        check=True,
        timeout=30,
    )
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False, timeout=30)


def resize(where: Path, size: str) -> None:
    subprocess.run(["mount", "-o", f"remount,size={size}", str(where)], check=True, timeout=30)


def used_kb(where: Path) -> int:
    return shutil.disk_usage(where).used // 1024


def test_disk_full_while_building_the_venv(netns, target_root, tmp_path, standin_wheelhouse):  # noqa: F811
    with tmpfs(tmp_path / "small", "4m") as disk:
        root = disk / "root"
        shutil.copytree(target_root, root, symlinks=True)
        set_forwarding(netns, "0")
        before = snapshot(netns, root)
        # plain --root (an image being built): no live kernel change either
        args = ["--root", str(root), "--lan", "lan0", "--no-enroll"]
        args += ["--wheelhouse", str(standin_wheelhouse)]

        # room for the preflight's (lowered) minimum, not for a venv with pip in it
        proc = netns.deploy("install-router", *args, "--min-free-mb", "1")
        assert proc.returncode == 1, proc.stdout + proc.stderr
        assert "install-router: the disk is full" in proc.stderr, proc.stderr
        assert "No space left on device" in proc.stderr  # what failed, not a guess
        assert "free some space" in proc.stderr
        assert "every change was undone; the host is as it was" in proc.stderr
        assert "Traceback" not in proc.stderr
        assert snapshot(netns, root) == before

        # the same target with room: the install goes through
        resize(disk, "256m")
        proc = netns.deploy("install-router", *args, "--min-free-mb", "1")
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert (root / "opt/porchlight/current/bin/porchlight").exists()
        assert "[ -- ] IPv4 forwarding: /etc/sysctl.d/60-porchlight.conf sets it at boot" in (
            proc.stdout
        )
        assert (root / "etc/sysctl.d/60-porchlight.conf").is_file()
        assert forwarding(netns) == "0"

        # an upgrade on a disk with only a little room left: named, rolled back
        installed = snapshot(netns, root)
        resize(disk, f"{used_kb(disk) + 1024}k")
        proc = netns.deploy(
            "upgrade-router",
            "--root",
            str(root),
            "--wheelhouse",
            str(standin_wheelhouse),
            "--min-free-mb",
            "1",
        )
        assert proc.returncode == 1, proc.stdout + proc.stderr
        assert "upgrade-router: the disk is full" in proc.stderr, proc.stderr
        assert "rolled back to porchlight 0.1.0" in proc.stderr
        assert snapshot(netns, root) == installed
        resize(disk, "256m")
        proc = netns.deploy("uninstall-router", "--root", str(root))
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert snapshot(netns, root) == before


def test_disk_full_while_writing_a_config_file(netns, target_root, tmp_path, standin_wheelhouse):  # noqa: F811
    """/etc/porchlight on a disk of its own that is full when the installer
    rewrites dnsmasq.conf (a new --dhcp-range): the old file stays whole, no
    temporary file is left, the run's other changes are undone."""
    root = target_root
    etc = root / "etc/porchlight"
    args = ["--root", str(root), "--lan", "lan0", "--no-enroll", "--live-sysctl"]
    args += ["--wheelhouse", str(standin_wheelhouse)]
    with tmpfs(etc, "1m"):
        proc = netns.deploy("install-router", *args)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        old_conf = (etc / "dnsmasq.conf").read_bytes()
        installed = snapshot(netns, root)
        resize(etc, f"{used_kb(etc)}k")  # every page in use

        proc = netns.deploy("install-router", *args, "--dhcp-range", "10.77.0.100,10.77.0.200")
        assert proc.returncode == 1, proc.stdout + proc.stderr
        assert "install-router: the disk is full" in proc.stderr, proc.stderr
        assert "dnsmasq.conf" in proc.stderr  # where it happened
        assert "every change was undone" in proc.stderr
        assert (etc / "dnsmasq.conf").read_bytes() == old_conf
        assert sorted(p.name for p in etc.iterdir()) == ["agent.env", "dnsmasq.conf", "portal.env"]
        assert snapshot(netns, root) == installed
        assert tree(root) == installed["root"]

        resize(etc, "1m")
        proc = netns.deploy("install-router", *args, "--dhcp-range", "10.77.0.100,10.77.0.200")
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert "dhcp-range=lan0,10.77.0.100,10.77.0.200," in (etc / "dnsmasq.conf").read_text()
