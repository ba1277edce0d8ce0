"""IPv4 forwarding: install-router turns it on (the sysctl.d file and, in the
test's own network namespace, the live value); a rollback and uninstall-router
put back exactly what was there.

These runs install a stand-in porchlight wheel (a console script that knows
`--version` and fails everything else) instead of the real one: the venv is
then built in seconds, and what is tested is the installer, not the package.
"""

from __future__ import annotations

import base64
import hashlib
import subprocess
import zipfile
from pathlib import Path

import pytest
from deploykit import tree

pytestmark = [pytest.mark.root]

STANDIN_CLI = b"""import sys


def main():
    if sys.argv[1:] == ["--version"]:
        print("porchlight 0.1.0")
        return 0
    print("stand-in porchlight: " + " ".join(sys.argv[1:]), file=sys.stderr)
    return 1
"""


def build_standin_wheel(dest: Path) -> Path:
    """porchlight-0.1.0-py3-none-any.whl with only a `porchlight --version`."""
    info = "porchlight-0.1.0.dist-info"
    files = {
        "porchlight/__init__.py": b"",
        "porchlight/cli.py": STANDIN_CLI,
        f"{info}/METADATA": b"Metadata-Version: 2.1\nName: porchlight\nVersion: 0.1.0\n"
        b"Provides-Extra: router\nProvides-Extra: all\n",
        f"{info}/WHEEL": b"Wheel-Version: 1.0\nGenerator: porchlight-tests\n"
        b"Root-Is-Purelib: true\nTag: py3-none-any\n",
        f"{info}/entry_points.txt": b"[console_scripts]\nporchlight = porchlight.cli:main\n",
    }
    record = []
    for name, data in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        record.append(f"{name},sha256={digest},{len(data)}")
    record.append(f"{info}/RECORD,,")
    files[f"{info}/RECORD"] = ("\n".join(record) + "\n").encode()
    wheel = dest / "porchlight-0.1.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as out:
        for name, data in files.items():
            out.writestr(name, data)
    return wheel


@pytest.fixture(scope="session")
def standin_wheelhouse(tmp_path_factory):
    dest = tmp_path_factory.mktemp("standin-wheelhouse")
    build_standin_wheel(dest)
    return dest


@pytest.fixture
def answering_admin(netns, tmp_path):
    """Something answering HTTP at the admin URL inside the namespace (so the
    installer's reachability check passes); the stand-in's enroll then fails."""
    port = 8199
    www = tmp_path / "www"
    www.mkdir()
    proc = subprocess.Popen(
        ["ip", "netns", "exec", netns.name, "python3", "-m", "http.server"]
        + ["--bind", "127.0.0.1", "--directory", str(www), str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        netns.wait_for_http(url, "the stand-in admin", pause=0.1)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def snapshot(netns, root: Path) -> dict:
    return {"net": netns.state(), "root": tree(root)}


def set_forwarding(netns, value: str) -> None:
    netns.exec(["sysctl", "-qw", f"net.ipv4.ip_forward={value}"], check=True)


def forwarding(netns) -> str:
    return netns.exec(["cat", "/proc/sys/net/ipv4/ip_forward"], check=True).stdout.strip()


def test_install_turns_forwarding_on_rollback_and_uninstall_put_it_back(
    netns, target_root, standin_wheelhouse, answering_admin
):
    root = target_root
    set_forwarding(netns, "0")
    before = snapshot(netns, root)
    common = ["--root", str(root), "--lan", "lan0", "--wheelhouse", str(standin_wheelhouse)]
    common.append("--live-sysctl")

    plan = netns.deploy("install-router", *common, "--no-enroll", "--dry-run")
    assert plan.returncode == 0, plan.stderr
    assert "write /etc/sysctl.d/60-porchlight.conf" in plan.stdout
    assert "turn on IPv4 forwarding now (net.ipv4.ip_forward 0 -> 1)" in plan.stdout
    assert snapshot(netns, root) == before

    # enrollment (after forwarding) fails: everything undone, forwarding off again
    proc = netns.deploy(
        "install-router", *common, "--admin-url", answering_admin, "--code", "X", "--insecure"
    )
    assert proc.returncode == 1 and "enrollment failed" in proc.stderr, proc.stdout + proc.stderr
    assert "the host is as it was" in proc.stderr
    assert snapshot(netns, root) == before

    proc = netns.deploy("install-router", *common, "--no-enroll")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "[ OK ] IPv4 forwarding: on" in proc.stdout
    assert forwarding(netns) == "1"
    conf = (root / "etc/sysctl.d/60-porchlight.conf").read_text()
    assert "\nnet.ipv4.ip_forward=1\n" in conf
    # the boot-time file is what `sysctl -p` applies: it turns forwarding on
    set_forwarding(netns, "0")
    netns.exec(["sysctl", "-q", "-p", str(root / "etc/sysctl.d/60-porchlight.conf")], check=True)
    assert forwarding(netns) == "1"

    proc = netns.deploy("install-router", *common, "--no-enroll")
    assert proc.returncode == 0 and "nothing to change" in proc.stdout, proc.stdout

    proc = netns.deploy("uninstall-router", "--root", str(root), "--live-sysctl")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "put net.ipv4.ip_forward back to 0" in proc.stdout
    assert snapshot(netns, root) == before  # forwarding 0, no sysctl.d left behind


def test_forwarding_already_on_stays_on_after_uninstall(netns, target_root, standin_wheelhouse):
    root = target_root
    set_forwarding(netns, "1")
    (root / "etc/sysctl.d").mkdir()
    (root / "etc/sysctl.d/99-host.conf").write_text("vm.swappiness=10\n")
    before = snapshot(netns, root)
    args = ["--root", str(root), "--lan", "lan0", "--no-enroll", "--live-sysctl"]
    proc = netns.deploy("install-router", *args, "--wheelhouse", str(standin_wheelhouse))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "turn on IPv4 forwarding" not in proc.stdout
    assert (root / "etc/sysctl.d/60-porchlight.conf").is_file()
    proc = netns.deploy("uninstall-router", "--root", str(root), "--live-sysctl")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "ip_forward" not in proc.stdout
    assert forwarding(netns) == "1"
    assert snapshot(netns, root) == before  # the host's own sysctl.d file and dir stay
