"""deploy/uninstall-router: take away what the installer added, nothing else.

Units (stopped, disabled, deleted), the agent's nftables table `inet
porchlight`, /etc/porchlight, /opt/porchlight, /var/lib/porchlight (unless
--keep-data), the porchlight users and the Debian packages the installer
itself installed (unless --keep-packages). Interfaces, addresses, routes and
any other nftables table are the host's and are never touched.
"""

from __future__ import annotations

import logging
import sys

from . import forwarding
from .host import (
    ADMIN_UNITS,
    ADMIN_USER,
    ETC,
    HELPER_UNITS,
    OPT,
    PORTAL_USER,
    ROUTER_UNITS,
    STATE,
    TLS_UNIT,
    UNIT_DIR,
    DeployError,
    Host,
    remove_path,
)
from .install import read_record
from .journal import Journal

log = logging.getLogger(__name__)

ALL_UNITS = (*ROUTER_UNITS, TLS_UNIT, *HELPER_UNITS, *ADMIN_UNITS)


def plan_removal(host: Host, keep_data: bool, keep_packages: bool) -> list[tuple[str, str, object]]:
    """(words, kind, what) for each thing present that belongs to Porchlight."""
    plan: list[tuple[str, str, object]] = []
    record = read_record(host)
    units = [u for u in ALL_UNITS if host.path(f"{UNIT_DIR}/{u}").exists()]
    if units:
        plan.append((f"stop, disable and delete {' '.join(units)}", "units", units))
    before = record.get("ip_forward_before")
    if before is not None and forwarding.changes_live(host):  # before the gate goes
        plan.append((f"put net.ipv4.ip_forward back to {before}", "forwarding", before))
    if host.nft_has_table("inet", "porchlight"):
        plan.append(("delete the nftables table inet porchlight", "nft", None))
    dirs = [ETC, OPT, "/run/porchlight"] + ([] if keep_data else [STATE])
    for target in dirs:
        if host.path(target).exists():
            plan.append((f"delete {target}", "path", target))
    for sysctl_file in (forwarding.SYSCTL_FILE, forwarding.NEIGH_FILE):
        if host.path(sysctl_file).exists():
            plan.append((f"delete {sysctl_file}", "path", sysctl_file))
    if record.get("sysctl_dir_created") and host.path(forwarding.SYSCTL_DIR).is_dir():
        plan.append((f"delete {forwarding.SYSCTL_DIR} if empty", "dir", forwarding.SYSCTL_DIR))
    for user in (PORTAL_USER, ADMIN_USER):
        if host.has_user(user) or host.has_group(user):
            plan.append((f"delete system user and group {user}", "user", user))
    packages = record.get("packages_installed", [])
    if packages and not keep_packages and host.is_live:
        plan.append((f"remove Debian packages {' '.join(packages)}", "packages", packages))
    return plan


def run_uninstall(host: Host, keep_data: bool, keep_packages: bool, dry_run: bool) -> int:
    journal = Journal(host, dry_run=dry_run)
    if journal.load_unfinished() and not dry_run:
        print("Undoing an install that did not finish first.")
        for problem in journal.rollback():
            print(f"  could not undo: {problem}", file=sys.stderr)
    plan = plan_removal(host, keep_data, keep_packages)
    if not plan:
        print("Nothing to remove: Porchlight is not installed here.")
        return 0
    if dry_run:
        print("Dry run: this would")
        for words, _, _ in plan:
            print(f"  - {words}")
        return 0
    failed = False
    for words, kind, what in plan:
        try:
            remove(host, kind, what)
        except (DeployError, OSError) as exc:
            failed = True
            print(f"  [FAIL] {words}: {exc}")
        else:
            print(f"  [ OK ] {words}")
    return 1 if failed else 0


def remove(host: Host, kind: str, what: object) -> None:
    if kind == "units":
        assert isinstance(what, list)
        if host.systemd_running:
            host.systemctl("disable", "--now", *what, check=False)
        else:
            host.systemctl("disable", *what, check=False)
        for unit in what:
            host.path(f"{UNIT_DIR}/{unit}").unlink(missing_ok=True)
        if host.systemd_running:
            host.systemctl("daemon-reload")
    elif kind == "forwarding":
        assert isinstance(what, str)
        if not forwarding.restore_after_uninstall(what):
            log.warning("net.ipv4.ip_forward was changed after the install: left as it is")
    elif kind == "dir":
        assert isinstance(what, str)
        path = host.path(what)
        if path.is_dir() and not any(path.iterdir()):
            path.rmdir()
    elif kind == "nft":
        host.nft_delete_table("inet", "porchlight")
    elif kind == "path":
        assert isinstance(what, str)
        remove_path(host.path(what))
    elif kind == "user":
        assert isinstance(what, str)
        host.remove_system_user(what)
    elif kind == "packages":
        assert isinstance(what, list)
        host.apt_remove(what)
