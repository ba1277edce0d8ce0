"""The lab's "internet": a tiny HTTP server that answers as the open internet does.

It serves the operating systems' captive-portal detection URLs with the
answers that mean "no portal here" (so a phone that reaches it is online), and
a page that says it is the lab's internet host. Run inside the internet
namespace::

    python -m porchlight.lab.internet_host --bind 198.51.100.10 --port 80 --user nobody

It binds as root, then drops to `--user`.
"""

from __future__ import annotations

import argparse
import grp
import logging
import os
import pwd
import signal
import sys
from collections.abc import Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import FrameType

log = logging.getLogger(__name__)

APPLE_SUCCESS = "<HTML><HEAD><TITLE>Success</TITLE></HEAD><BODY>Success</BODY></HTML>"
HOME_MARKER = "Porchlight lab internet host"
FIREFOX_CANONICAL = (
    '<meta http-equiv="refresh" content="0;url=https://support.mozilla.org/kb/captive-portal"/>'
)

# path -> (status, content type, body)
ANSWERS: dict[str, tuple[int, str, str]] = {
    "/generate_204": (204, "text/plain", ""),
    "/gen_204": (204, "text/plain", ""),
    "/hotspot-detect.html": (200, "text/html", APPLE_SUCCESS),
    "/library/test/success.html": (200, "text/html", APPLE_SUCCESS),
    "/connecttest.txt": (200, "text/plain", "Microsoft Connect Test"),
    "/ncsi.txt": (200, "text/plain", "Microsoft NCSI"),
    "/success.txt": (200, "text/plain", "success\n"),
    "/canonical.html": (200, "text/html", FIREFOX_CANONICAL),
}


def home_page(host: str) -> str:
    return (
        "<!doctype html><html><head><meta charset=utf-8>"
        f"<title>{HOME_MARKER}</title></head><body>"
        f"<h1>{HOME_MARKER}</h1>"
        f"<p>You reached the internet ({host}): no captive portal in the way.</p>"
        "</body></html>"
    )


class InternetHandler(BaseHTTPRequestHandler):
    server_version = "porchlight-lab-internet/1"

    def version_string(self) -> str:
        return self.server_version

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        self._answer(send_body=True)

    def do_HEAD(self) -> None:  # noqa: N802
        self._answer(send_body=False)

    def do_POST(self) -> None:  # noqa: N802
        length = min(int(self.headers.get("Content-Length") or 0), 1 << 20)
        self.rfile.read(length)
        self._answer(send_body=True)

    def _answer(self, *, send_body: bool) -> None:
        path = self.path.split("?", 1)[0]
        host = (self.headers.get("Host") or "").split(":", 1)[0] or "unknown"
        if path in ANSWERS:
            status, ctype, body = ANSWERS[path]
        elif path in ("/", "/index.html"):
            status, ctype, body = 200, "text/html", home_page(host)
        else:
            status, ctype, body = 404, "text/html", home_page(host).replace("<p>", "<p>404. ", 1)
        data = body.encode()
        self.send_response(status)
        if status != 204:
            self.send_header("Content-Type", f"{ctype}; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        if send_body and status != 204:
            self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        log.info("%s %s", self.client_address[0], format % args)


def drop_privileges(user: str) -> None:
    entry = pwd.getpwnam(user)
    group = grp.getgrgid(entry.pw_gid)
    os.setgroups([])
    os.setgid(group.gr_gid)
    os.setuid(entry.pw_uid)


def make_server(host: str, port: int) -> ThreadingHTTPServer:
    server = ThreadingHTTPServer((host, port), InternetHandler)
    server.daemon_threads = True
    return server


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="The lab's internet host.")
    parser.add_argument("--bind", default="0.0.0.0")
    parser.add_argument("--port", type=int, default=80)
    parser.add_argument("--user", help="drop to this user after binding")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    server = make_server(args.bind, args.port)
    if args.user:
        drop_privileges(args.user)

    def stop(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    log.info("internet host on %s:%d", args.bind, args.port)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
