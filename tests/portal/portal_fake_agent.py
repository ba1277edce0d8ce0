"""A faithful test double of the agent's local API (docs/protocols.md section 1).

A real Unix socket, one JSON line in and one out per connection, the same
actions, answers and error codes as the agent; its "firewall" is a dict. The
login data is checked with the shared event schema as the agent does.
"""

from __future__ import annotations

import copy
import json
import os
import socketserver
import tempfile
import threading
import time
import uuid
from typing import Any

from porchlight.events import new_event_id, utc_now_iso, validate_event

CONFIG: dict[str, Any] = {
    "location": {"id": 1, "name": "Café Sài Gòn Q1", "country": "VN",
                 "timezone": "Asia/Ho_Chi_Minh"},
    "portal": {
        "venue_name": "Café Sài Gòn",
        "logo_url": None,
        "colors": {"primary": "#0f766e", "background": "#f8fafc"},
        "welcome": {
            "vi": "Chào mừng bạn đến Café Sài Gòn!",
            "th": "ยินดีต้อนรับสู่ Café Sài Gòn!",
            "en": "Welcome to Café Sài Gòn!",
        },
        "channels": ["form", "click", "voucher", "zalo", "google", "facebook"],
        "fields": {"name": "required", "phone": "required", "email": "optional"},
        "consents": [
            {
                "purpose": "wifi",
                "required": True,
                "version": "wifi-v1",
                "text": {
                    "vi": "Tôi đồng ý với điều khoản sử dụng Wi-Fi.",
                    "th": "ฉันยอมรับเงื่อนไขการใช้ Wi-Fi",
                    "en": "I accept the Wi-Fi terms of use.",
                },
            },
            {
                "purpose": "marketing",
                "required": False,
                "version": "mkt-v1",
                "text": {
                    "vi": "Tôi muốn nhận ưu đãi qua SMS/Zalo.",
                    "th": "ฉันต้องการรับข้อเสนอพิเศษ",
                    "en": "Send me offers by SMS or Zalo.",
                },
            },
        ],
        "success_url": "http://internet.test/welcome",
    },
    "tags": ["wifi", "làm đẹp"],
    "session": {"length_seconds": 3600, "idle_seconds": 900, "remember_seconds": 604800},
    "walled_garden": {"domains": [], "cidrs": []},
    "vouchers": [
        {"code": "CAFE2026", "duration_seconds": 7200, "max_uses": 100, "max_devices": 50,
         "expires_at": None},
        {"code": "ONCE", "duration_seconds": 600, "max_uses": 1, "max_devices": 1,
         "expires_at": None},
        {"code": "OLD", "duration_seconds": 600, "max_uses": 10, "max_devices": 10,
         "expires_at": "2020-01-01T00:00:00Z"},
    ],
}  # fmt: skip


