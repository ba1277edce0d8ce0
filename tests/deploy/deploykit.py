"""Helpers for the deploy tests: the namespace wrapper, tree snapshots, paths,
booting a Debian root under systemd-nspawn, curl with a cookie jar in a namespace.

The installer never runs against this machine: it gets `--root DIR` (a small
Debian-like tree) and runs inside a throwaway network namespace (`pl` + 6 hex)
that holds the LAN interface, a "host" nftables table and a route, so that
"uninstall leaves the host as it was" is a diff of that namespace and that tree.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urljoin

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
LAN_IP = "10.77.0.1"

sys.path.insert(0, str(DEPLOY))


def run(argv, timeout=120, check=True, **kw):
    return subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=check, **kw)


class Netns:
    def __init__(self, name: str) -> None:
        self.name = name

    def exec(self, argv, timeout=300, check=False, **kw):
        return run(["ip", "netns", "exec", self.name, *argv], timeout=timeout, check=check, **kw)

    def deploy(self, script: str, *args: str, timeout: float = 600):
        """Run deploy/<script> inside the namespace (never against this host)."""
        return self.exec([str(DEPLOY / script), *args], timeout=timeout)

    def state(self) -> dict[str, str]:
        """What 'host networking' means here: links, addresses, routes, rules, ruleset."""
        out = {}
        for key, argv in {
            "link": ["ip", "-j", "link", "show"],
            "addr": ["ip", "-j", "addr", "show"],
            "route4": ["ip", "-j", "-4", "route", "show", "table", "all"],
            "route6": ["ip", "-j", "-6", "route", "show", "table", "all"],
            "rule": ["ip", "-j", "rule", "show"],
            "nft": ["nft", "list", "ruleset"],
            "forwarding": ["cat", "/proc/sys/net/ipv4/ip_forward"],
        }.items():
            proc = self.exec(argv, check=True)
            text = proc.stdout
            if argv[1] == "-j":  # drop counters that move on their own
                data = json.loads(text or "[]")
                for item in data:
                    if isinstance(item, dict):
                        item.pop("stats64", None)
                text = json.dumps(data, sort_keys=True, indent=1)
            out[key] = text
        return out

    def wait_for_http(self, url: str, what: str, tries: int = 100, pause: float = 0.2) -> None:
        """Until something answers `url` inside the namespace; AssertionError naming `what`."""
        for _ in range(tries):
            if self.exec(["curl", "-s", "-o", "/dev/null", url], timeout=10).returncode == 0:
                return
            time.sleep(pause)
        raise AssertionError(f"{what} did not start: nothing answers {url}")


def tree(root: Path) -> dict[str, str]:
    """Every path under root with its type, mode and content hash. The shadow
    tools' own backups (etc/passwd- ...) are left out: they change by design."""
    out = {}
    for path in sorted(root.rglob("*")):
        rel = str(path.relative_to(root))
        if rel.startswith("etc/") and rel.endswith("-") and "/" not in rel[4:]:
            continue
        if path.is_symlink():
            out[rel] = f"link -> {os.readlink(path)}"
        elif path.is_dir():
            out[rel] = f"dir {oct(path.stat().st_mode & 0o7777)}"
        else:
            digest = hashlib.sha256(path.read_bytes()).hexdigest()[:16]
            out[rel] = f"file {oct(path.stat().st_mode & 0o7777)} {digest}"
    return out


def _children(pid: int) -> list[int]:
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            out.append(int(stat.parent.name))
    return out


Inside = Callable[..., subprocess.CompletedProcess]


