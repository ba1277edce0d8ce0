"""A stadium on one box (issue 18): a DHCP storm and the "held" figures, in throwaway namespaces.

    sudo .venv/bin/python benchmarks/stadium.py [--part storm|held|ending|all|dhcp]
        [--clients 10000] [--phones 200] [--window 2] [--json]

Storm: ``--part storm --phones 500 --window 10`` (the issue's figure; ``all``
runs it too) plays the whole login storm, DHCP to online, in the whole lab:
benchmarks/stadium_storm.py (``online``, ``storm_p95_s`` goal < 2 s,
``dhcp_p95_s`` goal < 1 s, ``portal_errors``). ``--part dhcp`` (the default
without --part) is the DHCP step alone: `porchlight lab up --network-only
--lan-prefix 22`, then `--phones` phones played from one process
(benchmarks/dhcp_storm.py in the lab guest's namespace, each with its own MAC)
arrive over `--window` seconds and ask the lab's dnsmasq for a lease:
``leased``, ``dhcp_p50_s``, ``dhcp_p95_s``, ``dhcp_max_s``; ``--dnsmasq-ping``
runs it against dnsmasq as it was (its ping check on) to compare.

Held: starts the real agent (`porchlight agent run --metrics 127.0.0.1:PORT`, the
libnftables backend) on a veth in its own network namespace, puts `--clients`
guests in its store (client rows and open sessions, as logins leave them),
reloads so they are in the kernel's sets, then measures:

- ``clients``: sessions online in the store, and ``in_set``: MACs in ``allowed``;
- ``status_s``: `porchlight agent status --json` (median of 3; goal < 0.3 s): the
  counts and the newest 100; ``status_all_s``: `--all --json`, every client streamed;
  each with the command's CPU seconds (``status_cpu_s``, ``status_all_cpu_s``);
- ``authorize_max_ms`` / ``authorize_p50_ms``: ``logins`` 50 ms apart until at
  least three reconcile rounds ran meanwhile, so some meet one (goal < 50 ms);
- ``reconcile_round_s``: the agent's own reconcile rounds (its /metrics histogram),
  ``reconcile_rounds_during_logins`` of them while the logins ran, and
  ``agent_cpu_share``: the agent's CPU seconds per second meanwhile;
- ``reconcile_s_after_flush``: after ``nft flush table``, one reconcile in a
  process like the agent's (goal < 1 s), and its CPU seconds;
- ``agent_rss_mb`` (goal <= 80 MB at 10,000);
- ``pps_ratio_10k`` (goal >= 0.95) and ``rule_per_client_ratio_10k``: benchmarks/stadium_pps.py;
- ``metrics_scrape_ms`` and the clients online /metrics reports;
- ``load_avg``: the 1-minute load average when the figures were taken.

Ending (``--part ending``, in `all` too): `--clients` sessions expiring over
``--spread`` s (default 60; 0: the same second) while guests log in, in a namespace
like held's: benchmarks/stadium_ending.py (``ended``, ``end_events``, ``end_s``,
``login_wait_max_ms`` goal < 100 ms beside ``baseline_max_ms`` before they end).

Only the benchmark's own namespace and loopback inside it are touched.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

PORCHLIGHT = str(Path(sys.executable).with_name("porchlight"))
MAX_CLIENTS = 20_000  # bounded: two cores are shared here
MAX_PHONES = 500
METRICS_PORT = 9101
LOGINS_MAX = 1000


def mac(i: int, prefix: str = "02:5a") -> str:
    return (
        f"{prefix}:{(i >> 24) & 255:02x}:{(i >> 16) & 255:02x}:{(i >> 8) & 255:02x}:{i & 255:02x}"
    )


def ip(i: int, second: int = 61) -> str:
    n = i + 2
    return f"10.{second + (n >> 16)}.{(n >> 8) & 255}.{n & 255}"


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def scrape() -> tuple[dict[str, float], float]:
    from prometheus_client.parser import text_string_to_metric_families

    start = time.perf_counter()
    with urllib.request.urlopen(f"http://127.0.0.1:{METRICS_PORT}/metrics", timeout=10) as answer:
        text = answer.read().decode()
    took = (time.perf_counter() - start) * 1000
    out: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            label = ",".join(f"{v}" for _, v in sorted(sample.labels.items()))
            out[f"{sample.name}[{label}]" if label else sample.name] = sample.value
    return out, took


def fill_store(db_file: Path, count: int, length: int = 4 * 3600, spread: float = 0.0) -> None:
    """`count` guests online: a client row and an open session each, in one transaction;
    guest i logged in `spread` * i / `count` seconds ago (their sessions end over `spread`)."""
    from porchlight.agent import sessions
    from porchlight.agent.store import open_db

    db = open_db(db_file)
    now = time.time()
    with db.atomic():
        for i in range(count):
            sessions.touch_client(db, mac(i), now, ip=ip(i))
            sessions.start_session(
                db, mac=mac(i), ip=ip(i), now=now - spread * i / count, length=length,
                channel="click", login=None,
            )  # fmt: skip
    db.close()


def wait_for_agent(client: Any) -> None:
    for _ in range(300):
        try:
            client.call("status")
            return
        except Exception:  # noqa: BLE001 - not up yet
            time.sleep(0.1)
    raise SystemExit("the agent did not start")


def timed_status(sock: str, *more: str) -> tuple[float, float]:
    """(wall s, CPU s of the command) of `porchlight agent status --json`, median of 3."""
    times, cpus = [], []
    for _ in range(3):
        before = os.times()
        start = time.perf_counter()
        subprocess.run(
            [PORCHLIGHT, "agent", "status", "--json", *more, "--socket", sock],
            check=True,
            stdout=subprocess.DEVNULL,
            timeout=60,
        )
        times.append(time.perf_counter() - start)
        after = os.times()
        cpus.append(after.children_user + after.children_system - before.children_user
                    - before.children_system)  # fmt: skip
    return statistics.median(times), statistics.median(cpus)


def cpu_s(pid: int) -> float:
    """User + system CPU seconds of process `pid` so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def neighbours(lan: str, count: int) -> None:
    """The phones about to log in, as the kernel knows them (the gate checks who holds an IP)."""
    lines = [
        f"neigh replace {ip(i, 62)} lladdr {mac(i, '02:5b')} dev {lan} nud permanent"
        for i in range(count)
    ]
    subprocess.run(["ip", "-batch", "-"], input="\n".join(lines) + "\n", text=True, check=True)


