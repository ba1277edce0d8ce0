"""What a flashed router's first boot leaves for the installer: its answer in
porchlight.txt on the card (written so a pulled plug cannot lose or tear it)
and on the console, without booting anything (tmp directories as its root).

The adoption path's errors run first_boot() whole against a stand-in admin on
127.0.0.1 (a script of answers to ``POST /api/v1/announce``), with `ip`,
`networkctl` and install-router answered as on a two-port router."""

from __future__ import annotations

import errno
import json
import os
import socket
import stat
import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import SimpleNamespace

import pytest
from porchlight_deploy import adoption, firstboot
from porchlight_deploy import image_layout as il
from porchlight_deploy.firstboot_context import Context, report
from porchlight_deploy.porchlight_txt import TEMPLATE

TXT = b"\xef\xbb\xbf# mine\r\nadmin_url = https://a.example\r\ncode = ABCD-EFGH-JKMN\r\n"


def _card(tmp_path) -> Context:
    ctx = Context(root=tmp_path)
    ctx.txt.parent.mkdir(parents=True)
    ctx.txt.write_bytes(TXT)
    return ctx


def test_answer_is_on_the_card_before_the_console_shows_it(tmp_path, monkeypatch, capsys):
    """Temporary file synced, renamed over porchlight.txt, the folder synced (the
    rename's directory entry), and only then the console line an installer waits for."""
    ctx = _card(tmp_path)
    synced: list[tuple[str, str]] = []
    real_fsync = os.fsync

    def fsync(fd: int) -> None:
        kind = "folder" if stat.S_ISDIR(os.fstat(fd).st_mode) else "file"
        synced.append((kind, capsys.readouterr().out))
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    report(ctx, "enrolled", "gate ready at Lab Café", erase_code=True)
    assert [kind for kind, _ in synced] == ["file", "folder"]
    assert all("enrolled" not in printed for _, printed in synced)  # not before it is on disk
    assert "porchlight: enrolled: gate ready at Lab Café" in capsys.readouterr().out
    text = ctx.txt.read_bytes().decode("utf-8-sig")
    assert text.startswith("# mine\r\n") and "ABCD-EFGH-JKMN" not in text
    assert text.endswith("status = enrolled\r\nmessage = gate ready at Lab Café\r\n")
    assert sorted(p.name for p in ctx.txt.parent.iterdir()) == ["porchlight.txt"]


@pytest.mark.parametrize("failing", ["fsync", "replace"])
def test_a_failed_write_leaves_porchlight_txt_as_it_was(tmp_path, monkeypatch, capsys, failing):
    """The card full or failing mid-write: the installer's file untouched, no
    temporary file left beside it, and the answer still on the console."""
    ctx = _card(tmp_path)

    def broken(*args: object) -> None:
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(os, failing, broken)
    report(ctx, "problem", "only one network port found (eth0)")
    monkeypatch.undo()
    assert ctx.txt.read_bytes() == TXT
    assert sorted(p.name for p in ctx.txt.parent.iterdir()) == ["porchlight.txt"]
    out = capsys.readouterr().out
    assert "porchlight: problem: only one network port found (eth0)" in out
    assert f"could not write {ctx.txt}: Input/output error" in out


LINKS = [
    {"ifname": name, "link_type": "ether", "address": mac, "flags": ["UP", "LOWER_UP"]}
    for name, mac in (("enp1s0", "02:00:00:00:00:01"), ("enp2s0", "02:00:00:00:00:02"))
]


class Admin:
    """A stand-in admin on 127.0.0.1: each announce gets the next (status, body) of
    `answers`; started at once or later (the admin unreachable until then)."""

    def __init__(self, answers: list[tuple]) -> None:
        self.answers = answers
        self.announced: list[dict] = []
        self.server: ThreadingHTTPServer | None = None
        with socket.socket() as probe:  # a free port, refused until start()
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        admin = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # http.server's name
                body = self.rfile.read(int(self.headers["Content-Length"]))
                admin.announced.append({"path": self.path, **json.loads(body)})
                status, answer, *headers = admin.answers.pop(0)
                self.send_response(status)
                for name, value in (headers[0] if headers else {}).items():
                    self.send_header(name, value)
                kind = "application/json" if answer.startswith(b"{") else "text/html"
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()


