"""`porchlight portal serve` under real gunicorn, driven like the lab's plain HTTP guest."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from portal_fake_agent import FakeAgent
from portal_helpers import csrf_of

MAC = "3a:aa:bb:cc:dd:01"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def served():
    agent = FakeAgent().start()
    agent.add_client("127.0.0.1", MAC)
    port = _free_port()
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    env.pop("PORCHLIGHT_PORTAL_SECRET_KEY", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "porchlight.cli", "portal", "serve", "--bind",
         f"127.0.0.1:{port}", "--agent-socket", agent.path, "--workers", "2"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(proc.stderr.read().decode()) from None
                time.sleep(0.1)
        yield f"http://127.0.0.1:{port}", agent
    finally:
        proc.send_signal(signal.SIGINT)  # gunicorn's quick shutdown
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        proc.stderr.close()
        agent.cleanup()


def test_probe_redirects_to_the_address_the_guest_reached(served):
    base, agent = served
    agent.clients["127.0.0.1"]["state"] = "pending"
    answer = requests.get(
        f"{base}/hotspot-detect.html",
        headers={"Host": "captive.apple.com"},
        allow_redirects=False,
        timeout=5,
    )
    assert answer.status_code == 302
    assert answer.headers["Location"] == f"{base}/"


def test_rate_limit_is_shared_by_all_workers(served):
    base, agent = served
    agent.clients["127.0.0.1"]["state"] = "pending"
    codes = []
    for _ in range(12):
        with requests.Session() as session:  # new connections: spread over the workers
            page = session.get(f"{base}/", timeout=5).text
            answer = session.post(
                f"{base}/login",
                data={"csrf_token": csrf_of(page), "channel": "form", "name": "A", "phone": "1"},
                allow_redirects=False,
                timeout=5,
            )
            codes.append(answer.status_code)
    assert codes[:10] == [422] * 10
    assert codes[10:] == [429, 429]


def test_cli_rejects_a_bad_bind_in_one_line():
    out = subprocess.run(
        [sys.executable, "-m", "porchlight.cli", "portal", "serve", "--bind", "nowhere",
         "--agent-socket", "/nonexistent"],
        capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    assert out.returncode == 2
    assert out.stderr.strip().splitlines() == [
        "porchlight: --bind: expected HOST:PORT, got 'nowhere'"
    ]


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to switch users")
def test_started_as_root_with_user_the_workers_run_unprivileged():
    import pwd

    nobody = pwd.getpwnam("nobody")
    agent = FakeAgent().start()
    agent.add_client("127.0.0.1", MAC)
    os.chmod(agent.dir, 0o755)
    os.chmod(agent.path, 0o666)
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "porchlight.cli", "portal", "serve", "--bind",
         f"127.0.0.1:{port}", "--agent-socket", agent.path, "--workers", "1",
         "--user", "nobody"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                page = requests.get(f"http://127.0.0.1:{port}/", timeout=2)
                break
            except requests.ConnectionError:
                assert proc.poll() is None and time.monotonic() < deadline
                time.sleep(0.1)
        assert page.status_code == 200 and 'name="csrf_token"' in page.text
        login = requests.post(
            f"http://127.0.0.1:{port}/login",
            data={"csrf_token": csrf_of(page.text), "channel": "form", "name": "Lan",
                  "phone": "0912 345 678", "consent_wifi": "yes"},
            allow_redirects=False, timeout=5,
        )  # fmt: skip
        assert login.status_code == 303, login.text
        assert agent.logins[0]["data"]["phone"] == "+84912345678"
        probe = requests.get(f"http://127.0.0.1:{port}/generate_204", timeout=5)
        assert probe.status_code == 204
        children = Path(f"/proc/{proc.pid}/task/{proc.pid}/children").read_text().split()
        assert children
        for child in children:
            status = Path(f"/proc/{child}/status").read_text()
            uid_line = next(line for line in status.splitlines() if line.startswith("Uid:"))
            assert uid_line.split()[1:] == [str(nobody.pw_uid)] * 4
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=10)
        agent.cleanup()
