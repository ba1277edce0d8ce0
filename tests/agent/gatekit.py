"""A venue LAN in throwaway namespaces for the gate-integrity tests (root).

guest1..N ──veth── router: bridge LAN 10.68.0.1/24, `porchlight agent run`, dnsmasq (DNS)
                      │ masquerade
                      └──veth── internet 10.69.0.2 + 198.51.100.10/.20 (HTTP :80, dnsmasq DNS)

Guests have fixed addresses (10.68.0.11, .12, ...), as a DHCP lease gives them.
The router's dnsmasq forwards to the internet's, which answers `internet.test`,
`captive.apple.com` and `accounts.google.com` and says NXDOMAIN under
`tunnel.test`; the internet namespace counts the DNS bytes that reach it
(`table inet measure`, its own namespace). Everything is removed after.
"""

from __future__ import annotations

import json
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from porchlight.agent_client import AgentClient

LAN_IP, WAN_IP, NET_IP = "10.68.0.1", "10.69.0.1", "10.69.0.2"
WEB_IP, GOOGLE_IP = "198.51.100.10", "198.51.100.20"  # the internet host's public addresses
PORCHLIGHT = str(Path(sys.executable).with_name("porchlight"))
# the names iOS, Android, Windows and Firefox look up to detect a captive portal
DETECTION_HOSTS = (
    "captive.apple.com",
    "www.apple.com",
    "connectivitycheck.gstatic.com",
    "clients3.google.com",
    "www.msftconnecttest.com",
    "www.msftncsi.com",
    "detectportal.firefox.com",
)


def sh(ns: str | None, *argv: str, check: bool = True, timeout: float = 15) -> str:
    cmd = (["ip", "netns", "exec", ns] if ns else []) + list(argv)
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    if check and done.returncode != 0:
        raise AssertionError(f"{cmd} failed: {done.stderr}")
    return done.stdout


def wait_for(predicate: Any, timeout: float = 5.0, step: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step)
    return bool(predicate())


