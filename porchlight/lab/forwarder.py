"""A TCP → Unix-socket forwarder, so the router namespace reaches the admin.

The admin listens on the host's loopback and on a Unix socket in the lab's
state directory. Namespaces share the filesystem, so this forwarder, started
inside the router namespace, listens on 127.0.0.1:PORT there and relays each
connection to that socket: the agent reaches the admin with no interface or
route on the host. Run as::

    python -m porchlight.lab.forwarder --listen 127.0.0.1:8000 --to STATE/admin/admin.sock
"""

from __future__ import annotations

import argparse
import logging
import signal
import socket
import sys
import threading
from collections.abc import Sequence
from types import FrameType

log = logging.getLogger(__name__)

BUFFER = 65536
CONNECT_TIMEOUT = 5.0
IDLE_TIMEOUT = 300.0


def _copy(src: socket.socket, dst: socket.socket) -> None:
    """Copy `src` to `dst` until `src` ends, then end `dst`'s writing side."""
    try:
        while data := src.recv(BUFFER):
            dst.sendall(data)
    except OSError:
        pass
    finally:
        try:
            dst.shutdown(socket.SHUT_WR)
        except OSError:
            pass


def _pipe(client: socket.socket, target_path: str) -> None:
    """Relay bytes both ways until both sides are done."""
    with client:
        try:
            upstream = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            upstream.settimeout(CONNECT_TIMEOUT)
            upstream.connect(target_path)
        except OSError as exc:
            log.warning("cannot reach %s: %s", target_path, exc)
            upstream.close()
            return
        with upstream:
            client.settimeout(IDLE_TIMEOUT)
            upstream.settimeout(IDLE_TIMEOUT)
            back = threading.Thread(target=_copy, args=(upstream, client), daemon=True)
            back.start()
            _copy(client, upstream)
            back.join(IDLE_TIMEOUT)


class Forwarder:
    def __init__(self, host: str, port: int, target_path: str) -> None:
        self.target_path = target_path
        self.listener = socket.create_server((host, port), reuse_port=False)
        self._stopped = threading.Event()

    @property
    def port(self) -> int:
        return int(self.listener.getsockname()[1])

    def serve_forever(self) -> None:
        self.listener.settimeout(0.5)
        while not self._stopped.is_set():
            try:
                client, _ = self.listener.accept()
            except TimeoutError:
                continue
            except OSError:
                if self._stopped.is_set():
                    break
                raise
            threading.Thread(target=_pipe, args=(client, self.target_path), daemon=True).start()

    def stop(self) -> None:
        self._stopped.set()

    def close(self) -> None:
        self.stop()
        self.listener.close()


def _split_listen(value: str) -> tuple[str, int]:
    host, _, port = value.rpartition(":")
    return host or "127.0.0.1", int(port)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Forward a TCP port to a Unix socket.")
    parser.add_argument("--listen", required=True, help="HOST:PORT")
    parser.add_argument("--to", required=True, help="path of the Unix socket")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    host, port = _split_listen(args.listen)
    forwarder = Forwarder(host, port, args.to)

    def stop(signum: int, frame: FrameType | None) -> None:
        forwarder.stop()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    log.info("forwarding %s:%d to %s", host, port, args.to)
    try:
        forwarder.serve_forever()
    finally:
        forwarder.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
