"""Fixtures for the deploy tests: a target root, a network namespace, wheelhouses.

The installer never runs against this machine: it gets `--root DIR` (a small
Debian-like tree) and runs inside a throwaway network namespace (`pl` + 6 hex)
that holds the LAN interface, a "host" nftables table and a route, so that
"uninstall leaves the host as it was" is a diff of that namespace and that tree.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest
from deploykit import LAN_IP, REPO, Netns, root_python_version, run, target_wheelhouse
from guestkit import guest_on_lan


@pytest.fixture
def netns():
    """A namespace with lo, a veth pair (lan0 10.77.0.1/24, lan0p without IPv4),
    a host firewall table and a route: the 'router' the installer sees."""
    name = "pl" + secrets.token_hex(3)
    run(["ip", "netns", "add", name])
    try:
        ns = Netns(name)
        for argv in (
            # no duplicate-address detection: IPv6 link-local addresses would
            # otherwise settle (tentative -> permanent) while the test runs
            ["sysctl", "-qw", "net.ipv6.conf.all.accept_dad=0"],
            ["sysctl", "-qw", "net.ipv6.conf.default.accept_dad=0"],
            ["ip", "link", "set", "lo", "up"],
            ["ip", "link", "add", "lan0", "type", "veth", "peer", "name", "lan0p"],
            ["ip", "addr", "add", f"{LAN_IP}/24", "dev", "lan0"],
            ["ip", "link", "set", "lan0", "up"],
            ["ip", "link", "set", "lan0p", "up"],
            ["ip", "route", "add", "198.51.100.0/24", "via", "10.77.0.254"],
            ["nft", "add", "table", "inet", "hostfw"],
            [
                "nft",
                "add chain inet hostfw input { type filter hook input priority 0; policy accept; }",
            ],
            ["nft", "add", "rule", "inet", "hostfw", "input", "tcp", "dport", "22", "accept"],
        ):
            ns.exec(argv, check=True)
        yield ns
    finally:
        run(["ip", "netns", "del", name], check=False)


@pytest.fixture
def guest(netns):
    """A phone on the router's LAN (lan0p moved out of the router namespace):
    (its namespace, its MAC). Ask for it before the router boots."""
    with guest_on_lan(netns) as phone:
        yield phone


@pytest.fixture
def target_root(tmp_path):
    """A small Debian-like root: accounts, an enabled host unit, /opt, /var/lib."""
    root = tmp_path / "root"
    etc = root / "etc"
    wants = etc / "systemd/system/multi-user.target.wants"
    wants.mkdir(parents=True)
    (wants / "ssh.service").symlink_to("/lib/systemd/system/ssh.service")
    for sub in ("opt", "var/lib", "run", "usr/sbin"):
        (root / sub).mkdir(parents=True)
    files = {
        "passwd": "root:x:0:0:root:/root:/bin/bash\n"
        "sshd:x:100:65534::/run/sshd:/usr/sbin/nologin\n",
        "group": "root:x:0:\nnogroup:x:65534:\n",
        "shadow": "root:*:19000:0:99999:7:::\nsshd:!:19000::::::\n",
        "gshadow": "root:*::\nnogroup:*::\n",
    }
    for name, text in files.items():
        (etc / name).write_text(text)
        (etc / f"{name}-").write_text(text)
        os.chmod(etc / name, 0o640 if "shadow" in name else 0o644)
    (etc / "hostname").write_text("venue-router\n")
    return root


def _pip_wheel(dest: Path, source: Path, extra: str = "router") -> None:
    proc = run(
        [
            str(REPO / ".venv/bin/pip"),
            "wheel",
            "-q",
            "--disable-pip-version-check",
            "--wheel-dir",
            str(dest),
            f"{source}[{extra}]",
        ],
        timeout=900,
        check=False,
    )
    if proc.returncode != 0:
        pytest.fail(f"could not build a wheelhouse (PyPI reachable?): {proc.stderr[-500:]}")


@pytest.fixture(scope="session")
def wheelhouse(tmp_path_factory):
    """porchlight[router] and its dependencies as wheels: an offline install source."""
    dest = tmp_path_factory.mktemp("wheelhouse")
    _pip_wheel(dest, REPO)
    return dest


@pytest.fixture(scope="session")
def broken_wheelhouse(tmp_path_factory, wheelhouse):
    """The wheelhouse with a porchlight wheel whose command crashes on start
    (a bad release: it installs fine, then fails its health check)."""
    dest = tmp_path_factory.mktemp("broken-wheelhouse")
    for wheel in wheelhouse.glob("*.whl"):
        if not wheel.name.startswith("porchlight-"):
            shutil.copy(wheel, dest)
            continue
        with zipfile.ZipFile(wheel) as src, zipfile.ZipFile(dest / wheel.name, "w") as out:
            for item in src.infolist():
                data = src.read(item)
                if item.filename == "porchlight/cli.py":
                    data += b"\nraise RuntimeError('broken release')\n"
                out.writestr(item, data)
    return dest


ADMIN_PORT = 8137


@pytest.fixture
def admin(netns, tmp_path):
    """The real admin (SQLite) listening on 127.0.0.1 inside the namespace."""
    env = dict(
        os.environ,
        PORCHLIGHT_ADMIN_DATABASE_URL=f"sqlite:///{tmp_path}/admin.db",
        PORCHLIGHT_ADMIN_SECRET_KEY="deploy-tests-secret-key-0123456789",
        PORCHLIGHT_ADMIN_DATA_DIR=str(tmp_path / "admin-data"),
    )
    exe = str(REPO / ".venv/bin/porchlight")
    for argv in ([exe, "admin", "migrate"], [exe, "admin", "demo", "--json"]):
        done = subprocess.run(argv, env=env, capture_output=True, check=True, timeout=120)
    (tmp_path / "admin-demo.json").write_bytes(done.stdout)  # the demo owner's login
    proc = subprocess.Popen(
        ["ip", "netns", "exec", netns.name, exe, "admin", "serve"]
        + ["--bind", f"127.0.0.1:{ADMIN_PORT}", "--workers", "1"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{ADMIN_PORT}"

    def new_code() -> str:
        out = subprocess.run(
            [exe, "admin", "router-add", "--tenant", "demo", "--location", "Lab Café"]
            + ["--name", f"r{time.monotonic_ns()}", "--json"],
            env=env,
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
        )
        return json.loads(out.stdout)["code"]

    try:
        netns.wait_for_http(url, "the admin")
        yield url, new_code
    finally:
        proc.terminate()
        proc.wait(timeout=20)


@pytest.fixture
def admin_login(admin, tmp_path) -> dict[str, str]:
    """The demo owner's email and password on the `admin` fixture's admin."""
    return json.loads((tmp_path / "admin-demo.json").read_text())


NSPAWN_ROOT_HINT = (
    "set PORCHLIGHT_NSPAWN_ROOT to a Debian root built by scripts/nspawn-root "
    "(scripts/setup --tests builds one; scripts/test sets the variable)"
)


@pytest.fixture(scope="session")
def nspawn_root() -> Path:
    """The debootstrap root the systemd tests boot. Opt-in by hand (skips without
    it); under PORCHLIGHT_REQUIRE_ALL=1 (scripts/test, CI) a missing one fails."""
    base = os.environ.get("PORCHLIGHT_NSPAWN_ROOT")
    reason = None
    if shutil.which("systemd-nspawn") is None:
        reason = "needs systemd-nspawn (apt-get install systemd-container)"
    elif not base:
        reason = NSPAWN_ROOT_HINT
    elif not (Path(base) / "usr/lib/systemd/systemd").exists():
        reason = f"PORCHLIGHT_NSPAWN_ROOT={base} is not a Debian root with systemd; " + (
            NSPAWN_ROOT_HINT
        )
    if reason is None and base:
        return Path(base)
    if os.environ.get("PORCHLIGHT_REQUIRE_ALL") == "1":
        pytest.fail(f"prerequisite missing: {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def root_wheelhouse(nspawn_root, wheelhouse, tmp_path_factory):
    """porchlight[router] as wheels the nspawn root's Python can install."""
    python = root_python_version(nspawn_root)
    if python == "{}.{}".format(*sys.version_info[:2]):
        return wheelhouse
    return target_wheelhouse(tmp_path_factory.mktemp("wheelhouse-root"), "router", python)