class FakeAgent:
    def __init__(self, config: dict[str, Any] | None = None) -> None:
        self.config = copy.deepcopy(config or CONFIG)
        self.dir = tempfile.mkdtemp(prefix="plfa", dir="/tmp")
        self.path = os.path.join(self.dir, "agent.sock")
        self.clients: dict[str, dict[str, Any]] = {}  # by ip
        self.logins: list[dict[str, Any]] = []  # validated login events
        self.proofs: list[Any] = []  # the proof each authorize brought (welcome back)
        self.voucher_uses: dict[str, list[str]] = {}
        self.calls: list[str] = []
        self.lock = threading.Lock()
        self.server: socketserver.ThreadingUnixStreamServer | None = None
        self.authorize_delay = 0.0

    # -- the world -------------------------------------------------------
    def add_client(
        self,
        ip: str,
        mac: str,
        state: str = "pending",
        remembered: dict[str, Any] | None = None,
    ) -> None:
        self.clients[ip] = {
            "mac": mac,
            "ip": ip,
            "state": state,
            "hostname": "phone-" + mac[-2:],
            "randomized": bool(int(mac[:2], 16) & 2),
            "seconds_remaining": None,
            "session_id": None,
            "remembered": remembered,
        }

    def online_macs(self) -> set[str]:
        return {c["mac"] for c in self.clients.values() if c["state"] == "authorized"}

    # -- the protocol ----------------------------------------------------
    def handle(self, request: Any) -> dict[str, Any]:
        if not isinstance(request, dict) or not isinstance(request.get("action"), str):
            return _error("bad_request", "request needs an action")
        action = request["action"]
        with self.lock:
            self.calls.append(action)
        if action == "config":
            return {"ok": True, "config": self.config}
        if action == "client_for_ip":
            client = self.clients.get(request.get("ip"))
            if client is None:
                return _error("not_found", "no client for that IP")
            return {"ok": True, "client": dict(client)}
        if action == "authorize":
            return self._authorize(request)
        if action == "status":
            return {"ok": True, "clients": list(self.clients.values())}
        return _error("unknown_action", f"unknown action {action[:40]!r}")

    def _authorize(self, request: dict[str, Any]) -> dict[str, Any]:
        if self.authorize_delay:
            time.sleep(self.authorize_delay)
        client = self.clients.get(request.get("ip"))
        if client is None or client["mac"] != request.get("mac"):
            return _error("not_found", "no such client")
        if client["state"] == "blocked":
            return _error("blocked", "blocked")
        login = request.get("login")
        if not isinstance(login, dict):
            return _error("bad_request", "login: expected an object")
        self.proofs.append(login.get("proof"))
        login = {k: v for k, v in login.items() if k != "proof"}  # as the agent: never an event
        session_id = str(uuid.uuid4())
        event = {
            "id": new_event_id(),
            "type": "login",
            "occurred_at": utc_now_iso(),
            "mac": client["mac"],
            "data": {**login, "session_id": session_id},
        }
        try:
            clean = validate_event(event)
        except ValueError as exc:
            return _error("bad_request", str(exc))
        length = int(self.config["session"]["length_seconds"])
        if login.get("channel") == "voucher":
            refusal, length = self._voucher(login.get("voucher"), client["mac"])
            if refusal:
                return _error(refusal, "voucher refused")
        with self.lock:
            self.logins.append(clean)
            client.update(state="authorized", seconds_remaining=length, session_id=session_id)
        return {
            "ok": True,
            "session": {
                "id": session_id,
                "started_at": utc_now_iso(),
                "expires_at": utc_now_iso(),
                "seconds_remaining": length,
            },
        }

    def _voucher(self, code: Any, mac: str) -> tuple[str | None, int]:
        for voucher in self.config["vouchers"]:
            if voucher["code"] == code:
                break
        else:
            return "voucher_invalid", 0
        if voucher["expires_at"] and voucher["expires_at"] < utc_now_iso():
            return "voucher_expired", 0
        uses = self.voucher_uses.setdefault(code, [])
        if len(uses) >= voucher["max_uses"]:
            return "voucher_used_up", 0
        if mac not in uses and len(set(uses)) >= voucher["max_devices"]:
            return "voucher_device_limit", 0
        uses.append(mac)
        return None, int(voucher["duration_seconds"])

    # -- the socket ------------------------------------------------------
    def start(self) -> FakeAgent:
        agent = self

        class Handler(socketserver.StreamRequestHandler):
            def handle(self) -> None:
                line = self.rfile.readline(65537)
                try:
                    request = json.loads(line)
                except ValueError:
                    answer = _error("bad_request", "not JSON")
                else:
                    answer = agent.handle(request)
                self.wfile.write(json.dumps(answer, ensure_ascii=False).encode() + b"\n")

        class Server(socketserver.ThreadingUnixStreamServer):
            daemon_threads = True

        self.server = Server(self.path, Handler)
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None
        if os.path.exists(self.path):
            os.unlink(self.path)

    def cleanup(self) -> None:
        self.stop()
        for name in os.listdir(self.dir):
            os.unlink(os.path.join(self.dir, name))
        os.rmdir(self.dir)


def _error(code: str, message: str) -> dict[str, Any]:
    return {"ok": False, "error": code, "message": message}