@pytest.fixture
def router(tmp_path, monkeypatch) -> Iterator[SimpleNamespace]:
    """A flashed router's root in tmp_path, porchlight.txt as shipped (no code), two
    ports (enp1s0 gets a lease, enp2s0 the access point), and what first boot ran."""
    ctx = Context(root=tmp_path, dhcp_wait=5)
    ctx.txt.parent.mkdir(parents=True)
    ctx.txt.write_text(TEMPLATE.format(admin_url=""))
    ran: list[list[str]] = []
    installer = SimpleNamespace(returncode=0, stderr="")

    def run(argv, timeout=60):
        argv = list(argv)
        ran.append(argv)
        out: object = []
        if argv[0] == firstboot.INSTALLER:
            result = subprocess.CompletedProcess(argv, installer.returncode, "", installer.stderr)
            return result
        if argv[:3] == ["ip", "-j", "link"]:
            out = [link for link in LINKS if argv[-1] in ("show", link["ifname"])]
        elif argv[:4] == ["ip", "-j", "-4", "addr"] and argv[-1] == "enp1s0":
            out = [{"addr_info": [{"family": "inet", "local": "192.0.2.7", "dynamic": True}]}]
        elif argv[:4] == ["ip", "-4", "-o", "addr"]:
            return subprocess.CompletedProcess(argv, 0, "2: enp2s0 inet 10.42.0.1/24", "")
        return subprocess.CompletedProcess(argv, 0, json.dumps(out), "")

    monkeypatch.setattr(firstboot, "run", run)
    monkeypatch.setattr(adoption, "run", run)
    pauses: list[tuple[int, str]] = []  # (seconds, porchlight.txt's answer then)
    on_pause: list = []

    def sleep(seconds: float) -> None:
        text = ctx.txt.read_bytes().decode()
        pauses.append((int(seconds), text[text.index("status = ") :].strip()))
        assert len(pauses) < 10, pauses
        if on_pause:
            on_pause.pop(0)()

    monkeypatch.setattr(adoption, "time", SimpleNamespace(sleep=sleep))
    yield SimpleNamespace(ctx=ctx, ran=ran, installer=installer, pauses=pauses, on_pause=on_pause)


def _bake(ctx: Context, admin_url: str, key: str | None = "pla_test-key") -> None:
    image = ctx.path(il.IMAGE_CONFIG)
    image.parent.mkdir(parents=True, exist_ok=True)
    image.write_text(il.image_config("amd64", admin_url, key, "0.1.0"))


def _answer(ctx: Context) -> str:
    text = ctx.txt.read_bytes().decode()
    return " ".join(text[text.index("status = ") :].split())


def _said_problem(ctx: Context, capsys: pytest.CaptureFixture[str], said: str) -> None:
    """`said` is the problem in porchlight.txt and on the console."""
    assert _answer(ctx) == f"status = problem message = {said}"
    assert f"porchlight: problem: {said}" in capsys.readouterr().out


def _installs(ran: list[list[str]]) -> list[list[str]]:
    return [argv for argv in ran if argv[0] == firstboot.INSTALLER]


def _touched_no_gate(ctx: Context, ran: list[list[str]]) -> None:
    assert _installs(ran) == []
    assert not ctx.path(adoption.CODE_FILE).exists()
    assert not ctx.path("/var/lib/porchlight/agent/device-token").exists()


def test_no_code_and_no_adoption_key_says_so_before_touching_a_port(router, capsys):
    """An image built without --adoption-key and porchlight.txt left without a code:
    nothing to announce with; said at once, no port probed or configured."""
    _bake(router.ctx, "https://admin.example", key=None)
    assert firstboot.first_boot(router.ctx) == 3
    said = (
        "porchlight.txt has no code and this image was built without an adoption key: "
        "put an enrollment code from the admin's Routers page (Add router) in porchlight.txt "
        "and restart the router"
    )
    _said_problem(router.ctx, capsys, said)
    assert router.ran == []  # no DHCP probe, no networkd file, no install
    assert not router.ctx.path(firstboot.NETWORK_DIR).exists()
    _touched_no_gate(router.ctx, router.ran)


def test_revoked_adoption_key_is_refused_with_what_to_do(router, capsys):
    """The admin answers 403 (the key revoked, or another tenant's): first boot stops
    (exit 3, not retried), says how to go on, and nothing of a gate is set up."""
    admin = Admin([(403, b'{"error": "invalid_key", "message": '
                         b'"adoption key is not valid or was revoked"}')])  # fmt: skip
    admin.start()
    try:
        _bake(router.ctx, admin.url)
        assert firstboot.first_boot(router.ctx) == 3
    finally:
        admin.stop()
    assert admin.announced[0]["path"] == "/api/v1/announce"
    assert admin.announced[0]["key"] == "pla_test-key"
    assert admin.announced[0]["macs"] == ["02:00:00:00:00:02", "02:00:00:00:00:01"]
    said = (
        "the admin refused this image's adoption key (HTTP 403: adoption key is not valid or "
        "was revoked): put an enrollment code from the admin's Routers page (Add router) in "
        "porchlight.txt and restart the router, or build the image again with the tenant's "
        "current key"
    )
    _said_problem(router.ctx, capsys, said)
    assert router.pauses == []
    _touched_no_gate(router.ctx, router.ran)