def reconcile_rounds() -> float:
    return scrape()[0]["porchlight_agent_reconcile_seconds_count"]


def authorize_while_reconciling(client: Any, count: int, rounds: int = 3) -> list[float]:
    """Logins 50 ms apart, at least `count` and until `rounds` reconcile rounds ran
    meanwhile (the agent spaces its rounds by 10x their length), at most LOGINS_MAX or
    60 s: ms each."""
    times: list[float] = []
    first, deadline = reconcile_rounds(), time.monotonic() + 60
    i = 0
    while i < LOGINS_MAX and time.monotonic() < deadline:
        start = time.perf_counter()
        client.call("authorize", mac=mac(i, "02:5b"), ip=ip(i, 62), login={"channel": "click"})
        times.append((time.perf_counter() - start) * 1000)
        i += 1
        if i >= count and i % 20 == 0 and reconcile_rounds() - first >= rounds:
            break
        time.sleep(0.05)
    return sorted(times)


def reconcile_after_flush(lan: str, db_file: Path) -> tuple[float, float, int]:
    from porchlight.agent import nft_ruleset
    from porchlight.agent.gate import Gate
    from porchlight.agent.nft import Nft
    from porchlight.agent.store import open_db

    db = open_db(db_file)
    gate = Gate(db, nft_ruleset.GateSpec(lan=lan, portal_port=8080), nft=Nft(backend="lib"))
    subprocess.run(["nft", "flush", "table", "inet", "porchlight"], check=True)
    start, cpu = time.perf_counter(), time.process_time()
    gate.reconcile()
    took, cpu = time.perf_counter() - start, time.process_time() - cpu
    state = gate.nft.list_table()
    restored = len(state.sets["allowed"]) if state else 0
    gate.nft.delete_table()
    db.close()
    return took, cpu, restored