@contextmanager
def boot(
    root: Path,
    netns: Netns,
    binds: dict[str, Path],
    log_path: Path,
    binds_rw: dict[str, Path] | None = None,
    volatile: bool = True,
) -> Iterator[Inside]:
    """Boot `root` with systemd-nspawn (`--volatile=overlay`: the root stays
    pristine; volatile=False: what the boot changes stays in `root`, for a second
    boot) inside `netns`, the source tree at /root/porchlight and `binds`
    (container path -> host path) read-only, `binds_rw` writable; yield
    `inside(command)`, which runs a bash command in the booted container.
    Powered off afterwards."""
    argv = [
        "systemd-nspawn",
        "-D",
        str(root),
        *(["--volatile=overlay"] if volatile else []),
        "--boot",
        "--keep-unit",
        "--register=no",
        "--capability=CAP_NET_ADMIN",
        # with the path below: that namespace, and /proc/sys/net writable as on a
        # real router (the installer turns IPv4 forwarding on there)
        "--private-network",
        f"--network-namespace-path=/run/netns/{netns.name}",
        f"--bind-ro={REPO}:/root/porchlight",
    ]
    argv += [f"--bind-ro={host}:{path}" for path, host in binds.items()]
    argv += [f"--bind={host}:{path}" for path, host in (binds_rw or {}).items()]
    with log_path.open("w") as log:
        proc = subprocess.Popen(
            argv, stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True
        )
        leader = None
        try:
            for _ in range(300):
                kids = _children(proc.pid)
                if kids:
                    leader = kids[0]
                    state = run(
                        ["nsenter", "-t", str(leader), "-a", "--"]
                        + ["systemctl", "is-system-running"],
                        check=False,
                    )
                    if state.stdout.strip() in ("running", "degraded"):
                        break
                if proc.poll() is not None:
                    break
                time.sleep(0.2)
            else:
                raise AssertionError("the container did not boot: " + log_path.read_text())
            if proc.poll() is not None:
                raise AssertionError("systemd-nspawn exited: " + log_path.read_text())

            def inside(command: str, timeout: float = 900) -> subprocess.CompletedProcess:
                return run(
                    ["nsenter", "-t", str(leader), "-a", "--", "/bin/bash", "-c", command],
                    timeout=timeout,
                    check=False,
                )

            yield inside
        finally:
            if leader is not None:
                poweroff = ["nsenter", "-t", str(leader), "-a", "--", "systemctl", "poweroff"]
                run(poweroff, check=False)
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)


class Browser:
    """curl in a namespace with a cookie jar: a phone, or a manager's browser."""

    def __init__(self, netns: str, jar: Path) -> None:
        self.netns, self.jar = netns, jar

    def http(self, url: str, form: dict[str, str] | None = None) -> tuple[int, str, str]:
        """(status, Location header, body), redirects not followed."""
        argv = ["ip", "netns", "exec", self.netns, "curl", "-sS", "-m", "10", "-i",
                "-b", str(self.jar), "-c", str(self.jar), "-H", "Accept-Language: en",
                "-H", "User-Agent: Mozilla/5.0 (Linux; Android 14) deploy-test"]  # fmt: skip
        for key, value in (form or {}).items():
            argv += ["--data-urlencode", f"{key}={value}"]
        done = run([*argv, url], timeout=30, check=False)
        assert done.returncode == 0, f"curl {url}: {done.stderr}"
        head, _, body = done.stdout.replace("\r\n", "\n").partition("\n\n")
        while head.startswith("HTTP/1.1 100"):
            head, _, body = body.partition("\n\n")
        location = ""
        for line in head.splitlines()[1:]:
            name, _, value = line.partition(":")
            if name.strip().lower() == "location":
                location = value.strip()
        return int(head.split()[1]), location, body

    def follow(self, url: str) -> tuple[str, str]:
        """GET `url` following redirects: (final URL, body)."""
        for _ in range(5):
            status, location, body = self.http(url)
            if status in (301, 302, 303, 307, 308) and location:
                url = urljoin(url, location)
                continue
            assert status == 200, f"{url} answered {status}"
            return url, body
        raise AssertionError(f"too many redirects from {url}")


def root_python_version(root: Path) -> str:
    """The target root's python3 version, "3.11" for Debian 12, "3.13" for Debian 13."""
    target = os.readlink(root / "usr/bin/python3")
    return target.removeprefix("python")


def target_wheelhouse(dest: Path, extra: str, python: str) -> Path:
    """porchlight[extra] as wheels for a target whose Python is `python`: built here
    when it is this interpreter's version, else our pure wheel plus binary wheels
    of every dependency for that version (so a Debian 13 root gets cp313 wheels)."""
    pip = [str(REPO / ".venv/bin/pip")]
    if python == "{}.{}".format(*sys.version_info[:2]):
        proc = run(
            [*pip, "wheel", "-q", "--disable-pip-version-check", "--wheel-dir", str(dest)]
            + [f"{REPO}[{extra}]"],
            timeout=900,
            check=False,
        )
        assert proc.returncode == 0, proc.stderr[-500:]
        return dest
    proc = run(
        [*pip, "wheel", "-q", "--no-deps", "--wheel-dir", str(dest), str(REPO)],
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-500:]
    wheel = next(dest.glob("porchlight-*.whl"))
    proc = run(
        [*pip, "download", "-q", "--disable-pip-version-check", "--dest", str(dest)]
        + ["--only-binary=:all:", "--implementation", "cp", "--python-version", python]
        + [f"--platform=manylinux_2_{n}_x86_64" for n in (17, 28, 34)]
        + ["--platform=manylinux2014_x86_64", f"{wheel}[{extra}]"],
        timeout=900,
        check=False,
    )
    if proc.returncode != 0:
        raise AssertionError(f"no wheels for Python {python} (PyPI?): {proc.stderr[-500:]}")
    return dest
