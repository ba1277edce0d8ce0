"""The installer, the units and the upgrade health check under a real systemd.

A Debian root booted with `systemd-nspawn --volatile=overlay` (the root stays
pristine) inside the test's own network namespace: install, enroll against the
real admin, run again, upgrade, a broken upgrade rolled back by the live
`porchlight agent status --json` check, uninstall, and the namespace's `ip`
and `nft list ruleset` state diffed; and single-box mode as README.md gives it
(admin and worker units on SQLite, enrollment over loopback, upgrade, uninstall).
A guest driven through the installed units: test_deploy_guest_under_systemd.py.

The root comes from PORCHLIGHT_NSPAWN_ROOT: `scripts/nspawn-root` builds it
once (debootstrap bookworm, about a minute) into /var/cache/porchlight; CI gets
it from `scripts/setup --tests` and `scripts/test`. By hand without it these
tests skip; under PORCHLIGHT_REQUIRE_ALL=1 they fail (the `nspawn_root` fixture).
"""

from __future__ import annotations

import shutil
import zipfile

import pytest
from deploykit import boot, root_python_version, target_wheelhouse

pytestmark = [pytest.mark.root, pytest.mark.slow]


@pytest.fixture
def agent_broken_wheelhouse(tmp_path, root_wheelhouse):
    """A release that installs and prints its version, but whose agent exits at start."""
    dest = tmp_path / "agent-broken"
    dest.mkdir()
    for wheel in root_wheelhouse.glob("*.whl"):
        if not wheel.name.startswith("porchlight-"):
            shutil.copy(wheel, dest)
            continue
        with zipfile.ZipFile(wheel) as src, zipfile.ZipFile(dest / wheel.name, "w") as out:
            for item in src.infolist():
                data = src.read(item)
                if item.filename == "porchlight/agent/commands.py":
                    data = data.replace(
                        b"def cmd_run(",
                        b"def cmd_run(args):\n    raise SystemExit('broken release')\n\n\n"
                        b"def _cmd_run_was(",
                    )
                out.writestr(item, data)
    return dest


@pytest.fixture(scope="session")
def all_wheelhouse(nspawn_root, tmp_path_factory):
    """porchlight[all] (router and admin) as wheels, for single-box mode."""
    dest = tmp_path_factory.mktemp("wheelhouse-all")
    return target_wheelhouse(dest, "all", root_python_version(nspawn_root))


@pytest.fixture
def booted(nspawn_root, netns, root_wheelhouse, agent_broken_wheelhouse, all_wheelhouse, tmp_path):
    # off: the installer turns it on, uninstall must put it back (the state diff)
    netns.exec(["sysctl", "-qw", "net.ipv4.ip_forward=0"], check=True)
    binds = {
        "/root/wheels": root_wheelhouse,
        "/root/broken": agent_broken_wheelhouse,
        "/root/wheels-all": all_wheelhouse,
    }
    with boot(nspawn_root, netns, binds, tmp_path / "nspawn.log") as inside:
        yield inside


