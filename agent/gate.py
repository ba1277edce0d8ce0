"""The gate: store (truth) + kernel sets, and the actions the socket API names.

Every method takes the one lock, so socket threads, watchers and the reconcile
loop never interleave a store change with its kernel change.
"""

from __future__ import annotations

import ipaddress
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from sqlite_utils import Database

from porchlight.agent import nft_ruleset, sessions, welcome_back
from porchlight.agent.config import DEFAULT_CONFIG
from porchlight.agent.conntrack import Conntrack
from porchlight.agent.gate_claims import ClaimTracker, Resolver
from porchlight.agent.gate_status import VIEW_SQL, StatusView
from porchlight.agent.nft import Nft
from porchlight.agent.reconcile import Changes
from porchlight.agent.runner import CommandError
from porchlight.agent.welcome_back import given_name
from porchlight.errors import PorchlightError
from porchlight.events import CHANNELS, EventError, normalize_mac

log = logging.getLogger(__name__)


class GateError(PorchlightError):
    """A refused action; `code` is the socket API error code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def clean_mac(value: Any) -> str:
    try:
        return normalize_mac(value)
    except EventError as exc:
        raise GateError("bad_request", str(exc)) from exc


def clean_ip(value: Any) -> str:
    try:
        return str(ipaddress.ip_address(str(value).strip()))
    except ValueError as exc:
        raise GateError("bad_request", f"ip: {str(value)[:45]!r} is not an IP address") from exc


class Gate(StatusView, ClaimTracker):
    def __init__(
        self,
        db: Database,
        spec: nft_ruleset.GateSpec,
        *,
        nft: Nft | None = None,
        conntrack: Conntrack | None = None,
        resolve_mac: Resolver | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.db = db
        self.spec = spec
        self.nft = nft or Nft()
        self.conntrack = conntrack or Conntrack()
        self.resolve_mac = resolve_mac
        self.clock = clock
        self.lock = threading.RLock()
        self.config: dict[str, Any] = DEFAULT_CONFIG
        self.ruleset = nft_ruleset.build(spec)
        self._counters: dict[str, tuple[int, int]] = {}  # element -> (packets, bytes) last seen
        self._seen: dict[tuple[str, tuple[tuple[str, Any], ...]], float] = {}
        self._owners: dict[str, str] = {}
        self._trackers: list[set[tuple[str, str]]] = []  # one per reconcile in flight
        self._rebuilds = 0

    # ---- reading -------------------------------------------------------------------
    def client_for_ip(self, ip: Any) -> dict[str, Any]:
        """The device behind `ip`: the kernel's neighbour entry now, never an old row."""
        address = clean_ip(ip)
        if self.resolve_mac is not None:
            mac = self.kernel_mac(address)
            if mac is None:
                raise GateError("not_found", f"no client with IP {address} on the LAN")
            self.seen(mac, ip=address)
            sql, args = VIEW_SQL + " WHERE m.mac = ?", [mac]
        else:
            sql = VIEW_SQL + " WHERE c.ip = ? OR c.ip6 = ? ORDER BY c.last_seen DESC LIMIT 1"
            args = [address, address]
        with self.lock:
            rows = list(self.db.query(sql, args))
            if not rows:
                raise GateError("not_found", f"no client with IP {address} on the LAN")
            return self._view(rows[0], self.clock(), address)

    def prune(self, keep_seconds: int = 30 * 86400) -> int:
        """Forget clients and closed sessions older than `keep_seconds` (the admin has them)."""
        with self.lock, self.db.atomic():
            cutoff = sessions.iso(self.clock() - keep_seconds)
            n = self.db.execute(
                "DELETE FROM sessions WHERE ended_at IS NOT NULL AND ended_at < ?", [cutoff]
            ).rowcount
            n += self.db.execute(
                "DELETE FROM clients WHERE last_seen < ? AND mac NOT IN "
                "(SELECT mac FROM sessions WHERE ended_at IS NULL) "
                "AND mac NOT IN (SELECT mac FROM mac_lists)",
                [cutoff],
            ).rowcount
            return n

    # ---- watchers ------------------------------------------------------------------
    def seen(self, mac: str, ip: str | None = None, **details: str | None) -> None:
        kwargs: dict[str, Any] = dict(details)
        if ip:
            kwargs["ip6" if ":" in ip else "ip"] = clean_ip(ip)
        self.record(clean_mac(mac), **kwargs)

    # ---- actions -------------------------------------------------------------------
    def authorize(self, mac: Any, ip: Any, login: Any) -> dict[str, Any]:
        mac, address = clean_mac(mac), clean_ip(ip)
        if not isinstance(login, dict):
            raise GateError("bad_request", "login: expected an object")
        channel = login.get("channel")
        if channel not in CHANNELS:
            raise GateError("bad_request", f"login.channel: expected one of {', '.join(CHANNELS)}")
        if self.resolve_mac is not None:  # the device at that address now, not a row
            holder = self.kernel_mac(address)
            if holder != mac:
                log.warning("authorize %s at %s refused: the kernel has %s", mac, address, holder)
                raise GateError("not_found", f"{mac} is not the device at {address} now")
            self.seen(mac, ip=address)
        with self.lock:
            now = self.clock()
            if sessions.mac_list(self.db, mac) == "blocked":
                raise GateError("blocked", "this device is blocked at this venue")
            current = sessions.open_session(self.db, mac)
            if current and sessions.remaining(current, now) > 0:
                if current["ip"] in (None, address) or ":" in address:
                    return self._session_view(current, now)
                # the MAC is online at another address: this login starts its own session
                self._unbind(mac, current["ip"])
            length = int(self.config["session"]["length_seconds"])
            if channel == "voucher":
                length, code = self._check_voucher(login.get("voucher"), mac, now)
                login = {**login, "voucher": code}
            elif channel == "returning":
                window = int(self.config["session"]["remember_seconds"])
                if sessions.remembered(self.db, mac, now, window) is None:
                    raise GateError("bad_request", "this device has no recent login to return to")
                try:
                    welcome_back.check(self.db, mac, login.get("proof"))
                except welcome_back.ProofRefused as exc:
                    raise GateError("returning_proof", str(exc)) from exc
            login = {k: v for k, v in login.items() if k not in ("session_id", "proof")}
            token, digest = welcome_back.new_proof()
            remember = {
                "name": given_name(login.get("name"), self._country()),
                "phone_tail": welcome_back.phone_tail(login.get("phone")),
                "proof": digest,
            }
            bind = address
            if ":" in address:  # a login over IPv6: bind the IPv4 address the MAC holds
                bind = (sessions.get_client(self.db, mac) or {}).get("ip") or address
            session = self._start(mac, bind, now, length, channel, login, current, remember)
            return {**session, "proof": token}  # for the portal's cookie; never stored

    def admit(self, mac: Any, seconds: int | None = None) -> dict[str, Any]:
        """Operator `auth MAC`: a session without a guest login."""
        mac = clean_mac(mac)
        with self.lock:
            now = self.clock()
            current = sessions.open_session(self.db, mac)
            if current and sessions.remaining(current, now) > 0:
                return self._session_view(current, now)
            client = sessions.get_client(self.db, mac) or {}
            length = seconds or int(self.config["session"]["length_seconds"])
            return self._start(mac, client.get("ip"), now, length, "operator", None, current)

    def _start(
        self,
        mac: str,
        ip: str | None,
        now: float,
        length: int,
        channel: str,
        login: dict[str, Any] | None,
        stale: dict[str, Any] | None,
        remember: dict[str, str | None] | None = None,
    ) -> dict[str, Any]:
        if stale:
            reason = "expired" if sessions.remaining(stale, now) <= 0 else "moved"
            sessions.end_session(self.db, stale, now, reason)
        if ip and ":" not in ip:
            self.record(mac, ip=ip)
        try:
            session = sessions.start_session(
                self.db,
                mac=mac,
                ip=ip,
                now=now,
                length=length,
                channel=channel,
                login=login,
                remember=remember,
            )
        except EventError as exc:
            raise GateError("bad_request", str(exc)) from exc
        adds: dict[str, dict[str, int | None]] = {"allowed": {mac: length}}
        if ip and ":" not in ip:
            adds["rx4"] = {ip: length}
            adds["bound4"] = {nft_ruleset.bound_key(mac, ip): length}
        self._apply_changes(Changes(add=adds))
        for elements in adds.values():  # fresh elements count from zero
            self._counters.update(dict.fromkeys(elements, (0, 0)))
        return session

    def _session_view(self, session: dict[str, Any], now: float) -> dict[str, Any]:
        return {
            "id": session["id"],
            "started_at": session["started_at"],
            "expires_at": session["expires_at"],
            "seconds_remaining": sessions.remaining(session, now),
        }

    def _check_voucher(self, code: Any, mac: str, now: float) -> tuple[int, str]:
        """(session length, the code as configured) or a refusal."""
        if not isinstance(code, str) or not code.strip():
            raise GateError("voucher_invalid", "enter a voucher code")
        code = code.strip()
        voucher = next(
            (v for v in self.config.get("vouchers", []) if v["code"].lower() == code.lower()), None
        )
        if voucher is None:
            raise GateError("voucher_invalid", "this voucher code is not valid here")
        if voucher.get("expires_at") and sessions.epoch(voucher["expires_at"]) <= now:
            raise GateError("voucher_expired", "this voucher has expired")
        uses, devices, mine = sessions.voucher_counts(self.db, voucher["code"], mac)
        if voucher.get("max_uses") and uses >= voucher["max_uses"]:
            raise GateError("voucher_used_up", "this voucher has been used up")
        if voucher.get("max_devices") and not mine and devices >= voucher["max_devices"]:
            raise GateError("voucher_device_limit", "this voucher is in use on too many devices")
        length = voucher.get("duration_seconds") or self.config["session"]["length_seconds"]
        return int(length), str(voucher["code"])

    def deauthorize(self, mac: Any, reason: Any = "deauthorized") -> bool:
        mac = clean_mac(mac)
        reason_text = str(reason or "deauthorized")[:50]
        with self.lock:
            session = sessions.open_session(self.db, mac)
            ended = bool(session) and sessions.end_session(
                self.db, session or {}, self.clock(), reason_text
            )
            self._kick(mac, (session or {}).get("ip"))
            return ended

    def _kick(self, mac: str, ip: str | None) -> None:
        """Take `mac` out of the kernel set and drop its tracked connections."""
        # one small delete per set, no listing (a listing of 5,000 guests costs ~0.2 s);
        # an element that is not there (expired, never added) is what we wanted anyway
        changes = Changes(delete={"allowed": [mac]})
        self._note(changes)
        try:
            self.nft.apply(changes.script(), check=False)
        except CommandError as exc:
            if "No such file" not in exc.stderr and "No such file" not in exc.message:
                log.warning("removing %s from allowed failed: %s", mac, exc)
        self._unbind(mac, ip)
        client = sessions.get_client(self.db, mac) or {}
        for address in {ip, client.get("ip"), client.get("ip6")} - {None}:
            try:
                self.conntrack.flush(str(address))
            except CommandError:
                log.exception("conntrack flush for %s failed", address)

    def set_list(self, mac: Any, name: str, *, remove: bool = False) -> None:
        """Put `mac` on the trusted or blocked list (or take it off that list)."""
        mac = clean_mac(mac)
        if name not in ("trusted", "blocked"):
            raise GateError("bad_request", "list must be trusted or blocked")
        with self.lock:
            now = self.clock()
            with self.db.atomic():
                if remove:
                    self.db.execute("DELETE FROM mac_lists WHERE mac = ? AND list = ?", [mac, name])
                else:
                    self.db.execute(
                        "INSERT INTO mac_lists (mac, list, added_at) VALUES (?, ?, ?) "
                        "ON CONFLICT (mac) DO UPDATE SET list = excluded.list",
                        [mac, name, sessions.iso(now)],
                    )
            if name == "blocked" and not remove:
                self.deauthorize(mac, "blocked")
            # the lists' sets as the store now says, for this MAC alone (no listing)
            listed = sessions.mac_list(self.db, mac)
            changes = Changes(
                add={listed: {mac: None}} if listed else {},
                delete={other: [mac] for other in ("trusted", "blocked") if other != listed},
            )
            self._note(changes)
            try:
                self.nft.apply(changes.script(sure=True), check=False)
            except CommandError:
                log.warning("nft list update for %s failed; the next reconcile repairs it", mac)