class Venue:
    def __init__(self, tmp: Path, guests: int = 2) -> None:
        tag = secrets.token_hex(3)
        self.tag = tag
        self.router, self.net = f"pgr{tag}", f"pgi{tag}"
        self.guests = [f"pgg{tag}{i}" for i in range(1, guests + 1)]
        self.bridge, self.wan = f"pgb{tag}", f"pgw{tag}"
        self.tmp = tmp
        self.procs: list[subprocess.Popen[bytes]] = []
        self.agent: subprocess.Popen[bytes] | None = None
        self.dnsmasq: subprocess.Popen[bytes] | None = None
        self.socket = str(tmp / "agent.sock")
        self.state = tmp / "state"
        self.snippet = tmp / "walled.conf"

    # ---- building ------------------------------------------------------------------
    def up(self) -> None:
        for ns in (self.router, self.net, *self.guests):
            sh(None, "ip", "netns", "add", ns)
            sh(ns, "ip", "link", "set", "lo", "up")
        sh(self.router, "ip", "link", "add", self.bridge, "type", "bridge")
        sh(self.router, "ip", "addr", "add", f"{LAN_IP}/24", "dev", self.bridge)
        sh(self.router, "ip", "link", "set", self.bridge, "up")
        for index, ns in enumerate(self.guests, start=1):
            port = f"pgp{self.tag}{index}"
            sh(None, "ip", "link", "add", port, "netns", self.router, "type", "veth",
               "peer", "name", "eth0", "netns", ns)  # fmt: skip
            sh(self.router, "ip", "link", "set", port, "master", self.bridge, "up")
            sh(ns, "ip", "link", "set", "eth0", "address", f"02:68:00:00:00:{index:02x}")
            sh(ns, "ip", "addr", "add", f"{self.ip(index)}/24", "dev", "eth0")
            sh(ns, "ip", "link", "set", "eth0", "up")
            sh(ns, "ip", "route", "add", "default", "via", LAN_IP)
        sh(None, "ip", "link", "add", self.wan, "netns", self.router, "type", "veth",
           "peer", "name", "eth0", "netns", self.net)  # fmt: skip
        sh(self.router, "ip", "addr", "add", f"{WAN_IP}/24", "dev", self.wan)
        sh(self.router, "ip", "link", "set", self.wan, "up")
        for addr in (f"{NET_IP}/24", f"{WEB_IP}/32", f"{GOOGLE_IP}/32"):
            sh(self.net, "ip", "addr", "add", addr, "dev", "eth0")
        sh(self.net, "ip", "link", "set", "eth0", "up")
        sh(self.net, "ip", "route", "add", "default", "via", WAN_IP)
        for ip in (WEB_IP, GOOGLE_IP):
            sh(self.router, "ip", "route", "add", ip, "via", NET_IP)
        sh(self.router, "sysctl", "-qw", "net.ipv4.ip_forward=1")
        self._internet()
        self.snippet.write_text("")

    def ip(self, index: int) -> str:
        return f"10.68.0.{10 + index}"

    def _spawn(self, ns: str, *argv: str) -> subprocess.Popen[bytes]:
        proc = subprocess.Popen(
            ["ip", "netns", "exec", ns, *argv],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self.procs.append(proc)
        return proc

    def _internet(self) -> None:
        root = self.tmp / "www"
        root.mkdir()
        (root / "index.html").write_text("internet")
        self._spawn(self.net, sys.executable, "-m", "http.server", "80", "--directory", str(root))
        self._spawn(
            self.net,
            *_DNSMASQ,
            f"--listen-address={NET_IP}",
            f"--address=/internet.test/{WEB_IP}",
            f"--address=/captive.apple.com/{WEB_IP}",
            *(f"--address=/{host}/{WEB_IP}" for host in DETECTION_HOSTS),
            f"--address=/accounts.google.com/{GOOGLE_IP}",
            "--address=/tunnel.test/",
        )
        measure = (
            "table inet measure {\n"
            " chain input { type filter hook input priority filter; policy accept;\n"
            "  udp dport 53 counter name dns_up\n"
            " }\n"
            " counter dns_up {}\n"
            "}\n"
        )
        subprocess.run(
            ["ip", "netns", "exec", self.net, "nft", "-f", "-"],
            input=measure,
            text=True,
            check=True,
            timeout=10,
        )
        assert wait_for(lambda: "internet" in self.fetch_from(self.router, f"http://{WEB_IP}/"), 10)

    def apply(self, config: dict[str, Any]) -> None:
        """Store `config` as the applied location config, reload the agent, restart DNS."""
        from porchlight.agent.store import kv_set, open_db

        db = open_db(self.state / "agent.db")
        try:
            with db.atomic():
                kv_set(db, "applied_config", json.dumps(config))
        finally:
            db.close()
        AgentClient(self.socket).call("reload")
        self.start_dns()

    def start_agent(self, reconcile_seconds: float = 1) -> None:
        with open(self.tmp / "agent.log", "a") as log:
            self.agent = subprocess.Popen(
                ["ip", "netns", "exec", self.router, PORCHLIGHT, "agent", "run",
                 "--lan", self.bridge, "--state-dir", str(self.state), "--socket", self.socket,
                 "--portal-port", "8080", "--wan", self.wan,
                 "--reconcile-seconds", str(reconcile_seconds),
                 "--dnsmasq-conf", str(self.snippet)],
                stdout=log,
                stderr=log,
            )  # fmt: skip
        if not wait_for(self._answers, 20, 0.1):
            raise AssertionError("agent did not start: " + self.agent_log())
        self._portal()
        self.start_dns()

    def _answers(self) -> bool:
        assert self.agent is not None
        if self.agent.poll() is not None:
            raise AssertionError(self.agent_log())
        try:
            AgentClient(self.socket).call("status")
            return True
        except Exception:  # noqa: BLE001
            return False

    def _portal(self) -> None:
        root = self.tmp / "portal"
        if not root.exists():
            root.mkdir()
            (root / "index.html").write_text("portal")
            self._spawn(
                self.router, sys.executable, "-m", "http.server", "8080", "--directory", str(root)
            )
            url = f"http://{LAN_IP}:8080/"
            assert wait_for(lambda: self.fetch_from(self.router, url) == "portal", 10)

    def start_dns(self) -> None:
        """(Re)start the router's dnsmasq: DNS only, with the agent's walled-garden snippet."""
        if self.dnsmasq is not None:
            self.dnsmasq.terminate()
            self.dnsmasq.wait(timeout=5)
        self.dnsmasq = self._spawn(
            self.router,
            *_DNSMASQ,
            f"--listen-address={LAN_IP}",
            f"--server={NET_IP}",
            f"--conf-file={self.snippet}",
        )
        assert wait_for(lambda: self.resolve(self.guests[0], "internet.test") == WEB_IP, 10)

    def stop_agent(self) -> None:
        if self.agent and self.agent.poll() is None:
            self.agent.send_signal(signal.SIGTERM)
            self.agent.wait(timeout=10)

    def add_port(self, name: str) -> str:
        """A new link joins the LAN bridge (an access point's interface comes back)."""
        sh(self.router, "ip", "link", "add", name, "type", "veth", "peer", "name", f"{name}p")
        sh(self.router, "ip", "link", "set", name, "master", self.bridge, "up")
        return name

    def isolated(self, port: str) -> bool:
        flag = f"/sys/class/net/{port}/brport/isolated"
        return sh(self.router, "cat", flag, check=False).strip() == "1"

    def agent_log(self) -> str:
        path = self.tmp / "agent.log"
        return path.read_text() if path.exists() else ""

    def down(self) -> None:
        if self.agent and self.agent.poll() is None:
            self.agent.send_signal(signal.SIGTERM)
            try:
                self.agent.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.agent.kill()
        for proc in self.procs:
            proc.kill()
            proc.wait(timeout=5)
        for ns in (self.router, self.net, *self.guests):
            subprocess.run(["ip", "netns", "del", ns], capture_output=True, timeout=15)

    # ---- what a guest does ---------------------------------------------------------
    def guest(self, index: int) -> str:
        return self.guests[index - 1]

    def mac(self, index: int) -> str:
        return f"02:68:00:00:00:{index:02x}"

    def fetch_from(self, ns: str, url: str, seconds: float = 3) -> str:
        done = subprocess.run(
            ["ip", "netns", "exec", ns, "curl", "-s", "-m", str(seconds), url],
            capture_output=True,
            text=True,
            timeout=seconds + 10,
        )
        return done.stdout.strip() if done.returncode == 0 else f"curl-exit-{done.returncode}"

    def fetch(self, index: int, url: str = f"http://{WEB_IP}/", seconds: float = 3) -> str:
        return self.fetch_from(self.guest(index), url, seconds)

    def resolve(self, ns: str, name: str, seconds: float = 2) -> str | None:
        """The A record the router's DNS gives `ns` for `name` (None: no answer)."""
        script = _RESOLVE % (name, LAN_IP, seconds)
        done = subprocess.run(
            ["ip", "netns", "exec", ns, sys.executable, "-c", script],
            capture_output=True,
            text=True,
            timeout=seconds + 10,
        )
        return done.stdout.strip() or None

    def arp(self, index: int, *, claim: str | None = None, count: int = 2) -> None:
        """Guest `index` announces `claim` (default: its own address) to the router."""
        address = claim or self.ip(index)
        sh(self.guest(index), "busybox", "arping", "-U", "-c", str(count), "-w", "2",
           "-I", "eth0", "-s", address, address, check=False)  # fmt: skip
        sh(self.guest(index), "busybox", "arping", "-c", "1", "-w", "1",
           "-I", "eth0", "-s", address, LAN_IP, check=False)  # fmt: skip

    def client(self, ip: str) -> dict[str, Any]:
        return AgentClient(self.socket).call("client_for_ip", ip=ip)["client"]  # type: ignore[no-any-return]

    def login(self, index: int, name: str = "Guest") -> dict[str, Any]:
        """What the portal does for a form login from guest `index`."""
        ip = self.ip(index)
        self.fetch(index, f"http://{LAN_IP}:8080/")  # a phone reaches the portal first
        client = AgentClient(self.socket)
        mac = client.call("client_for_ip", ip=ip)["client"]["mac"]
        login = {"channel": "form", "name": name, "phone": "+84912345678"}
        return client.call("authorize", mac=mac, ip=ip, login=login)  # type: ignore[no-any-return]

    def kernel_set(self, name: str) -> str:
        return sh(self.router, "nft", "list", "set", "inet", "porchlight", name)

    def dns_bytes_upstream(self) -> tuple[int, int]:
        """(packets, bytes) of DNS queries that reached the internet's resolver."""
        out = json.loads(sh(self.net, "nft", "-j", "list", "counter", "inet", "measure", "dns_up"))
        for item in out["nftables"]:
            if "counter" in item:
                return int(item["counter"]["packets"]), int(item["counter"]["bytes"])
        raise AssertionError(out)


_DNSMASQ = [
    "dnsmasq", "-k", "--no-resolv", "--no-hosts", "--bind-interfaces", "--pid-file=",
    "--user=root", "--port=53", "--log-facility=/dev/null",
]  # fmt: skip

_RESOLVE = """
import random, socket, struct, sys
name, server, seconds = %r, %r, %r
qid = random.randrange(65536)
q = struct.pack(">HHHHHH", qid, 0x0100, 1, 0, 0, 0)
q += b"".join(bytes([len(p)]) + p.encode() for p in name.split(".")) + b"\\0" + b"\\0\\1\\0\\1"
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(seconds / 2)
for _ in range(2):
    s.sendto(q, (server, 53))
    try:
        data = s.recv(1500)
    except OSError:
        continue
    if data[:2] == q[:2] and struct.unpack(">H", data[6:8])[0]:
        print(socket.inet_ntoa(data[-4:]))
    sys.exit(0)
"""
