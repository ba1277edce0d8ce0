"""One phone of the login storm (benchmarks/stadium_storm.py): DNS, probe, form, online.

Every socket is bound to the phone's own interface (SO_BINDTODEVICE) and address,
so many phones share one network namespace, each with its own MAC.
"""

from __future__ import annotations

import html
import http.client
import re
import secrets
import socket
import struct
import time
import urllib.parse

ROUTER_IP = "10.77.0.1"
PROBE_HOST, PROBE_PATH = "captive.apple.com", "/hotspot-detect.html"
APPLE_SUCCESS = "<BODY>Success</BODY>"
INTERNET_SERVER = "porchlight-lab-internet/"  # the lab's internet host, past the gate
CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"|value="([^"]+)"[^>]*name="csrf_token"')
ACTION = re.compile(r'<form[^>]*action="([^"]*login[^"]*)"')
SO_BINDTODEVICE = 25
HTTP_TIMEOUT = 15.0
ONLINE_WAIT = 15.0  # how long a phone probes again after its submit


class StepFailed(Exception):
    def __init__(self, step: str, portal: bool = False) -> None:
        super().__init__(step)
        self.step, self.portal = step, portal


class Phone:
    """One phone: its interface, address, cookies and the steps of its login."""

    def __init__(self, index: int, dev: str, address: str) -> None:
        self.index, self.dev, self.address = index, dev, address
        self.cookies: dict[str, str] = {}
        self.portal_errors = 0

    def _socket(self, kind: int) -> socket.socket:
        sock = socket.socket(socket.AF_INET, kind)
        sock.setsockopt(socket.SOL_SOCKET, SO_BINDTODEVICE, self.dev.encode())
        sock.bind((self.address, 0))
        return sock

    def resolve(self, name: str) -> str:
        """An A record from the router's DNS: up to 3 tries, 1 s each."""
        query_id = secrets.randbelow(65536)
        qname = b"".join(bytes([len(p)]) + p.encode() for p in name.split(".")) + b"\0"
        query = struct.pack("!HHHHHH", query_id, 0x0100, 1, 0, 0, 0) + qname + b"\0\1\0\1"
        with self._socket(socket.SOCK_DGRAM) as sock:
            sock.settimeout(1.0)
            for _ in range(3):
                sock.sendto(query, (ROUTER_IP, 53))
                try:
                    answer = sock.recv(2048)
                except TimeoutError:
                    continue
                found = _a_record(answer, query_id, len(query))
                if found:
                    return found
        raise StepFailed("dns")

    def http(
        self, step: str, host: str, port: int, path: str, *, name: str = "", form: str = ""
    ) -> tuple[int, dict[str, str], str]:
        """(status, headers, body) of one request; a portal's error or silence counts."""
        portal = host == ROUTER_IP
        headers = {"Host": name or f"{host}:{port}", "User-Agent": "stadium-storm", "Connection":
                   "close", "Accept-Language": "en"}  # fmt: skip
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        if form:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        sock = self._socket(socket.SOCK_STREAM)
        sock.settimeout(HTTP_TIMEOUT)
        try:
            sock.connect((host, port))
            conn = http.client.HTTPConnection(host, port, timeout=HTTP_TIMEOUT)
            conn.sock = sock
            conn.request("POST" if form else "GET", path, body=form or None, headers=headers)
            answer = conn.getresponse()
            body = answer.read().decode("utf-8", "replace")
            for value in answer.headers.get_all("Set-Cookie") or []:
                key, _, rest = value.partition("=")
                self.cookies[key.strip()] = rest.split(";", 1)[0]
            found = {k.lower(): v for k, v in answer.getheaders()}
        except (OSError, http.client.HTTPException) as exc:
            self.portal_errors += portal
            raise StepFailed(f"{step}: {type(exc).__name__}", portal) from exc
        finally:
            sock.close()
        if portal and answer.status >= 500:
            self.portal_errors += 1
        return answer.status, found, body

    def login(self) -> int:
        """Probe, page, submit, probe until online: the number of extra probes."""
        target = self.resolve(PROBE_HOST)
        status, headers, _ = self.http("probe", target, 80, PROBE_PATH, name=PROBE_HOST)
        if status != 302:
            raise StepFailed(f"probe: {status} (not captured)")
        url = urllib.parse.urlsplit(headers.get("location", ""))
        if url.hostname != ROUTER_IP:
            raise StepFailed(f"probe: Location {url.geturl()!r}")
        page_path = url.path + (f"?{url.query}" if url.query else "")
        status, _, page = self.http("page", ROUTER_IP, url.port or 80, page_path or "/")
        token, action = CSRF.search(page), ACTION.search(page)
        if status != 200 or not token or not action:
            raise StepFailed(f"page: {status}", status >= 500)
        form = urllib.parse.urlencode({
            "csrf_token": token.group(1) or token.group(2), "channel": "form", "lang": "en",
            "name": f"Storm Phone {self.index}", "phone": f"09{self.index:08d}",
            "consent_wifi": "yes",
        })  # fmt: skip
        posted = urllib.parse.urljoin(page_path or "/", html.unescape(action.group(1)))
        status, _, _ = self.http("submit", ROUTER_IP, url.port or 80, posted, form=form)
        if status not in (200, 302, 303):
            raise StepFailed(f"submit: {status}", status >= 500)
        deadline, extra = time.monotonic() + ONLINE_WAIT, 0
        while True:
            status, headers, body = self.http("online", target, 80, PROBE_PATH, name=PROBE_HOST)
            internet = headers.get("server", "").startswith(INTERNET_SERVER)
            if status == 200 and APPLE_SUCCESS in body and internet:  # not the portal's copy
                return extra
            if time.monotonic() > deadline:
                raise StepFailed(f"online: still {status} after {ONLINE_WAIT:.0f} s")
            extra += 1
            time.sleep(0.5)


def _a_record(answer: bytes, query_id: int, question_end: int) -> str | None:
    """The first A record of a DNS answer to `query_id` (names compressed or not)."""
    if len(answer) < question_end or struct.unpack("!H", answer[:2])[0] != query_id:
        return None
    count, at = struct.unpack("!H", answer[6:8])[0], question_end
    for _ in range(count):
        while answer[at] and answer[at] < 0xC0:
            at += answer[at] + 1
        at += 2 if answer[at] >= 0xC0 else 1
        kind, _, _, length = struct.unpack("!HHIH", answer[at : at + 10])
        at += 10
        if kind == 1 and length == 4:
            return socket.inet_ntoa(answer[at : at + 4])
        at += length
    return None
