"""The real agent in throwaway namespaces: router, guest phone, internet host.

guest (plg…) ──veth── router (plr…, runs `porchlight agent run`) ──veth── internet (pli…)
The router masquerades to the internet (--wan), a stand-in portal answers on
the router's :8080, the internet host answers on :80. Everything is removed
after, even when a test fails.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from porchlight.agent_client import AgentClient

pytestmark = pytest.mark.root

LAN_IP, GUEST_IP, WAN_IP, NET_IP = "10.66.0.1", "10.66.0.2", "10.67.0.1", "10.67.0.2"
GUEST6, ROUTER6, ROUTER6_WAN, NET6 = "fd66::2", "fd66::1", "fd67::1", "fd67::2"
PUBLIC_IP, PUBLIC6 = "198.51.100.77", "2001:db8:77::2"  # public-looking, for the walled garden
PORCHLIGHT = str(Path(sys.executable).with_name("porchlight"))


def sh(ns: str | None, *argv: str, check: bool = True, timeout: float = 15) -> str:
    cmd = (["ip", "netns", "exec", ns] if ns else []) + list(argv)
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    if check and done.returncode != 0:
        raise AssertionError(f"{cmd} failed: {done.stderr}")
    return done.stdout


class Lab:
    def __init__(self, tmp: Path) -> None:
        tag = secrets.token_hex(3)
        self.router, self.guest, self.net = f"plr{tag}", f"plg{tag}", f"pli{tag}"
        self.lan, self.wan = f"pll{tag}", f"plw{tag}"
        self.tmp = tmp
        self.procs: list[subprocess.Popen] = []
        self.agent: subprocess.Popen | None = None
        self.socket = str(tmp / "agent.sock")
        self.state = tmp / "state"

    def up(self) -> None:
        for ns in (self.router, self.guest, self.net):
            sh(None, "ip", "netns", "add", ns)
            sh(ns, "ip", "link", "set", "lo", "up")
        sh(
            None,
            "ip",
            "link",
            "add",
            self.lan,
            "netns",
            self.router,
            "type",
            "veth",
            "peer",
            "name",
            "eth0",
            "netns",
            self.guest,
        )
        sh(
            None,
            "ip",
            "link",
            "add",
            self.wan,
            "netns",
            self.router,
            "type",
            "veth",
            "peer",
            "name",
            "eth0",
            "netns",
            self.net,
        )
        for ns, dev, addrs in (
            (self.router, self.lan, [f"{LAN_IP}/24", f"{ROUTER6}/64"]),
            (self.router, self.wan, [f"{WAN_IP}/24", f"{ROUTER6_WAN}/64"]),
            (self.guest, "eth0", [f"{GUEST_IP}/24", f"{GUEST6}/64"]),
            (self.net, "eth0", [f"{NET_IP}/24", f"{NET6}/64"]),
        ):
            for addr in addrs:
                sh(ns, "ip", "addr", "add", addr, "dev", dev, *(["nodad"] if ":" in addr else []))
            sh(ns, "ip", "link", "set", dev, "up")
        sh(self.guest, "ip", "route", "add", "default", "via", LAN_IP)
        sh(self.guest, "ip", "-6", "route", "add", "default", "via", ROUTER6)
        sh(self.net, "ip", "-6", "route", "add", "default", "via", ROUTER6_WAN)
        sh(self.router, "sysctl", "-qw", "net.ipv4.ip_forward=1")
        sh(self.router, "sysctl", "-qw", "net.ipv6.conf.all.forwarding=1")
        self._serve(self.net, 80, "internet", "::")
        self._serve(self.router, 8080, "portal", "0.0.0.0")

    def _serve(self, ns: str, port: int, text: str, bind: str) -> None:
        root = self.tmp / f"www-{text}"
        root.mkdir()
        (root / "index.html").write_text(text)
        self.procs.append(
            subprocess.Popen(
                [
                    "ip",
                    "netns",
                    "exec",
                    ns,
                    sys.executable,
                    "-m",
                    "http.server",
                    str(port),
                    "--bind",
                    bind,
                    "--directory",
                    str(root),
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        )

    def start_agent(self) -> None:
        if Path(self.socket).exists():
            Path(self.socket).unlink()
        with open(self.tmp / "agent.log", "a") as log:
            self.agent = subprocess.Popen(
                [
                    "ip",
                    "netns",
                    "exec",
                    self.router,
                    PORCHLIGHT,
                    "agent",
                    "run",
                    "--lan",
                    self.lan,
                    "--state-dir",
                    str(self.state),
                    "--socket",
                    self.socket,
                    "--portal-port",
                    "8080",
                    "--wan",
                    self.wan,
                    "--reconcile-seconds",
                    "1",
                ],
                stdout=log,
                stderr=log,
            )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.agent.poll() is not None:
                raise AssertionError((self.tmp / "agent.log").read_text())
            try:
                AgentClient(self.socket).call("status")
                return
            except Exception:  # noqa: BLE001
                time.sleep(0.1)
        raise AssertionError("agent did not start: " + (self.tmp / "agent.log").read_text())

    def kill_agent(self, sig: int = signal.SIGKILL) -> None:
        if self.agent and self.agent.poll() is None:
            self.agent.send_signal(sig)
            self.agent.wait(timeout=10)

    def fetch(self, url: str, *, six: bool = False) -> str:
        done = subprocess.run(
            [
                "ip",
                "netns",
                "exec",
                self.guest,
                "curl",
                "-s",
                "-m",
                "3",
                "-6" if six else "-4",
                url,
            ],
            capture_output=True,
            text=True,
            timeout=10,
        )
        return done.stdout.strip() if done.returncode == 0 else f"curl-exit-{done.returncode}"

    def allowed(self) -> str:
        return sh(self.router, "nft", "list", "set", "inet", "porchlight", "allowed")

    def guest_mac(self) -> str:
        return json.loads(sh(self.guest, "ip", "-j", "link", "show", "eth0"))[0]["address"]

    def down(self) -> None:
        self.kill_agent(signal.SIGTERM)
        for proc in self.procs:
            proc.kill()
            proc.wait(timeout=5)
        for ns in (self.router, self.guest, self.net):
            subprocess.run(["ip", "netns", "del", ns], capture_output=True, timeout=15)


@pytest.fixture
def lab(tmp_path):
    if shutil.which("curl") is None or shutil.which("conntrack") is None:
        pytest.skip("needs curl and conntrack")
    lab = Lab(tmp_path)
    try:
        lab.up()
        lab.start_agent()
        yield lab
    finally:
        lab.down()


def authorize(lab: Lab) -> dict:
    assert lab.fetch(f"http://{NET_IP}/") == "portal"  # as a phone does before it logs in
    client = AgentClient(lab.socket)
    mac = client.call("client_for_ip", ip=GUEST_IP)["client"]["mac"]
    return client.call(
        "authorize",
        mac=mac,
        ip=GUEST_IP,
        login={"channel": "form", "name": "Test Guest", "phone": "+84912345678"},
    )


def wait_for(predicate, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return predicate()


def test_guest_redirected_then_online_then_back_to_portal(lab):
    url = f"http://{NET_IP}/"
    assert lab.fetch(url) == "portal"
    assert lab.fetch(f"http://[{NET6}]/", six=True).startswith("curl-exit")  # no IPv6 bypass
    started = time.monotonic()
    assert lab.fetch(f"https://{NET_IP}/").startswith("curl-exit-7")  # TCP reset, not a hang
    assert time.monotonic() - started < 2.9  # exit 7 = refused; a drop would be exit 28 after 3 s
    mac = lab.guest_mac()
    client = AgentClient(lab.socket).call("client_for_ip", ip=GUEST_IP)["client"]
    assert (client["mac"], client["state"]) == (mac, "pending")

    authorize(lab)
    assert mac in lab.allowed()
    assert lab.fetch(url) == "internet"
    assert lab.fetch(f"http://[{NET6}]/", six=True) == "internet"

    def counted() -> bool:
        row = next(c for c in AgentClient(lab.socket).call("status")["clients"] if c["mac"] == mac)
        return row["bytes_out"] > 0 and row["bytes_in"] > 0 and row["idle_seconds"] < 5

    assert wait_for(counted, 8)  # kernel counters reach the store within a reconcile or two
    assert GUEST_IP in sh(lab.router, "conntrack", "-L", "-s", GUEST_IP, check=False)

    assert AgentClient(lab.socket).call("deauthorize", mac=mac, reason="test")["ended"] is True
    assert mac not in lab.allowed()
    entries = sh(lab.router, "conntrack", "-L", "-s", GUEST_IP, check=False)
    assert GUEST_IP not in entries
    assert lab.fetch(url) == "portal"


def test_kill_9_and_hand_flush_recover_without_losing_or_duplicating_sessions(lab):
    authorize(lab)
    mac = lab.guest_mac()
    assert lab.fetch(f"http://{NET_IP}/") == "internet"

    lab.kill_agent(signal.SIGKILL)
    assert lab.fetch(f"http://{NET_IP}/") == "internet"  # the kernel keeps guests online
    sh(lab.router, "nft", "flush", "table", "inet", "porchlight")
    sh(lab.router, "nft", "delete", "element", "inet", "porchlight", "allowed", f"{{ {mac} }}")
    lab.start_agent()
    assert mac in lab.allowed()
    assert lab.fetch(f"http://{NET_IP}/") == "internet"

    # a hand flush while the agent runs is repaired within one reconcile period (1 s)
    sh(lab.router, "nft", "flush", "table", "inet", "porchlight")
    assert wait_for(
        lambda: "redirect" in sh(lab.router, "nft", "list", "table", "inet", "porchlight"),
        timeout=5,  # one reconcile period is 1 s; slack for a loaded machine
    )
    assert mac in lab.allowed()
    lab.kill_agent(signal.SIGTERM)

    from porchlight.agent.store import open_db

    db = open_db(lab.state / "agent.db")
    try:
        sessions = list(db.query("SELECT * FROM sessions"))
        types = [json.loads(r["body"])["type"] for r in db.query("SELECT body FROM outbox")]
    finally:
        db.close()
    assert len(sessions) == 1 and sessions[0]["ended_at"] is None
    assert types == ["login", "session_start"]


def test_agent_sees_new_guest_at_once_via_netlink(lab):
    lab.fetch(f"http://{LAN_IP}:8080/")
    client = AgentClient(lab.socket)
    assert wait_for(
        lambda: any(c["mac"] == lab.guest_mac() for c in client.call("status")["clients"]), 4
    )
    assert os.stat(lab.socket).st_mode & 0o777 == 0o660


def test_dhcp_sniffer_records_hostname_and_vendor_class(lab):
    if shutil.which("busybox") is None:
        pytest.skip("needs busybox (udhcpc)")
    subprocess.run(
        [
            "ip",
            "netns",
            "exec",
            lab.guest,
            "busybox",
            "udhcpc",
            "-i",
            "eth0",
            "-n",
            "-q",
            "-t",
            "2",
            "-T",
            "1",
            "-x",
            "hostname:lan-phone",
            "-V",
            "android-dhcp-14",
            "-s",
            "/bin/true",
        ],
        capture_output=True,
        timeout=20,
    )
    client = AgentClient(lab.socket)
    mac = lab.guest_mac()

    def named() -> bool:
        rows = client.call("status")["clients"]
        return any((c["mac"], c["hostname"]) == (mac, "lan-phone") for c in rows)

    assert wait_for(named, 6)


def test_walled_garden_cidr_from_the_stored_config_passes_before_login(lab):
    from porchlight.agent.config import DEFAULT_CONFIG
    from porchlight.agent.store import kv_set, open_db

    # the walled garden takes public addresses only: give the internet host one of each
    sh(lab.net, "ip", "addr", "add", f"{PUBLIC_IP}/32", "dev", "eth0")
    sh(lab.net, "ip", "addr", "add", f"{PUBLIC6}/128", "dev", "eth0", "nodad")
    sh(lab.router, "ip", "route", "add", PUBLIC_IP, "via", NET_IP)
    sh(lab.router, "ip", "-6", "route", "add", PUBLIC6, "via", NET6)
    assert lab.fetch(f"http://{PUBLIC_IP}/") == "portal"
    config = json.loads(json.dumps(DEFAULT_CONFIG))
    config["walled_garden"]["cidrs"] = [f"{PUBLIC_IP}/32", f"{PUBLIC6}/128"]
    config["session"]["bandwidth_kbps"] = 8000
    db = open_db(lab.state / "agent.db")
    try:
        with db.atomic():
            kv_set(db, "applied_config", json.dumps(config))
    finally:
        db.close()
    AgentClient(lab.socket).call("reload")
    assert lab.fetch(f"http://{PUBLIC_IP}/") == "internet"
    assert lab.fetch(f"http://[{PUBLIC6}]/", six=True) == "internet"
    assert lab.fetch(f"http://{NET_IP}/") == "portal"  # only what the garden names
    assert "bw_up" in sh(lab.router, "nft", "list", "table", "inet", "porchlight")
    assert AgentClient(lab.socket).call("client_for_ip", ip=GUEST_IP)["client"]["state"] == (
        "pending"
    )


def test_walled_garden_domain_via_dnsmasq_nftset(lab):
    """The agent's snippet, read by a real dnsmasq: resolving the domain opens its address."""
    from scapy.layers.dns import DNS, DNSQR

    from porchlight.agent.config import dnsmasq_snippet

    conf = lab.tmp / "walled.conf"
    conf.write_text(dnsmasq_snippet(["walled.test"]))
    common = [
        "dnsmasq",
        "-k",
        "--no-resolv",
        "--no-hosts",
        "--bind-interfaces",
        "--pid-file=",
        "--user=root",
        "--port=53",
    ]
    for ns, args in (
        (lab.net, [f"--listen-address={NET_IP}", f"--address=/walled.test/{NET_IP}"]),
        (lab.router, [f"--listen-address={LAN_IP}", f"--server={NET_IP}", f"--conf-file={conf}"]),
    ):
        lab.procs.append(
            subprocess.Popen(
                ["ip", "netns", "exec", ns, *common, *args],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        )
    assert lab.fetch(f"http://{NET_IP}/") == "portal"
    query = bytes(DNS(rd=1, qd=DNSQR(qname="walled.test")))
    ask = (
        "import socket; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(3); "
        f"s.sendto({query!r}, ('{LAN_IP}', 53)); s.recv(512)"
    )
    assert wait_for(
        lambda: (
            subprocess.run(
                ["ip", "netns", "exec", lab.guest, sys.executable, "-c", ask],
                capture_output=True,
                timeout=10,
            ).returncode
            == 0
        ),
        5,
    )
    assert NET_IP in sh(lab.router, "nft", "list", "set", "inet", "porchlight", "walled4")
    assert lab.fetch(f"http://{NET_IP}/") == "internet"
    assert AgentClient(lab.socket).call("client_for_ip", ip=GUEST_IP)["client"]["state"] == (
        "pending"
    )


def test_bandwidth_limit_caps_a_guest_download(lab):
    from porchlight.agent.config import DEFAULT_CONFIG
    from porchlight.agent.store import kv_set, open_db

    (lab.tmp / "www-internet" / "big.bin").write_bytes(os.urandom(2_000_000))
    authorize(lab)
    url = f"http://{NET_IP}/big.bin"

    def download_seconds() -> float:
        done = subprocess.run(
            [
                "ip",
                "netns",
                "exec",
                lab.guest,
                "curl",
                "-s",
                "-o",
                "/dev/null",
                "-m",
                "30",
                "-w",
                "%{size_download} %{time_total}",
                url,
            ],
            capture_output=True,
            text=True,
            timeout=40,
        )
        size, seconds = done.stdout.split()
        assert int(size) == 2_000_000
        return float(seconds)

    unlimited = download_seconds()
    config = json.loads(json.dumps(DEFAULT_CONFIG))
    config["session"]["bandwidth_kbps"] = 4000  # 500 KB/s: 2 MB takes about 4 s
    db = open_db(lab.state / "agent.db")
    try:
        with db.atomic():
            kv_set(db, "applied_config", json.dumps(config))
    finally:
        db.close()
    AgentClient(lab.socket).call("reload")
    limited = download_seconds()
    assert limited > 2.0, (unlimited, limited)  # ~3 s: 1 s of burst, then 500 KB/s
    assert limited > 3 * unlimited


def test_idle_guest_is_sent_back_to_the_portal(lab):
    from porchlight.agent.config import DEFAULT_CONFIG
    from porchlight.agent.store import kv_set, open_db

    config = json.loads(json.dumps(DEFAULT_CONFIG))
    config["session"]["idle_seconds"] = 2
    db = open_db(lab.state / "agent.db")
    try:
        with db.atomic():
            kv_set(db, "applied_config", json.dumps(config))
    finally:
        db.close()
    AgentClient(lab.socket).call("reload")
    authorize(lab)
    assert lab.fetch(f"http://{NET_IP}/") == "internet"
    client = AgentClient(lab.socket)
    assert wait_for(
        lambda: client.call("client_for_ip", ip=GUEST_IP)["client"]["state"] == "pending", 8
    )
    assert lab.fetch(f"http://{NET_IP}/") == "portal"
    db = open_db(lab.state / "agent.db")
    try:
        last = json.loads(db.execute("SELECT body FROM outbox ORDER BY id DESC").fetchone()[0])
    finally:
        db.close()
    assert (last["type"], last["data"]["reason"]) == ("session_end", "idle")


# ---- the gate on both nftables backends: libnftables in-process, and the `nft` binary ----
BOTH_BACKENDS = {
    "test_guest_redirected_then_online_then_back_to_portal",
    "test_kill_9_and_hand_flush_recover_without_losing_or_duplicating_sessions",
    "test_walled_garden_cidr_from_the_stored_config_passes_before_login",
    "test_idle_guest_is_sent_back_to_the_portal",
}


def pytest_generate_tests(metafunc):
    if metafunc.function.__name__ in BOTH_BACKENDS:
        metafunc.parametrize("nft_backend", ["lib", "cli"], indirect=True)


@pytest.fixture(autouse=True)
def nft_backend(request, monkeypatch, tmp_path):
    """The agent's nftables backend (set before `lab` starts it), checked in its log after."""
    backend = getattr(request, "param", None)
    if backend is not None:
        monkeypatch.setenv("PORCHLIGHT_NFT_BACKEND", backend)
    yield backend
    if backend is not None:
        said = "libnftables in-process" if backend == "lib" else "the nft binary"
        assert f"nftables: {said}" in (tmp_path / "agent.log").read_text()
