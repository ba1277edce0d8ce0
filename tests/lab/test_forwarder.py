"""The TCP → Unix-socket forwarder relays both ways and half-closes correctly."""

from __future__ import annotations

import errno
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from porchlight.lab.forwarder import Forwarder


def _upper_server(path: Path) -> socket.socket:
    """A Unix server that reads until EOF, then answers the bytes upper-cased."""
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(str(path))
    server.listen()

    def serve() -> None:
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            with conn:
                data = b""
                while chunk := conn.recv(65536):
                    data += chunk
                conn.sendall(data.upper())

    threading.Thread(target=serve, daemon=True).start()
    return server


@pytest.fixture
def forwarder(tmp_path: Path) -> Iterator[Forwarder]:
    target = tmp_path / "upstream.sock"
    server = _upper_server(target)
    fwd = Forwarder("127.0.0.1", 0, str(target))
    thread = threading.Thread(target=fwd.serve_forever, daemon=True)
    thread.start()
    try:
        yield fwd
    finally:
        fwd.close()
        thread.join(5)
        server.close()


def _exchange(port: int, payload: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as conn:
        conn.sendall(payload)
        conn.shutdown(socket.SHUT_WR)
        answer = b""
        while chunk := conn.recv(65536):
            answer += chunk
        return answer


def test_relays_request_and_answer(forwarder):
    assert _exchange(forwarder.port, b"get / http/1.1\r\n\r\n") == b"GET / HTTP/1.1\r\n\r\n"


def test_relays_large_payloads_and_parallel_connections(forwarder):
    payload = bytes(range(97, 123)) * 40000  # ~1 MB
    results: list[bytes] = []
    threads = [
        threading.Thread(target=lambda: results.append(_exchange(forwarder.port, payload)))
        for _ in range(4)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(20)
    assert results == [payload.upper()] * 4


def test_missing_upstream_closes_the_connection(tmp_path):
    fwd = Forwarder("127.0.0.1", 0, str(tmp_path / "absent.sock"))
    thread = threading.Thread(target=fwd.serve_forever, daemon=True)
    thread.start()
    try:
        try:
            answer = _exchange(fwd.port, b"hello")
        except OSError as exc:
            # The forwarder hangs up at once; depending on timing the client sees
            # a reset, a broken pipe, or (closing its write side after the hang-up)
            # ENOTCONN. Each means the same: closed, nothing answered.
            if exc.errno not in (errno.ECONNRESET, errno.EPIPE, errno.ENOTCONN):
                raise
            answer = b""
        assert answer == b""
    finally:
        fwd.close()
        thread.join(5)
