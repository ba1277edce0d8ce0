"""Which systems install-router accepts, from the /etc/os-release texts those
releases ship (copied from the releases), and the Python it needs."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from deploykit import DEPLOY
from porchlight_deploy.distro import check_python, classify, detect, parse_os_release
from porchlight_deploy.host import DeployError, Host

DEBIAN_12 = """PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"
NAME="Debian GNU/Linux"
VERSION_ID="12"
VERSION="12 (bookworm)"
VERSION_CODENAME=bookworm
ID=debian
HOME_URL="https://www.debian.org/"
SUPPORT_URL="https://www.debian.org/support"
BUG_REPORT_URL="https://bugs.debian.org/"
"""
DEBIAN_13 = """PRETTY_NAME="Debian GNU/Linux 13 (trixie)"
NAME="Debian GNU/Linux"
VERSION_ID="13"
VERSION="13 (trixie)"
VERSION_CODENAME=trixie
DEBIAN_VERSION_FULL=13.1
ID=debian
HOME_URL="https://www.debian.org/"
SUPPORT_URL="https://www.debian.org/support"
BUG_REPORT_URL="https://bugs.debian.org/"
"""
DEBIAN_11 = DEBIAN_12.replace("12 (bookworm)", "11 (bullseye)").replace('"12"', '"11"')
DEBIAN_SID = """PRETTY_NAME="Debian GNU/Linux forky/sid"
NAME="Debian GNU/Linux"
VERSION_CODENAME=forky
ID=debian
HOME_URL="https://www.debian.org/"
"""
UBUNTU_2204 = """PRETTY_NAME="Ubuntu 22.04.4 LTS"
NAME="Ubuntu"
VERSION_ID="22.04"
VERSION="22.04.4 LTS (Jammy Jellyfish)"
VERSION_CODENAME=jammy
ID=ubuntu
ID_LIKE=debian
HOME_URL="https://www.ubuntu.com/"
SUPPORT_URL="https://help.ubuntu.com/"
BUG_REPORT_URL="https://bugs.launchpad.net/ubuntu/"
PRIVACY_POLICY_URL="https://www.ubuntu.com/legal/terms-and-policies/privacy-policy"
UBUNTU_CODENAME=jammy
"""
UBUNTU_2404 = """PRETTY_NAME="Ubuntu 24.04.1 LTS"
NAME="Ubuntu"
VERSION_ID="24.04"
VERSION="24.04.1 LTS (Noble Numbat)"
VERSION_CODENAME=noble
ID=ubuntu
ID_LIKE=debian
HOME_URL="https://www.ubuntu.com/"
SUPPORT_URL="https://help.ubuntu.com/"
BUG_REPORT_URL="https://bugs.launchpad.net/ubuntu/"
PRIVACY_POLICY_URL="https://www.ubuntu.com/legal/terms-and-policies/privacy-policy"
UBUNTU_CODENAME=noble
LOGO=ubuntu-logo
"""
UBUNTU_2410 = UBUNTU_2404.replace("24.04.1 LTS (Noble Numbat)", "24.10 (Oracular Oriole)")
UBUNTU_2410 = UBUNTU_2410.replace('"24.04"', '"24.10"').replace("24.04.1 LTS", "24.10")
UBUNTU_2004 = UBUNTU_2204.replace("22.04.4", "20.04.6").replace('"22.04"', '"20.04"')
RASPBIAN_12 = """PRETTY_NAME="Raspbian GNU/Linux 12 (bookworm)"
NAME="Raspbian GNU/Linux"
VERSION_ID="12"
VERSION="12 (bookworm)"
VERSION_CODENAME=bookworm
ID=raspbian
ID_LIKE=debian
HOME_URL="http://www.raspbian.org/"
SUPPORT_URL="http://www.raspbian.org/RaspbianForums"
BUG_REPORT_URL="http://www.raspbian.org/RaspbianBugs"
"""
RPI_ISSUE = "Raspberry Pi reference 2024-07-04\nGenerated using pi-gen, https://github.com/RPi-Distro/pi-gen\n"
MINT_21 = """NAME="Linux Mint"
VERSION="21.3 (Virginia)"
ID=linuxmint
ID_LIKE="ubuntu debian"
PRETTY_NAME="Linux Mint 21.3"
VERSION_ID="21.3"
VERSION_CODENAME=virginia
UBUNTU_CODENAME=jammy
"""
FEDORA_40 = """NAME="Fedora Linux"
VERSION="40 (Server Edition)"
ID=fedora
VERSION_ID=40
VERSION_CODENAME=""
PLATFORM_ID="platform:f40"
PRETTY_NAME="Fedora Linux 40 (Server Edition)"
ANSI_COLOR="0;38;2;60;110;180"
LOGO=fedora-logo-icon
CPE_NAME="cpe:/o:fedoraproject:fedora:40"
DEFAULT_HOSTNAME="fedora"
VARIANT="Server Edition"
VARIANT_ID=server
"""
OPENWRT_23 = """NAME="OpenWrt"
VERSION="23.05.3"
ID="openwrt"
ID_LIKE="lede openwrt"
PRETTY_NAME="OpenWrt 23.05.3"
VERSION_ID="23.05.3"
"""
ALPINE_320 = """NAME="Alpine Linux"
ID=alpine
VERSION_ID=3.20.3
PRETTY_NAME="Alpine Linux v3.20"
"""


def root_with(tmp_path: Path, os_release: str | None, rpi: bool = False) -> Host:
    (tmp_path / "etc").mkdir(parents=True, exist_ok=True)
    if os_release is not None:
        (tmp_path / "etc/os-release").write_text(os_release)
    if rpi:
        (tmp_path / "etc/rpi-issue").write_text(RPI_ISSUE)
    return Host(tmp_path)


@pytest.mark.parametrize(
    "text, ident, name",
    [
        (DEBIAN_12, "debian", "Debian GNU/Linux 12 (bookworm)"),
        (DEBIAN_13, "debian", "Debian GNU/Linux 13 (trixie)"),
        (UBUNTU_2204, "ubuntu", "Ubuntu 22.04.4 LTS"),
        (UBUNTU_2404, "ubuntu", "Ubuntu 24.04.1 LTS"),
        (RASPBIAN_12, "raspbian", "Raspberry Pi OS (Raspbian GNU/Linux 12 (bookworm))"),
    ],
)
def test_supported_releases_pass_without_a_warning(text, ident, name):
    distro = classify(parse_os_release(text))
    assert (distro.id, distro.name, distro.warning) == (ident, name, None)


def test_raspberry_pi_os_64_bit_is_debian_with_the_pi_marker(tmp_path):
    distro = detect(root_with(tmp_path, DEBIAN_12, rpi=True))
    assert distro.id == "raspbian" and distro.warning is None
    assert distro.name.startswith("Raspberry Pi OS")
    assert detect(root_with(tmp_path / "plain", DEBIAN_12)).id == "debian"


@pytest.mark.parametrize(
    "text, warning",
    [
        (MINT_21, "Linux Mint 21.3 is a Debian derivative we do not test"),
        (UBUNTU_2410, "Ubuntu 24.10 is not an LTS release"),
        (DEBIAN_SID, "Debian GNU/Linux forky/sid is newer than tested"),
    ],
)
def test_unknown_debian_relatives_warn_and_go_on(text, warning):
    assert classify(parse_os_release(text)).warning == warning


@pytest.mark.parametrize(
    "text, message",
    [
        (FEDORA_40, "this is Fedora Linux 40 (Server Edition)"),
        (OPENWRT_23, "this is OpenWrt 23.05.3"),
        (ALPINE_320, "this is Alpine Linux v3.20"),
    ],
)
def test_other_systems_are_refused(text, message):
    with pytest.raises(DeployError) as err:
        classify(parse_os_release(text))
    assert "this installer supports Debian-family systems" in str(err.value)
    assert message in str(err.value)


@pytest.mark.parametrize(
    "text, message",
    [
        (DEBIAN_11, "Debian GNU/Linux 11 (bullseye) is too old: Debian 11 ships Python 3.9"),
        (UBUNTU_2004, "Ubuntu 20.04.6 LTS is too old"),
    ],
)
def test_releases_with_an_old_python_are_refused(text, message):
    with pytest.raises(DeployError, match="needs Python 3.11 or newer") as err:
        classify(parse_os_release(text))
    assert message in str(err.value)


def test_python_older_than_3_11_is_refused_with_what_to_do():
    jammy = classify(parse_os_release(UBUNTU_2204))
    with pytest.raises(DeployError) as err:
        check_python(jammy, (3, 10))
    text = str(err.value)
    assert "Ubuntu 22.04 ships Python 3.10" in text and "3.11 or newer" in text
    assert "Ubuntu 24.04" in text and "deadsnakes" in text
    check_python(jammy, (3, 11))  # deadsnakes' 3.11 is accepted
    with pytest.raises(DeployError, match="runs Python 3.9"):
        check_python(classify(parse_os_release(DEBIAN_12)), (3, 9))


def test_this_machines_os_release_parses():
    fields = parse_os_release(Path("/etc/os-release").read_text())
    assert fields.get("ID") and fields.get("PRETTY_NAME")


def test_a_target_root_without_os_release_gets_a_warning(tmp_path):
    assert detect(root_with(tmp_path, None)).warning == "the target root has no /etc/os-release"


@pytest.mark.skipif(os.geteuid() != 0, reason="the installer runs as root")
def test_installer_refuses_fedora_before_any_change(tmp_path):
    root = tmp_path / "root"
    root_with(root, FEDORA_40)
    before = sorted(str(p) for p in root.rglob("*"))
    proc = subprocess.run(
        [str(DEPLOY / "install-router"), "--root", str(root), "--lan", "lo", "--no-enroll"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 1
    assert "install-router: this installer supports Debian-family systems" in proc.stderr
    assert "nothing was changed" in proc.stderr
    assert sorted(str(p) for p in root.rglob("*")) == before


def _path_with(tmp_path: Path, python3_version: str, newer: str | None) -> str:
    """A PATH whose python3 is a stand-in of `python3_version` (too old), plus,
    if `newer`, the real Python as python3.X (e.g. from the deadsnakes PPA)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("bash", "dirname"):
        (bin_dir / tool).symlink_to(shutil.which(tool))
    old = bin_dir / "python3"
    old.write_text(f'#!/bin/sh\n[ "$1" = --version ] && echo "Python {python3_version}"\nexit 1\n')
    old.chmod(0o755)
    if newer:
        (bin_dir / newer).symlink_to(sys.executable)
    return str(bin_dir)


def test_wrapper_names_the_python_problem_on_ubuntu_22_04(tmp_path):
    proc = subprocess.run(
        [str(DEPLOY / "install-router"), "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": _path_with(tmp_path, "3.10.12", None)},
    )
    assert proc.returncode == 1
    assert "needs Python 3.11 or newer; this system has Python 3.10.12" in proc.stderr
    assert "Ubuntu 22.04 ships Python 3.10" in proc.stderr and "deadsnakes" in proc.stderr


def test_wrapper_uses_a_newer_python3_x_when_python3_is_too_old(tmp_path):
    proc = subprocess.run(
        [str(DEPLOY / "install-router"), "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": _path_with(tmp_path, "3.10.12", "python3.11")},
    )
    assert proc.returncode == 0, proc.stderr
    assert "usage: install-router" in proc.stdout
