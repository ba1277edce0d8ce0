"""Portal figures: detection probe throughput and login POST latency (loopback only).

1. Throughput of an Apple probe (`Host: captive.apple.com`, `/hotspot-detect.html`)
   answered by the portal under gunicorn, against a bare Flask app that only
   returns the redirect, under the same gunicorn settings, in the same run, with
   wrk. Target: portal / bare >= 0.8.
2. Login POST latency (GET the page, POST the form, the agent call included)
   against the portal under gunicorn. Target: p95 < 50 ms.

The agent is the test double of tests/portal (same protocol, in this process).

    .venv/bin/python benchmarks/portal_detection.py [--seconds 5] [--logins 200]
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "portal"))

from portal_fake_agent import FakeAgent  # noqa: E402

WORKERS = "2"
THREADS = "4"


def bare_server(port: int) -> None:
    """A Flask app that only answers the redirect, under the portal's gunicorn settings."""
    from flask import Flask, redirect
    from gunicorn.app.base import BaseApplication

    app = Flask("bare")

    @app.route("/hotspot-detect.html")
    def probe():
        return redirect(f"http://127.0.0.1:{port}/", code=302)

    class Bare(BaseApplication):
        def load_config(self):
            for key, value in {
                "bind": [f"127.0.0.1:{port}"], "workers": int(WORKERS), "threads": int(THREADS),
                "worker_class": "gthread", "keepalive": 5, "loglevel": "warning",
                "control_socket_disable": True,
            }.items():  # fmt: skip
                self.cfg.set(key, value)

        def load(self):
            return app

    Bare().run()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_listening(port: int, proc: subprocess.Popen) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"server on {port} exited with {proc.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"server on {port} did not start")


def wrk(port: int, seconds: int) -> float:
    out = subprocess.run(
        ["wrk", "-t2", "-c16", f"-d{seconds}s", "-H", "Host: captive.apple.com",
         f"http://127.0.0.1:{port}/hotspot-detect.html"],
        capture_output=True, text=True, timeout=seconds + 30, check=True,
    ).stdout  # fmt: skip
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if non2xx:
        raise SystemExit(f"wrk saw {non2xx.group(1)} error answers:\n{out}")
    return float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))


def logins(base: str, agent: FakeAgent, count: int) -> list[float]:
    import requests

    times = []
    with requests.Session() as session:
        for _ in range(count):
            agent.clients["127.0.0.1"]["state"] = "pending"
            page = session.get(f"{base}/", timeout=5).text
            token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
            data = {"csrf_token": token, "channel": "form", "name": "Lan",
                    "phone": "0912345678", "consent_wifi": "yes"}  # fmt: skip
            start = time.perf_counter()
            answer = session.post(f"{base}/login", data=data, allow_redirects=False, timeout=5)
            times.append((time.perf_counter() - start) * 1000)
            assert answer.status_code == 303, answer.status_code
    return times


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--logins", type=int, default=200)
    parser.add_argument("--bare-server", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.bare_server:
        bare_server(args.bare_server)
        return

    agent = FakeAgent().start()
    agent.add_client("127.0.0.1", "3a:00:00:00:00:01")
    env = {**os.environ, "PORCHLIGHT_PORTAL_RATE_LIMIT_PER_MAC": "1000000/60",
           "PORCHLIGHT_PORTAL_RATE_LIMIT_PER_IP": "1000000/60"}  # fmt: skip
    portal_port, bare_port = free_port(), free_port()
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "porchlight.cli", "portal", "serve", "--bind",
             f"127.0.0.1:{portal_port}", "--agent-socket", agent.path,
             "--workers", WORKERS, "--threads", THREADS],
            env=env, stderr=subprocess.DEVNULL,
        ),
        subprocess.Popen([sys.executable, __file__, "--bare-server", str(bare_port)],
                         stderr=subprocess.DEVNULL),
    ]  # fmt: skip
    try:
        wait_listening(portal_port, procs[0])
        wait_listening(bare_port, procs[1])
        bare, portal = [], []
        for _ in range(args.rounds):
            bare.append(wrk(bare_port, args.seconds))
            portal.append(wrk(portal_port, args.seconds))
        b, p = max(bare), max(portal)
        print(f"probe throughput, bare Flask redirect : {b:8.0f} req/s  (rounds {bare})")
        print(f"probe throughput, portal (agent asked): {p:8.0f} req/s  (rounds {portal})")
        print(f"ratio portal/bare                     : {p / b:8.2f}  (target >= 0.8)")
        times = logins(f"http://127.0.0.1:{portal_port}", agent, args.logins)
        q = statistics.quantiles(times, n=100)
        print(f"login POST ({len(times)} logins): median {statistics.median(times):.1f} ms, "
              f"p95 {q[94]:.1f} ms, max {max(times):.1f} ms  (target p95 < 50 ms)")  # fmt: skip
    finally:
        for proc in procs:
            proc.send_signal(signal.SIGINT)
        for proc in procs:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
        agent.cleanup()


if __name__ == "__main__":
    main()
