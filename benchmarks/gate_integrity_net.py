"""The venue network for benchmarks/gate_integrity.py: its own namespaces only.

guest1..3 ──veth── router: bridge 10.70.0.1/24 ──veth── internet 10.71.0.2
                   (agent or a bare ruleset,          (HTTP :80, dnsmasq DNS with
                    dnsmasq DNS forwarding up)          a byte counter on its input)
"""

from __future__ import annotations

import json
import secrets
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

LAN_IP, WAN_IP, NET_IP = "10.70.0.1", "10.71.0.1", "10.71.0.2"
PORCHLIGHT = str(Path(sys.executable).with_name("porchlight"))
DNSMASQ = [
    "dnsmasq", "-k", "--no-resolv", "--no-hosts", "--bind-interfaces", "--pid-file=",
    "--user=root", "--port=53", "--log-facility=/dev/null",
]  # fmt: skip


def sh(ns: str | None, *argv: str, check: bool = True, stdin: str | None = None) -> str:
    cmd = (["ip", "netns", "exec", ns] if ns else []) + list(argv)
    done = subprocess.run(cmd, input=stdin, capture_output=True, text=True, timeout=120)
    if check and done.returncode != 0:
        raise RuntimeError(f"{cmd}: {done.stderr.strip()}")
    return done.stdout


def wait_for(predicate: Any, timeout: float, step: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step)
    return bool(predicate())


class Net:
    def __init__(self, tmp: Path, guests: int = 3) -> None:
        tag = secrets.token_hex(3)
        self.tag, self.tmp = tag, tmp
        self.router, self.net = f"pbr{tag}", f"pbi{tag}"
        self.guests = [f"pbg{tag}{i}" for i in range(1, guests + 1)]
        self.bridge, self.wan = f"pbb{tag}", f"pbw{tag}"
        self.procs: list[subprocess.Popen[bytes]] = []
        self.agent: subprocess.Popen[bytes] | None = None
        self.socket = str(tmp / "agent.sock")

    def ip(self, index: int) -> str:
        return f"10.70.0.{10 + index}"

    def mac(self, index: int) -> str:
        return f"02:70:00:00:00:{index:02x}"

    def guest(self, index: int) -> str:
        return self.guests[index - 1]

    def up(self) -> None:
        for ns in (self.router, self.net, *self.guests):
            sh(None, "ip", "netns", "add", ns)
            sh(ns, "ip", "link", "set", "lo", "up")
        r = self.router
        sh(r, "ip", "link", "add", self.bridge, "type", "bridge")
        sh(r, "ip", "addr", "add", f"{LAN_IP}/24", "dev", self.bridge)
        sh(r, "ip", "link", "set", self.bridge, "up")
        for i, ns in enumerate(self.guests, start=1):
            port = f"pbp{self.tag}{i}"
            sh(None, "ip", "link", "add", port, "netns", r, "type", "veth",
               "peer", "name", "eth0", "netns", ns)  # fmt: skip
            sh(r, "ip", "link", "set", port, "master", self.bridge, "up")
            sh(ns, "ip", "link", "set", "eth0", "address", self.mac(i))
            sh(ns, "ip", "addr", "add", f"{self.ip(i)}/24", "dev", "eth0")
            sh(ns, "ip", "link", "set", "eth0", "up")
            sh(ns, "ip", "route", "add", "default", "via", LAN_IP)
        sh(None, "ip", "link", "add", self.wan, "netns", r, "type", "veth",
           "peer", "name", "eth0", "netns", self.net)  # fmt: skip
        sh(r, "ip", "addr", "add", f"{WAN_IP}/24", "dev", self.wan)
        sh(r, "ip", "link", "set", self.wan, "up")
        sh(self.net, "ip", "addr", "add", f"{NET_IP}/24", "dev", "eth0")
        sh(self.net, "ip", "link", "set", "eth0", "up")
        sh(r, "sysctl", "-qw", "net.ipv4.ip_forward=1")
        www = self.tmp / "www"
        www.mkdir()
        (www / "index.html").write_text("internet")
        self.spawn(self.net, sys.executable, "-m", "http.server", "80", "--directory", str(www))
        self.spawn(self.net, *DNSMASQ, f"--listen-address={NET_IP}", "--address=/tunnel.test/")
        self.spawn(r, *DNSMASQ, f"--listen-address={LAN_IP}", f"--server={NET_IP}")
        counter = (
            "table inet measure {\n chain input { type filter hook input priority filter;\n"
            "  udp dport 53 counter name dns_up\n }\n counter dns_up {}\n}\n"
        )
        sh(self.net, "nft", "-f", "-", stdin=counter)
        wait_for(lambda: self.fetch_from(r, f"http://{NET_IP}/") == "internet", 10)

    def spawn(self, ns: str, *argv: str, log: Path | None = None) -> subprocess.Popen[bytes]:
        out = open(log, "ab") if log else subprocess.DEVNULL  # noqa: SIM115 - closed with the process
        proc = subprocess.Popen(["ip", "netns", "exec", ns, *argv], stdout=out, stderr=out)
        self.procs.append(proc)
        return proc

    def start_agent(self) -> None:
        self.agent = self.spawn(
            self.router, PORCHLIGHT, "agent", "run", "--lan", self.bridge,
            "--state-dir", str(self.tmp / "state"), "--socket", self.socket,
            "--portal-port", "8080", "--wan", self.wan, "--reconcile-seconds", "1",
            log=self.tmp / "agent.log",
        )  # fmt: skip
        from porchlight.agent_client import AgentClient

        def answers() -> bool:
            try:
                AgentClient(self.socket).call("status")
                return True
            except Exception:  # noqa: BLE001
                return False

        if not wait_for(answers, 30, 0.1):
            raise RuntimeError("agent did not start: " + (self.tmp / "agent.log").read_text())

    def stop_agent(self) -> None:
        if self.agent is not None and self.agent.poll() is None:
            self.agent.terminate()
            self.agent.wait(timeout=10)

    def fetch_from(self, ns: str, url: str, seconds: float = 2) -> str:
        done = subprocess.run(
            ["ip", "netns", "exec", ns, "curl", "-s", "-m", str(seconds), url],
            capture_output=True,
            text=True,
            timeout=seconds + 10,
        )
        return done.stdout.strip() if done.returncode == 0 else f"curl-exit-{done.returncode}"

    def arp(self, index: int, claim: str) -> None:
        sh(self.guest(index), "busybox", "arping", "-U", "-c", "2", "-w", "2",
           "-I", "eth0", "-s", claim, claim, check=False)  # fmt: skip

    def set_elements(self, name: str) -> str:
        return sh(self.router, "nft", "list", "set", "inet", "porchlight", name, check=False)

    def dns_upstream(self) -> tuple[int, int]:
        out = json.loads(sh(self.net, "nft", "-j", "list", "counter", "inet", "measure", "dns_up"))
        counter = next(i["counter"] for i in out["nftables"] if "counter" in i)
        return int(counter["packets"]), int(counter["bytes"])

    def rx_packets(self) -> int:
        return int(sh(self.net, "cat", "/sys/class/net/eth0/statistics/rx_packets"))

    def down(self) -> None:
        self.stop_agent()
        for proc in self.procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait(timeout=5)
        for ns in (self.router, self.net, *self.guests):
            subprocess.run(["ip", "netns", "del", ns], capture_output=True, timeout=30)
