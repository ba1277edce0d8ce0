"""The login storm of issue 18: many phones join the lab at once, DHCP to online.

    sudo .venv/bin/python benchmarks/stadium_storm.py [--phones 500] [--window 10] [--json]

Builds the whole lab (`porchlight lab up --lan-prefix 22`: agent, portal, admin,
dnsmasq) in its own namespaces and state directory, and takes it down afterwards,
failure or not. In the lab's guest namespace one process plays every phone: a
macvlan interface each, with its own MAC, on the guest's eth0. Phones arrive
evenly over ``--window`` seconds; each asks for a lease (benchmarks/dhcp_storm.py,
from the phone's MAC), puts the address on its interface, looks up
captive.apple.com at the router's DNS, sends the Apple probe (captured: 302 to
the portal), GETs the login page (its cookie and CSRF token), POSTs the form
(channel=form, name, phone, consent) and probes again until the lab's internet
host answers (its Server header: not the portal's copy of the answer; every
0.5 s, at most 15 s). Every socket is bound to the phone's interface and
address. The driver's phones have random-looking MACs, answer NAKs at once and
know the router's MAC (permanent neighbour entries: 500 phones' ARP entries
would crowd the neighbour table the host shares with every namespace).
Bounded: at most 500 phones over at most 60 s.

Figures: ``phones``, ``online`` (goal: = phones), ``storm_p50_s``/``storm_p95_s``/
``storm_max_s`` from the first DISCOVER to online (goal p95 < 2 s),
``dhcp_p50_s``/``dhcp_p95_s`` (goal p95 < 1 s), ``portal_errors`` (portal answers
that were errors or never came), ``failures`` (phones not online, by the step
they stopped at), CPU seconds of the driver, portal, agent and dnsmasq during the
storm, and the load average before and after.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

from storm_phone import HTTP_TIMEOUT, ONLINE_WAIT, ROUTER_IP, Phone, StepFailed

PORCHLIGHT = str(Path(sys.executable).with_name("porchlight"))
MAX_PHONES = 500
LAN_PREFIX = 22


def _sysctl(path: str, value: str) -> None:
    Path("/proc/sys/net", path).write_text(value)


def make_interfaces(phones: int, router_mac: str) -> Any:
    """A macvlan per phone on eth0 with the MAC dhcp_storm gives it, up, the router's
    MAC known (permanent: 500 phones' ARP entries would crowd the host's shared
    neighbour table); each answers ARP only for its own address."""
    from dhcp_storm import phone_mac
    from pyroute2 import IPRoute

    for path, value in (("ipv4/conf/all/arp_ignore", "1"), ("ipv4/conf/all/arp_announce", "2"),
                        ("ipv4/conf/all/rp_filter", "0"), ("ipv4/conf/default/rp_filter", "0"),
                        ("ipv6/conf/all/disable_ipv6", "1"),
                        ("ipv6/conf/default/disable_ipv6", "1")):  # fmt: skip
        _sysctl(path, value)
    ipr = IPRoute()
    eth0 = ipr.link_lookup(ifname="eth0")[0]
    ipr.link("set", index=eth0, state="up")
    for i in range(phones):
        mac = phone_mac(i).hex(":")
        ipr.link("add", ifname=f"ph{i}", kind="macvlan", link=eth0, macvlan_mode="private",
                 address=mac)  # fmt: skip
        index = ipr.link_lookup(ifname=f"ph{i}")[0]
        ipr.link("set", index=index, state="up")
        ipr.neigh("add", dst=ROUTER_IP, lladdr=router_mac, ifindex=index, state=0x80)
    return ipr


class Storm:
    """Phones arriving over `window` s: DHCP from dhcp_storm, then each its login."""

    def __init__(self, phones: int, window: float, router_mac: str) -> None:
        import dhcp_storm

        self.ipr = make_interfaces(phones, router_mac)
        self.ipr_lock = threading.Lock()
        self.dhcp = dhcp_storm.Storm("eth0", phones, window)
        self.phones, self.window = phones, window
        self.online: dict[int, float] = {}
        self.failed: dict[int, str] = {}
        self.extra_probes = 0
        self.portal_errors = 0
        self.lock = threading.Lock()

    def configure(self, i: int, address: str) -> None:
        with self.ipr_lock:
            index = self.ipr.link_lookup(ifname=f"ph{i}")[0]
            self.ipr.addr("add", index=index, address=address, prefixlen=LAN_PREFIX)
            self.ipr.route("add", dst="0.0.0.0/0", gateway=ROUTER_IP, oif=index, priority=100 + i)

    def phone(self, i: int, address: str) -> None:
        phone = Phone(i, f"ph{i}", address)
        try:
            self.configure(i, address)
            extra = phone.login()
            done = time.monotonic() - self.dhcp.started[i]
            with self.lock:
                self.online[i], self.extra_probes = done, self.extra_probes + extra
        except StepFailed as exc:
            with self.lock:
                self.failed[i] = exc.step
        except Exception as exc:  # noqa: BLE001 - a phone's bug is a figure, not a crash
            with self.lock:
                self.failed[i] = f"driver: {type(exc).__name__}: {exc}"
        with self.lock:
            self.portal_errors += phone.portal_errors

    def run(self) -> dict[str, Any]:
        cpu = time.process_time()
        threading.stack_size(512 * 1024)
        dhcp = threading.Thread(target=self.dhcp.run, args=(self.window + 30,))
        dhcp.start()
        threads: dict[int, threading.Thread] = {}
        deadline = time.monotonic() + self.window + 30 + ONLINE_WAIT + 3 * HTTP_TIMEOUT
        while time.monotonic() < deadline:
            for i, (_, address) in list(self.dhcp.acked.items()):
                if i not in threads:
                    threads[i] = threading.Thread(target=self.phone, args=(i, address))
                    threads[i].start()
            if not dhcp.is_alive() and all(not t.is_alive() for t in threads.values()):
                break
            time.sleep(0.005)
        for thread in threads.values():
            thread.join(HTTP_TIMEOUT)
        dhcp.join()
        return self.figures(time.process_time() - cpu)

    def figures(self, cpu: float) -> dict[str, Any]:
        leases = self.dhcp.acked
        times = sorted(self.online.values())
        waits = sorted(wait for wait, _ in leases.values())
        reasons = Counter(re.sub(r"\d{3}", "NNN", r) if "still" in r else r
                          for r in self.failed.values())  # fmt: skip
        reasons["no lease"] = self.phones - len(leases)
        return {
            "phones": self.phones,
            "window_s": self.window,
            "online": len(times),
            "storm_p50_s": statistics.median(times) if times else None,
            "storm_p95_s": _p95(times),
            "storm_max_s": times[-1] if times else None,
            "leased": len(leases),
            "dhcp_p50_s": statistics.median(waits) if waits else None,
            "dhcp_p95_s": _p95(waits),
            "dhcp_retries": self.dhcp.retries,
            "dhcp_naks": self.dhcp.naks,
            "dhcp_never_offered": self.phones - len(self.dhcp.offered | set(leases)),
            "driver_packet_drops": self.packet_drops(),
            "portal_errors": self.portal_errors,
            "extra_probes": self.extra_probes,
            "failures": {k: v for k, v in reasons.items() if v},
            "driver_cpu_s": round(cpu, 2),
        }

    def packet_drops(self) -> int:
        """Frames the kernel dropped for the driver's DHCP socket (PACKET_STATISTICS)."""
        stats = self.dhcp.sock.getsockopt(263, 6, 8)  # SOL_PACKET, PACKET_STATISTICS
        return int(struct.unpack("II", stats)[1])


