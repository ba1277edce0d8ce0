"""A flashed router's first boot, from the root filesystem deploy/build-image made.

The image is built once per session (`deploy/build-image --keep-root`: the
directory `mkfs.ext4 -d` turned into the root partition) and booted with the
systemd-nspawn harness in the router namespace, a directory bound at
/boot/porchlight standing in for the PORCHLIGHT FAT partition, an upstream
namespace answering DHCP behind wan0 and the real admin on 127.0.0.1:

    guest ns (adoption test)      router ns (the container)                      upstream ns
    eth0 ──veth── lan0 10.77.0.1/24    wan0 (DHCP) ──veth── eth0 192.0.2.1 (dnsmasq,
                  admin on 127.0.0.1:8137                        lab internet host :80)

Once adopted, the router is a gate for the guest namespace: DHCP from its
dnsmasq, the probe sent to its portal, the login form, the probe passing
(NAT out of the WAN it found) and the visit on the admin (guestkit.py, shared
with test_deploy_guest_under_systemd.py).

The base root comes from `deploy/build-image --base-only` (scripts/setup
--tests); without it these tests skip, under PORCHLIGHT_REQUIRE_ALL=1 they fail.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import sqlalchemy as sa
from deploykit import REPO, Browser, Netns, boot, run
from guestkit import (
    APPLE_SUCCESS,
    CAPTIVE_API,
    HOME_MARKER,
    PORTAL,
    allowed_macs,
    captive,
    captive_becomes,
    dhcp_lease,
    internet_host,
    login_form,
    new_guest_name,
    wait_active,
    wait_for_customer,
)
from porchlight_deploy.porchlight_txt import TEMPLATE

from porchlight.lab.guest_dhcp import option_114

pytestmark = [pytest.mark.root, pytest.mark.slow]

BASE = Path("/var/cache/porchlight/image-bookworm-amd64")
UPSTREAM_IP = "192.0.2.1"


@pytest.fixture(scope="session")
def image_root(nspawn_root, root_wheelhouse, tmp_path_factory) -> Path:
    """The image's root directory, built once (about a minute with a cached base)."""
    if not (BASE / "usr/lib/systemd/boot/efi/systemd-bootx64.efi").exists():
        reason = f"no image base root in {BASE}: run deploy/build-image --arch amd64 --base-only"
        if os.environ.get("PORCHLIGHT_REQUIRE_ALL") == "1":
            pytest.fail(reason, pytrace=False)
        pytest.skip(reason)
    work = tmp_path_factory.mktemp("image")
    started = time.monotonic()
    proc = run(
        [str(REPO / "deploy/build-image"), "--arch", "amd64", "--out", str(work / "router.img")]
        + ["--wheelhouse", str(root_wheelhouse), "--keep-root", str(work / "root")]
        + ["--admin-url", "http://127.0.0.1:8137"],
        timeout=900,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    print(f"image built in {time.monotonic() - started:.0f} s")
    (work / "router.img").unlink()  # the root directory is what the tests boot
    return work / "root"


@contextmanager
def upstream_dhcp(netns: Netns) -> Iterator[Netns]:
    """wan0 in the router namespace, its peer in a namespace whose dnsmasq answers DHCP."""
    ns = Netns("pl" + secrets.token_hex(3))
    run(["ip", "netns", "add", ns.name])
    server = None
    try:
        run(["ip", "-n", netns.name, "link", "add", "wan0", "type", "veth"]
            + ["peer", "name", "eth0", "netns", ns.name])  # fmt: skip
        for argv in (
            ["link", "set", "lo", "up"],
            ["addr", "add", f"{UPSTREAM_IP}/24", "dev", "eth0"],
            ["link", "set", "eth0", "up"],
        ):
            run(["ip", "-n", ns.name, *argv])
        run(["ip", "-n", netns.name, "link", "set", "wan0", "up"])
        server = subprocess.Popen(
            ["ip", "netns", "exec", ns.name, "dnsmasq", "--keep-in-foreground", "--port=0"]
            + ["--interface=eth0", "--bind-interfaces", "--dhcp-range=192.0.2.50,192.0.2.99,1h"]
            + ["--dhcp-leasefile=/dev/null", "--pid-file", "--conf-file=/dev/null"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        yield ns
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=20)
        run(["ip", "netns", "del", ns.name], check=False)


@pytest.fixture
def upstream(netns) -> Iterator[Netns]:
    with upstream_dhcp(netns) as ns:
        yield ns


def write_txt(folder: Path, text: str, bom: bool = True) -> Path:
    """porchlight.txt as Windows Notepad saves it: a UTF-8 BOM and CRLF."""
    path = folder / "porchlight.txt"
    data = text.replace("\n", "\r\n").encode()
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + data)
    return path


def wait_for_answer(path: Path, seconds: float = 180, after: str = "") -> str:
    """porchlight.txt once the router has written its status into it."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        text = path.read_bytes().decode("utf-8", "replace")
        if "status = " in text and text != after:
            return text
        time.sleep(1)
    raise AssertionError(f"no status in porchlight.txt after {seconds:.0f}s: {text}")


def gate_absent(inside) -> None:
    """Nothing of a gate: no device token, config or enabled units (install-router undid it)."""
    assert inside("test -e /var/lib/porchlight/agent/device-token").returncode != 0
    assert inside("test -e /etc/porchlight/agent.env").returncode != 0
    assert inside("systemctl is-enabled porchlight-agent").stdout.strip() != "enabled"
    assert inside("nft list table inet porchlight").returncode != 0


@contextmanager
def router_disk(root: Path, folder: Path) -> Iterator[Path]:
    """`root` under an overlay mount whose changes stay between boots (unlike
    --volatile's, gone at power-off): a router's disk across a reboot."""
    upper, work, merged = (folder / name for name in ("upper", "work", "merged"))
    for path in (upper, work, merged):
        path.mkdir(parents=True)
    options = f"lowerdir={root},upperdir={upper},workdir={work}"
    run(["mount", "-t", "overlay", "overlay", "-o", options, str(merged)])
    try:
        yield merged
    finally:
        if run(["umount", str(merged)], check=False).returncode != 0:
            run(["umount", "--lazy", str(merged)], check=False)


def power_cut(netns: Netns) -> None:
    """What a power-off clears on a real router and a container's leaves in its
    namespace: the ports' addresses and the gate's nftables table."""
    for port in ("lan0", "wan0"):
        run(["ip", "-n", netns.name, "addr", "flush", "dev", port])
    netns.exec(["nft", "delete", "table", "inet", "porchlight"], check=False)


def test_first_boot_from_porchlight_txt(image_root, netns, upstream, admin, tmp_path):
    """Enrolled from porchlight.txt with the code erased; then powered off and on
    again: first boot does not run a second time and the gate comes back."""
    url, new_code = admin
    code = new_code()
    fat = tmp_path / "fat"
    fat.mkdir()
    txt = write_txt(
        fat,
        f"# edited in Notepad\nadmin_url = {url}\nCode = {code}\nlan = lan0\nwan = wan0\n"
        "lan_address = 10.77.0.1/24\n",
    )
    with router_disk(image_root, tmp_path / "disk") as disk:
        identity = _enrolled_from_txt(disk, netns, txt, code, tmp_path)
        answer = txt.read_bytes()
        heard = _heard_from(tmp_path)
        power_cut(netns)
        log = tmp_path / "nspawn-second.log"
        started = time.monotonic()
        with boot(
            disk, netns, {}, log, binds_rw={"/boot/porchlight": fat}, volatile=False
        ) as inside:
            wait_active(inside, seconds=90)
            print(
                f"second boot to the units active under nspawn: {time.monotonic() - started:.0f} s"
            )
            firstboot = "systemctl show -p ConditionResult --value porchlight-firstboot"
            assert inside(firstboot).stdout.strip() == "no"  # device-token: not run again
            assert txt.read_bytes() == answer  # porchlight.txt left as the first boot wrote it
            assert _identity(inside) == identity
            assert inside("nft list table inet porchlight").returncode == 0
            assert "inet 10.77.0.1/24" in inside("ip -4 -o addr show dev lan0").stdout
            deadline = time.monotonic() + 60
            while "inet 192.0.2." not in inside("ip -4 -o addr show dev wan0").stdout:
                assert time.monotonic() < deadline, "wan0 got no lease at the second boot"
                time.sleep(1)
            # its agent, with the device token of the first boot, heard by the admin
            while (now := _heard_from(tmp_path)) == heard or not _since(now, started):
                assert time.monotonic() < deadline, f"no heartbeat after the reboot: {now}"
                time.sleep(1)
        assert "installing:" not in log.read_text()


def _since(heard: tuple, started: float) -> bool:
    """Whether that heartbeat came from an agent started after `started` (its uptime)."""
    return heard[1] is not None and heard[1] <= time.monotonic() - started


def _heard_from(tmp_path: Path) -> tuple:
    """(last_seen_at, uptime_seconds) of the enrolled router's last heartbeat."""
    engine = sa.create_engine(f"sqlite:///{tmp_path}/admin.db")
    try:
        with engine.connect() as conn:
            query = "SELECT last_seen_at, uptime_seconds FROM routers WHERE token_hash IS NOT NULL"
            return tuple(conn.execute(sa.text(query)).one())
    finally:
        engine.dispose()


def _identity(inside) -> tuple[str, str]:
    """(machine-id, device token): made at the first boot, kept ever after."""
    machine_id = inside("cat /etc/machine-id").stdout.strip()
    token = inside("cat /var/lib/porchlight/agent/device-token").stdout.strip()
    return machine_id, token


def _enrolled_from_txt(disk: Path, netns, txt: Path, code: str, tmp_path: Path) -> tuple[str, str]:
    """The first boot of `disk` from porchlight.txt, to the gate ready; its identity."""
    log = tmp_path / "nspawn.log"
    fat = txt.parent
    started = time.monotonic()
    with boot(disk, netns, {}, log, binds_rw={"/boot/porchlight": fat}, volatile=False) as inside:
        text = wait_for_answer(txt)
        ready = time.monotonic() - started
        print(f"first boot to gate ready under nspawn: {ready:.0f} s")
        assert "status = enrolled" in text, text
        assert code not in text and "code =\r\n" in text
        assert "gate ready at Lab Café" in text
        assert "# edited in Notepad" in text  # the installer's own lines are kept
        assert inside("test -s /var/lib/porchlight/agent/device-token").returncode == 0
        states = inside("systemctl is-active porchlight-agent porchlight-portal porchlight-dnsmasq")
        assert states.stdout.split() == ["active"] * 3, states.stdout
        assert "inet 192.0.2." in inside("ip -4 -o addr show dev wan0").stdout
        agent_env = inside("cat /etc/porchlight/agent.env").stdout
        assert "PORCHLIGHT_LAN=lan0" in agent_env and "--wan wan0" in agent_env
        # a unique identity made at this boot, not baked in
        machine_id = inside("cat /etc/machine-id").stdout.strip()
        assert len(machine_id) == 32 and machine_id != "uninitialized"
        assert inside("systemctl is-enabled ssh").stdout.strip() != "enabled"
        identity = _identity(inside)
        assert identity[1]
    assert "porchlight-agent ready" in log.read_text()
    return identity


def test_first_boot_bad_inputs(image_root, netns, admin, tmp_path):
    """Each bad porchlight.txt or setup gets its message and no gate; one boot,
    porchlight-firstboot restarted for each case."""
    url, new_code = admin
    fat = tmp_path / "fat"
    fat.mkdir()
    # one port only: lan0's peer goes to a namespace of its own, there is no wan0
    other = Netns("pl" + secrets.token_hex(3))
    run(["ip", "netns", "add", other.name])
    try:
        run(["ip", "-n", netns.name, "link", "set", "lan0p", "netns", other.name])
        txt = write_txt(fat, f"admin_url = {url}\ncode = {new_code()}\n")
        log = tmp_path / "nspawn.log"
        with boot(image_root, netns, {}, log, binds_rw={"/boot/porchlight": fat}) as inside:
            text = wait_for_answer(txt)
            assert "status = problem" in text and "only one network port found (lan0)" in text
            gate_absent(inside)

            def again(content: bytes) -> str:
                txt.write_bytes(content)
                proc = inside("systemctl restart porchlight-firstboot")
                assert proc.returncode == 0, proc.stderr
                return wait_for_answer(txt, after=content.decode("utf-8", "replace"))

            text = again(b"\xef\xbb\xbf\x00\x01\xfe garbage \xff\r\n")
            assert "porchlight.txt is not text" in text, text
            text = again(b"\xef\xbb\xbfadmin_url = https://a.example\r\nwifi password = x\r\n")
            assert "line 2: unknown setting 'wifi_password'" in text, text
            # two ports from here on: lan0 and wan0, where DHCP answers
            with upstream_dhcp(netns):
                base = "lan = lan0\r\nwan = wan0\r\nlan_address = 10.77.0.1/24\r\n"
                text = again(f"admin_url = {url}\r\ncode = AAAA-BBBB-CCCC\r\n{base}".encode())
                # the admin says the same of a wrong and a used code (no oracle for guessing)
                refused = "code is not valid, already used, or expired"
                assert "enrollment failed" in text and refused in text, text
                assert "AAAA-BBBB-CCCC" in text  # kept to be corrected, never used
                gate_absent(inside)
                used = new_code()
                exe = str(REPO / ".venv/bin/porchlight")
                state = tmp_path / "other-router"
                netns.exec(
                    [exe, "agent", "enroll", url, used, "--state-dir", str(state)], check=True
                )
                text = again(f"admin_url = {url}\r\ncode = {used}\r\n{base}".encode())
                assert "enrollment failed" in text and refused in text, text
                gate_absent(inside)
                dead = "http://127.0.0.1:9"
                text = again(f"admin_url = {dead}\r\ncode = {new_code()}\r\n{base}".encode())
                assert f"cannot reach the admin at {dead}" in text, text
                gate_absent(inside)
        console = log.read_text()
        assert "porchlight: problem: only one network port found" in console
    finally:
        run(["ip", "netns", "del", other.name], check=False)


def _admin_cli(tmp_path: Path, *args: str) -> str:
    """`porchlight admin ...` against the `admin` fixture's database (same tmp_path)."""
    env = dict(
        os.environ,
        PORCHLIGHT_ADMIN_DATABASE_URL=f"sqlite:///{tmp_path}/admin.db",
        PORCHLIGHT_ADMIN_SECRET_KEY="deploy-tests-secret-key-0123456789",
        PORCHLIGHT_ADMIN_DATA_DIR=str(tmp_path / "admin-data"),
    )
    exe = str(REPO / ".venv/bin/porchlight")
    done = subprocess.run([exe, "admin", *args], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return done.stdout


def _chromium_in(netns: Netns, folder: Path) -> Path:
    """Debian's chromium started inside `netns`, where the admin listens on loopback."""
    wrapper = folder / "chromium-in-netns"
    chromium = shutil.which("chromium") or "chromium"
    wrapper.write_text(f'#!/bin/sh\nexec ip netns exec {netns.name} {chromium} "$@"\n')
    wrapper.chmod(0o755)
    return wrapper


def _adopt_in_browser(netns: Netns, login: dict[str, str], folder: Path) -> None:
    """A manager signs in, opens Lab Café's Routers page and clicks Adopt once."""
    from playwright.sync_api import sync_playwright

    admin = "http://127.0.0.1:8137"
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(
            executable_path=str(_chromium_in(netns, folder)), headless=True, args=["--no-sandbox"]
        )
        try:
            tab = chromium.new_context(locale="en-US").new_page()
            tab.set_default_timeout(15_000)
            tab.goto(f"{admin}/login")
            tab.fill("input[name=email]", login["email"])
            tab.fill("input[name=password]", login["password"])
            tab.click("button[type=submit]")
            tab.wait_for_url(re.compile(r"^(?!.*login).*$"))
            tab.goto(f"{admin}/locations")
            tab.click("text=Lab Café")
            tab.click("a[href$='/routers']")
            row = tab.locator("[data-adoption] tr[data-announcement]")
            assert row.count() == 1, tab.content()[-2000:]
            tab.screenshot(path=str(folder / "routers-waiting.png"), full_page=True)
            # the demo owner reads the admin in Vietnamese: "Nhận vào Lab Café" (Adopt into)
            row.locator("button[type=submit]", has_text="Lab Café").click()
            tab.wait_for_selector("text=Đã nhận router")  # "Router adopted: ..."
            assert tab.locator("[data-adoption]").count() == 0
            tab.screenshot(path=str(folder / "routers-adopted.png"), full_page=True)
        finally:
            chromium.close()


def test_adopted_from_the_routers_page(
    image_root, netns, guest, upstream, admin, admin_login, tmp_path
):
    """No code: the router finds its WAN by DHCP and its LAN by the cable in it
    (of the two ports left), announces itself, waits; one click on the Routers
    page and it enrolls by itself and pulls its config.
    Then it is a gate: a lab guest on its LAN gets a lease, its probe lands on
    the portal, it logs in, the probe passes (NAT out of the WAN the router
    found) and the visit reaches the admin through sync."""
    key = _admin_cli(tmp_path, "adoption-key", "--tenant", "demo", "--json")
    baked = tmp_path / "image.json"
    baked.write_text(
        json.dumps({"arch": "amd64", "admin_url": "http://127.0.0.1:8137",
                    "adoption_key": json.loads(key)["adoption_key"], "version": "0.1.0"})
    )  # fmt: skip
    fat = tmp_path / "fat"
    fat.mkdir()
    # as the image ships it, but for the LAN address (lan0's in this namespace)
    template = TEMPLATE.format(admin_url="").replace("10.42.0.1/24", "10.77.0.1/24")
    txt = write_txt(fat, template, bom=False)
    # a third port with no cable (its peer left down), first by name: the LAN is
    # still lan0, the port the "access point" (the guest's namespace) is plugged into
    run(["ip", "-n", netns.name, "link", "add", "eth9", "type", "veth"]
        + ["peer", "name", "eth9p", "netns", upstream.name])  # fmt: skip
    log = tmp_path / "nspawn.log"
    binds = {"/etc/porchlight/image.json": baked}
    with boot(image_root, netns, binds, log, binds_rw={"/boot/porchlight": fat}) as inside:
        text = wait_for_answer(txt)
        assert "status = waiting for adoption" in text, text
        assert "adopt it on the admin's Routers page" in text
        assert inside("test -e /var/lib/porchlight/agent/device-token").returncode != 0
        # the WAN is where DHCP answered: wan0 (lan0's peer lan0p answers nothing)
        assert "inet 192.0.2." in inside("ip -4 -o addr show dev wan0").stdout
        assert "porchlight: LAN port: lan0 (a cable in it)" in log.read_text()
        _adopt_in_browser(netns, admin_login, tmp_path)
        clicked = time.monotonic()
        text = wait_for_answer(txt, seconds=120, after=txt.read_bytes().decode())
        print(f"adopt click to gate ready under nspawn: {time.monotonic() - clicked:.0f} s")
        assert "status = enrolled" in text and "gate ready at Lab Café" in text, text
        states = inside("systemctl is-active porchlight-agent porchlight-portal porchlight-dnsmasq")
        assert states.stdout.split() == ["active"] * 3, states.stdout
        agent_env = inside("cat /etc/porchlight/agent.env").stdout
        assert "PORCHLIGHT_LAN=lan0" in agent_env and "--wan wan0" in agent_env
        # the agent pulled its location's config and reported it (heartbeat)
        engine = sa.create_engine(f"sqlite:///{tmp_path}/admin.db")
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            with engine.connect() as conn:
                etag = conn.execute(
                    sa.text("SELECT config_etag FROM routers WHERE name LIKE 'Router %'")
                ).scalar()
            if etag:
                break
            time.sleep(2)
        engine.dispose()
        assert etag, "the adopted router never reported a config"
        with internet_host(upstream, UPSTREAM_IP):
            started = time.monotonic()
            _guest_logs_in(inside, guest, admin_login, netns, tmp_path)
            print(f"guest lease to visit on the admin: {time.monotonic() - started:.0f} s")
    assert "porchlight-agent ready" in log.read_text()


def _guest_logs_in(inside, guest: tuple[Netns, str], login, netns: Netns, folder: Path) -> None:
    """A phone on the adopted router's LAN, from DHCP to its visit on the admin."""
    guest_ns, mac = guest
    wait_active(inside)
    lease = dhcp_lease(guest_ns, folder)
    assert lease.get("ip", "").startswith("10.77.0.") and lease.get("router") == "10.77.0.1"
    assert option_114(lease) == CAPTIVE_API
    phone = Browser(guest_ns.name, folder / "guest-cookies.txt")
    probe = f"http://{UPSTREAM_IP}/hotspot-detect.html"
    status, location, body = phone.http(probe)  # captured: the phone opens its login sheet
    assert status == 302 and location.startswith(PORTAL), (status, location)
    assert body != APPLE_SUCCESS and captive(phone) is True
    portal_url, page = phone.follow(probe)
    name = new_guest_name()
    login_form(phone, portal_url, page, name)
    assert mac in allowed_macs(inside)
    assert phone.http(probe) == (200, "", APPLE_SUCCESS)  # passes: the login sheet closes
    assert HOME_MARKER in phone.http(f"http://{UPSTREAM_IP}/")[2]
    assert captive_becomes(phone, False)
    wait_for_customer(netns, login, name, folder, seconds=90)