def test_admin_unreachable_or_its_proxy_failing_is_tried_again(router, capsys):
    """Announcing while the admin is down (connection refused), then behind a proxy
    answering 502: each said once in porchlight.txt and on the console, tried again
    in 30 s; then waiting for adoption, then adopted and installed with the code."""
    admin = Admin([
        (502, b"<html><h1>502 Bad Gateway</h1></html>"),
        (202, b'{"status": "waiting", "poll_seconds": 10}'),
        (200, b'{"status": "adopted", "code": "ABCD-EFGH-JKMN", "router_id": 7}'),
    ])  # fmt: skip
    router.on_pause.append(admin.start)  # up after the first try
    try:
        _bake(router.ctx, admin.url)
        assert firstboot.first_boot(router.ctx) == 0
    finally:
        admin.stop()
    down = f"cannot reach the admin at {admin.url}: [Errno 111] Connection refused"
    waiting = "serial id-"
    assert [seconds for seconds, _ in router.pauses] == [30, 30, 10]
    answers = [" ".join(text.split()) for _, text in router.pauses]
    assert answers[0] == f"status = problem message = {down}; trying again in 30 s"
    proxy = f"the admin at {admin.url} answered HTTP 502; trying again in 30 s"
    assert answers[1] == f"status = problem message = {proxy}"
    assert answers[2].startswith(f"status = waiting for adoption message = {waiting}")
    assert "adopt it on the admin's Routers page" in answers[2]
    out = capsys.readouterr().out
    assert f"porchlight: problem: {down}; trying again in 30 s" in out
    assert f"porchlight: problem: {proxy}" in out
    assert "porchlight: adopted: setting up" in out
    [install] = _installs(router.ran)
    assert install[install.index("--code") + 1] == "ABCD-EFGH-JKMN"
    assert _answer(router.ctx).startswith("status = enrolled message = gate ready")
    assert not router.ctx.path(adoption.CODE_FILE).exists()  # used


def test_handed_over_code_refused_by_install_is_not_kept(router, capsys):
    """The code the admin handed over at adoption is refused (expired before the
    install got to it): install-router undid its work (its journal), the code is not
    kept for the next start, and the installer is told to put a code in porchlight.txt."""
    admin = Admin([(200, b'{"status": "adopted", "code": "ABCD-EFGH-JKMN", "router_id": 7}')])
    admin.start()
    router.installer.returncode = 1
    router.installer.stderr = (
        "install-router: enrollment failed: code is not valid, already used, or expired\n"
        "install-router: everything it did was undone\n"
    )
    try:
        _bake(router.ctx, admin.url)
        assert firstboot.first_boot(router.ctx) == 3
    finally:
        admin.stop()
    said = (
        "enrollment failed: code is not valid, already used, or expired (the code the admin "
        "handed over at adoption): put an enrollment code from the admin's Routers page "
        "(Add router) in porchlight.txt and restart the router"
    )
    _said_problem(router.ctx, capsys, said)
    assert len(_installs(router.ran)) == 1
    assert not router.ctx.path(adoption.CODE_FILE).exists()


def test_announce_answers_that_are_not_the_admins():
    """What a router may meet between it and the admin, each a (status, answer,
    pause) the announce loop understands: a login page behind a redirect, a proxy's
    Retry-After as a date or in seconds, an overlong message, a reply not HTTP."""
    body = {"key": "pla_x", "secret": "s" * 64, "serial": "x", "macs": ["02:00:00:00:00:01"]}
    admin = Admin([
        (200, b"<html>Welcome to Hotel Wi-Fi: log in</html>"),
        (503, b'{"message": "busy"}', {"Retry-After": "Wed, 21 Oct 2026 07:28:00 GMT"}),
        (429, b'{"message": "' + b"slow down " * 100 + b'"}', {"Retry-After": "7"}),
    ])  # fmt: skip
    admin.start()
    try:
        status, answer, pause = adoption.post(admin.url, body)
        assert (status, pause) == (0, 0)
        assert answer["message"] == (
            f"{admin.url} answered with a page that is not the admin's (HTTP 200): check "
            "admin_url, and that this network lets the router out without a login"
        )
        assert adoption.post(admin.url, body) == (503, {"message": "busy"}, 0)
        status, answer, pause = adoption.post(admin.url, body)
        assert (status, pause, len(answer["message"])) == (429, 7, 300)
    finally:
        admin.stop()
    with socket.socket() as raw:  # answers anything with a line that is not HTTP
        raw.bind(("127.0.0.1", 0))
        raw.listen()

        def garble() -> None:
            conn, _ = raw.accept()
            with conn:
                conn.recv(65536)
                conn.sendall(b"SSH-2.0-OpenSSH_9.2\r\n")

        thread = threading.Thread(target=garble, daemon=True)
        thread.start()
        url = f"http://127.0.0.1:{raw.getsockname()[1]}"
        status, answer, _ = adoption.post(url, body)
        thread.join(5)
    assert status == 0 and answer["message"].startswith(f"cannot reach the admin at {url}: ")