def in_set() -> int:
    listing = subprocess.run(
        ["nft", "-j", "list", "set", "inet", "porchlight", "allowed"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    for item in json.loads(listing)["nftables"]:
        if "set" in item:
            return len(item["set"].get("elem", []))
    return 0


@contextmanager
def agent_on(
    lan: str, prefix: str, remove: bool = False
) -> Iterator[tuple[subprocess.Popen[bytes], Any, Path, str]]:
    """The real agent on `lan` (libnftables, /metrics on METRICS_PORT) with a new state
    directory: (its process, a client once it answers, the state directory, the socket).
    Stopped after; its directory is then removed with `remove`, else left to read."""
    from porchlight.agent_client import AgentClient

    tmp = Path(tempfile.mkdtemp(prefix=prefix))
    sock, state = str(tmp / "agent.sock"), tmp / "state"
    state.mkdir()
    log = (tmp / "agent.log").open("w")
    argv = [PORCHLIGHT, "agent", "run", "--lan", lan, "--state-dir", str(state), "--socket", sock]
    argv += ["--reconcile-seconds", "2", "--metrics", f"127.0.0.1:{METRICS_PORT}"]
    env = {**os.environ, "PORCHLIGHT_NFT_BACKEND": "lib"}
    agent = subprocess.Popen(argv, stdout=log, stderr=log, env=env)
    try:
        client = AgentClient(sock, timeout=30)
        wait_for_agent(client)
        yield agent, client, state, sock
    finally:
        agent.terminate()
        agent.wait(timeout=20)
        log.close()
        if remove:
            shutil.rmtree(tmp, ignore_errors=True)


def held(lan: str, clients: int) -> dict[str, Any]:
    out: dict[str, Any] = {"clients_asked": clients}
    with agent_on(lan, "plstadium") as (agent, client, state, sock):
        fill_store(state / "agent.db", clients)
        client.call("reload")
        time.sleep(5)  # two reconcile rounds at full size
        out["in_set"] = in_set()
        out["status_s"], out["status_cpu_s"] = timed_status(sock)
        out["status_all_s"], out["status_all_cpu_s"] = timed_status(sock, "--all")
        neighbours(lan, LOGINS_MAX)
        before, cpu, start = scrape()[0], cpu_s(agent.pid), time.perf_counter()
        times = authorize_while_reconciling(client, 100)
        out["logins"] = len(times)
        out["agent_cpu_share"] = (cpu_s(agent.pid) - cpu) / (time.perf_counter() - start)
        out["authorize_p50_ms"] = times[len(times) // 2]
        out["authorize_max_ms"] = times[-1]
        figures, out["metrics_scrape_ms"] = scrape()
        out["clients"] = int(figures["porchlight_agent_clients[online]"])
        rounds = figures["porchlight_agent_reconcile_seconds_count"]
        out["reconcile_round_s"] = figures["porchlight_agent_reconcile_seconds_sum"] / rounds
        out["reconcile_rounds_during_logins"] = int(
            rounds - before["porchlight_agent_reconcile_seconds_count"]
        )
        out["agent_rss_mb"] = rss_mb(agent.pid)
        out["load_avg"] = os.getloadavg()[0]
    flushed = reconcile_after_flush(lan, state / "agent.db")
    out["reconcile_s_after_flush"], out["reconcile_cpu_s_after_flush"], out["restored"] = flushed
    return out


GOALS = {
    "leased": "= phones",
    "dhcp_p95_s": "< 1",
    "status_s": "< 0.3",
    "authorize_max_ms": "< 50",
    "reconcile_s_after_flush": "< 1",
    "agent_rss_mb": "<= 80",
    "ended": "= sessions_ending",
    "end_events": "= sessions_ending",
    "login_wait_max_ms": "< 100",
    "pps_ratio_10k": ">= 0.95",
}


def table(result: dict[str, Any]) -> None:
    print(f"{'figure':28}{'value':>14}  goal")
    for key, value in result.items():
        shown = f"{value:.3f}" if isinstance(value, float) else str(value)
        print(f"{key:28}{shown:>14}  {GOALS.get(key, '')}")


def storm(phones: int, window: float, ping: bool) -> dict[str, Any]:
    """`phones` DHCP clients from one process against the lab's dnsmasq on a /22."""
    base = Path(tempfile.mkdtemp(prefix="plstorm-", dir="/tmp"))
    base.chmod(0o711)
    state = base / "state"
    lab = [PORCHLIGHT, "lab"]
    up = [*lab, "up", "--network-only", "--lan-prefix", "22", "--state-dir", str(state)]
    subprocess.run(up, check=True, stdout=subprocess.DEVNULL, timeout=300)
    try:
        guest = json.loads((state / "lab.json").read_text())["info"]["guests"][0]["netns"]
        if ping:  # dnsmasq as it was: ping each address before offering it
            conf = state / "dnsmasq.conf"
            conf.write_text(conf.read_text().replace("\nno-ping\n", "\n"))
            (state / "agent" / "dnsmasq.d" / "ping.conf").write_text("# restart dnsmasq\n")
            time.sleep(3)  # the lab's supervisor restarts dnsmasq on the change
        driver = [sys.executable, str(Path(__file__).with_name("dhcp_storm.py"))]
        done = subprocess.run(
            ["ip", "netns", "exec", guest, *driver, "eth0", str(phones), str(window)],
            check=True,
            stdout=subprocess.PIPE,
            text=True,
            timeout=300,
        )
        result: dict[str, Any] = json.loads(done.stdout.splitlines()[-1])
        result["storm_window_s"], result["dnsmasq_ping"] = window, ping
        result["storm_load_avg"] = os.getloadavg()[0]
        return result
    finally:
        subprocess.run([*lab, "down", "--state-dir", str(state)], check=False, timeout=120)
        subprocess.run(["rm", "-rf", str(base)], check=False)


def held_outer(clients: int, part: str = "held", spread: float = 60.0) -> dict[str, Any]:
    tag = secrets.token_hex(3)
    ns, lan, peer = f"pls{tag}", f"pls{tag}", f"plq{tag}"
    subprocess.run(["ip", "netns", "add", ns], check=True)
    try:
        subprocess.run(
            ["ip", "-n", ns, "link", "add", lan, "type", "veth", "peer", "name", peer], check=True
        )
        for dev in ("lo", lan, peer):
            subprocess.run(["ip", "-n", ns, "link", "set", dev, "up"], check=True)
        subprocess.run(["ip", "-n", ns, "addr", "add", "10.60.0.1/10", "dev", lan], check=True)
        argv = [sys.executable, __file__, "--inner", lan, "--clients", str(clients)]
        argv += ["--part", part, "--spread", str(spread)]  # ending: benchmarks/stadium_ending.py
        done = subprocess.run(
            ["ip", "netns", "exec", ns, *argv], timeout=900, stdout=subprocess.PIPE, text=True
        )
        if done.returncode != 0:
            raise SystemExit(done.stdout + f"{part} part failed ({done.returncode})")
        result: dict[str, Any] = json.loads(done.stdout.splitlines()[-1])
    finally:
        subprocess.run(["ip", "netns", "del", ns], check=False)
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--clients", type=int, default=10_000, help="guests held (default 10,000)")
    parser.add_argument("--json", action="store_true", help="one JSON object")
    parser.add_argument("--phones", type=int, default=200, help="storm phones (default 200)")
    parser.add_argument("--window", type=float, default=2.0, help="storm arrivals over (s)")
    parser.add_argument(
        "--dnsmasq-ping",
        action="store_true",
        help="the storm against dnsmasq as it was (ping check on), to compare",
    )
    parser.add_argument("--no-held", action="store_true", help="only the storm")
    parser.add_argument(
        "--part",
        choices=("storm", "held", "ending", "all", "dhcp"),
        default=None,
        help="storm: the login storm, DHCP to online (benchmarks/stadium_storm.py, "
        "--phones over --window s; the issue's figure is 500 over 10); held: the held "
        "clients; ending: --clients sessions ending over --spread s while guests log in "
        "(benchmarks/stadium_ending.py); all: the three; dhcp: the DHCP-only storm "
        "(default when --part is not given)",
    )
    parser.add_argument(
        "--spread", type=float, default=60.0, help="ending: seconds the sessions expire over"
    )
    parser.add_argument("--inner", metavar="LAN", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if not 10 <= args.clients <= MAX_CLIENTS:
        parser.error(f"--clients must be between 10 and {MAX_CLIENTS:,}")
    if not 0 <= args.phones <= MAX_PHONES:
        parser.error(f"--phones must be between 0 and {MAX_PHONES}")
    if args.inner and args.part == "ending":
        from stadium_ending import ending

        print(json.dumps(ending(args.inner, args.clients, args.spread)))
        return 0
    if args.inner:
        print(json.dumps(held(args.inner, args.clients)))
        return 0
    if os.geteuid() != 0:
        print("needs root (network namespaces)", file=sys.stderr)
        return 2
    result: dict[str, Any] = {}
    if args.part in ("storm", "all") and args.phones:
        from stadium_storm import storm as login_storm

        result.update(login_storm(args.phones, args.window, None))
    elif args.part in (None, "dhcp") and args.phones:
        result.update(storm(args.phones, args.window, args.dnsmasq_ping))
    if args.part in (None, "held", "all") and not args.no_held:
        result.update(held_outer(args.clients))
        from stadium_pps import run as pps_ratios  # pps_ratio_10k and the openNDS shape

        result.update(pps_ratios(args.clients, 7))
    if args.part in ("ending", "all"):
        result.update(held_outer(args.clients, "ending", args.spread))
    if args.json:
        print(json.dumps(result))
    else:
        table(result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
