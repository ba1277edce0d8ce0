"""Helpers for the deploy tests: the namespace wrapper, tree snapshots, paths.

The installer never runs against this machine: it gets `--root DIR` (a small
Debian-like tree) and runs inside a throwaway network namespace (`pl` + 6 hex)
that holds the LAN interface, a "host" nftables table and a route, so that
"uninstall leaves the host as it was" is a diff of that namespace and that tree.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

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