def _p95(values: list[float]) -> float | None:
    """The 95th percentile of sorted `values` (nearest rank)."""
    return values[max(0, -(-len(values) * 95 // 100) - 1)] if values else None


def session_cpu_s(sid: int) -> float:
    """CPU seconds of every process in session `sid` (the lab starts each part in its own)."""
    total = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[3]) == sid:
            total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _router_mac(router: str) -> str:
    links = subprocess.run(["ip", "-n", router, "-j", "link", "show", "br-lan"],
                           check=True, capture_output=True, text=True).stdout  # fmt: skip
    return str(json.loads(links)[0]["address"])


def storm(phones: int, window: float, logs: str | None) -> dict[str, Any]:
    """The whole lab on a /22, `phones` joining over `window` s, the lab removed after."""
    base = Path(tempfile.mkdtemp(prefix="plstorm-", dir="/tmp"))
    base.chmod(0o711)
    state_dir = base / "state"
    lab = [PORCHLIGHT, "lab"]
    up = [*lab, "up", "--lan-prefix", str(LAN_PREFIX), "--state-dir", str(state_dir)]
    up += ["--admin-port", str(_free_port())]
    try:
        with (base / "lab-up.log").open("w") as log:
            done = subprocess.run(up, stdout=log, stderr=subprocess.STDOUT, timeout=300)
        if done.returncode:
            tail = (base / "lab-up.log").read_text()[-2000:]
            raise SystemExit(f"lab up failed ({done.returncode}):\n{tail}")
        record = json.loads((state_dir / "lab.json").read_text())
        info = record["info"]
        sids = {p["name"]: p["pid"] for p in record["processes"] if p.get("pid")}
        parts = [n for n in ("portal", "agent", "dnsmasq") if n in sids]
        before = {n: session_cpu_s(sids[n]) for n in parts}
        load_before = os.getloadavg()
        inner = [sys.executable, __file__, "--inner", _router_mac(info["router_netns"])]
        inner += ["--phones", str(phones), "--window", str(window)]
        ran = subprocess.run(["ip", "netns", "exec", info["guests"][0]["netns"], *inner],
                             stdout=subprocess.PIPE, text=True, timeout=600)  # fmt: skip
        if ran.returncode:
            raise SystemExit(ran.stdout[-2000:] + f"\nthe storm's driver failed ({ran.returncode})")
        result: dict[str, Any] = json.loads(ran.stdout.splitlines()[-1])
        for name in parts:
            result[f"{name}_cpu_s"] = round(session_cpu_s(sids[name]) - before[name], 2)
        result["load_avg_before"] = [round(x, 2) for x in load_before]
        result["load_avg_after"] = [round(x, 2) for x in os.getloadavg()]
        return result
    finally:
        if logs:
            subprocess.run(["cp", "-r", str(state_dir / "logs"), logs], check=False)
        subprocess.run([*lab, "down", "--state-dir", str(state_dir)], check=False, timeout=180,
                       stdout=subprocess.DEVNULL)  # fmt: skip
        subprocess.run(["rm", "-rf", str(base)], check=False)


GOALS = {"online": "= phones", "storm_p95_s": "< 2", "dhcp_p95_s": "< 1", "portal_errors": "0"}


def table(result: dict[str, Any]) -> None:
    print(f"{'figure':20}{'value':>16}  goal")
    for key, value in result.items():
        shown = f"{value:.3f}" if isinstance(value, float) else str(value)
        print(f"{key:20}{shown:>16}  {GOALS.get(key, '')}")


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--phones", type=int, default=500, help=f"1-{MAX_PHONES} (default 500)")
    parser.add_argument("--window", type=float, default=10.0, help="arrival window, s (10)")
    parser.add_argument("--json", action="store_true", help="one JSON object")
    parser.add_argument("--logs", metavar="DIR", help="copy the lab's logs here before it goes")
    parser.add_argument("--inner", metavar="ROUTER_MAC", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if not 1 <= args.phones <= MAX_PHONES:
        parser.error(f"--phones must be between 1 and {MAX_PHONES}")
    if not 0 < args.window <= 60:
        parser.error("--window must be between 0 and 60 s")
    if args.inner:
        print(json.dumps(Storm(args.phones, args.window, args.inner).run()))
        return 0
    if os.geteuid() != 0:
        print("needs root (network namespaces)", file=sys.stderr)
        return 2
    result = storm(args.phones, args.window, args.logs)
    if args.json:
        print(json.dumps(result))
    else:
        table(result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