def test_install_upgrade_uninstall_under_systemd(netns, booted, admin):
    inside = booted
    url, new_code = admin
    before = netns.state()
    deploy = "cd /root/porchlight && deploy/"

    proc = inside(f"{deploy}install-router --lan lan0 --no-enroll --wheelhouse /root/wheels")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for line in (
        "[ OK ] porchlight-agent.service: active",
        "[ OK ] porchlight-portal.service: active",
        "[ OK ] porchlight-dnsmasq.service: active",
        "[ OK ] agent status: answers",
        "[ OK ] portal: http://10.77.0.1:8080/generate_204",
    ):
        assert line in proc.stdout, proc.stdout

    code = new_code()
    proc = inside(f"{deploy}install-router --lan lan0 --admin-url {url} --code {code}")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "[ OK ] enrolled" in proc.stdout and "[ OK ] agent status" in proc.stdout
    token = inside("sha256sum /var/lib/porchlight/agent/device-token").stdout

    proc = inside(f"{deploy}install-router --lan lan0 --admin-url {url} --code {code}")
    assert proc.returncode == 0 and "nothing to change" in proc.stdout, proc.stdout

    proc = inside(f"{deploy}upgrade-router --wheelhouse /root/wheels")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "[ OK ] agent status" in proc.stdout
    current = inside("readlink /opt/porchlight/current").stdout

    proc = inside(f"{deploy}upgrade-router --wheelhouse /root/broken")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "rolled back to porchlight" in proc.stderr
    assert inside("readlink /opt/porchlight/current").stdout == current
    assert inside("systemctl is-active porchlight-agent").stdout.strip() == "active"
    status = inside("/opt/porchlight/current/bin/porchlight agent status --json")
    assert status.returncode == 0, status.stderr
    assert inside("sha256sum /var/lib/porchlight/agent/device-token").stdout == token

    proc = inside(f"{deploy}uninstall-router")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert inside("systemctl list-unit-files 'porchlight*' --no-legend").stdout.strip() == ""
    assert inside("getent passwd porchlight").returncode != 0
    assert inside("ls /etc/porchlight /opt/porchlight /var/lib/porchlight").returncode != 0
    assert netns.state() == before


SINGLE_BOX = r"""
set -euo pipefail
cd /root/porchlight
deploy/install-router --lan lan0 --no-enroll --wheelhouse /root/wheels-all >/dev/null
/opt/porchlight/current/bin/pip install -q --no-index --find-links /root/wheels-all \
    'porchlight[admin]'
useradd --system --home-dir /nonexistent --shell /usr/sbin/nologin porchlight-admin
printf '%s\n' "PORCHLIGHT_ADMIN_SECRET_KEY=single-box-secret-0123456789" \
  'PORCHLIGHT_ADMIN_DATABASE_URL=sqlite:////var/lib/porchlight/admin/admin.db' \
  'PORCHLIGHT_ADMIN_DATA_DIR=/var/lib/porchlight/admin/data' \
  'PORCHLIGHT_ADMIN_BIND=127.0.0.1:8000' 'PORCHLIGHT_ADMIN_WORKERS=2' \
  | install -m 0600 /dev/stdin /etc/porchlight/admin.env
install -m 0644 systemd/porchlight-admin*.service /etc/systemd/system/
systemctl daemon-reload
systemctl enable --now porchlight-admin porchlight-admin-worker
as_admin() {
    setpriv --reuid=porchlight-admin --regid=porchlight-admin --clear-groups \
        env $(xargs < /etc/porchlight/admin.env) /opt/porchlight/current/bin/porchlight admin "$@"
}
as_admin demo --json >/dev/null 2>&1
code=$(as_admin router-add --tenant demo --location "Lab Café" --name box --json 2>/dev/null \
    | python3 -c 'import json, sys; print(json.load(sys.stdin)["code"])')
deploy/install-router --lan lan0 --admin-url http://127.0.0.1:8000 --code "$code"
"""


def test_single_box_admin_under_systemd(booted):
    inside = booted
    proc = inside(SINGLE_BOX)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "[ OK ] enrolled" in proc.stdout
    states = inside("systemctl is-active porchlight-admin porchlight-admin-worker").stdout
    assert states.split() == ["active", "active"]
    login = inside("curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:8000/login")
    assert login.stdout == "200"
    backup = inside(
        "set -a; . /etc/porchlight/admin.env; "
        "/opt/porchlight/current/bin/porchlight admin backup /root/admin.backup"
    )
    assert backup.returncode == 0, backup.stderr

    proc = inside("cd /root/porchlight && deploy/upgrade-router --wheelhouse /root/wheels-all")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    states = inside("systemctl is-active porchlight-admin porchlight-admin-worker").stdout
    assert states.split() == ["active", "active"]  # the admin came along into the new venv

    proc = inside("cd /root/porchlight && deploy/uninstall-router")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert inside("getent passwd porchlight-admin").returncode != 0
    assert inside("systemctl list-unit-files 'porchlight*' --no-legend").stdout.strip() == ""
