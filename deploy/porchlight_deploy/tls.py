"""The portal over HTTPS (RFC 8908: the captive-portal API is served over TLS).

`install-router --portal-name NAME --tls-cert FILE --tls-key FILE`: a
certificate the venue got for a real name. Checked before any change (it
parses, the key is its key, it is valid now and names NAME); installed to
/etc/porchlight/tls (the key 0640 root:porchlight, readable by the portal's
group only); dnsmasq answers NAME with the LAN address (host-record=) and
hands out https://NAME:8443/api/captive as DHCP option 114; the unit
porchlight-portal-tls.service serves the portal on LAN_IP:8443 with it.
"""

from __future__ import annotations

import logging
import re
import shutil
import ssl
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from .host import ETC, PORTAL_USER, TLS_UNIT, UNIT_DIR, DeployError, Host, last_line

if TYPE_CHECKING:
    from .journal import Journal

log = logging.getLogger(__name__)

TLS_PORT = 8443
TLS_DIR = f"{ETC}/tls"
CERT = f"{TLS_DIR}/portal.crt"
KEY = f"{TLS_DIR}/portal.key"
NAME = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
SOON_DAYS = 14


@dataclass(frozen=True)
class Tls:
    name: str
    cert: Path
    key: Path


def tls_options(name: str | None, cert: Path | None, key: Path | None) -> Tls | None:
    """The three flags together, or none of them."""
    given = [
        flag
        for flag, value in (("--portal-name", name), ("--tls-cert", cert), ("--tls-key", key))
        if value
    ]
    if not given:
        return None
    if len(given) != 3:
        raise DeployError(
            "--portal-name, --tls-cert and --tls-key go together",
            hint="pass all three (the certificate must be for the portal name), or none",
        )
    assert name and cert and key
    name = name.strip().lower().rstrip(".")
    if not NAME.match(name):
        raise DeployError(f"--portal-name '{name}' is not a DNS name such as portal.venue.example")
    return Tls(name, cert, key)


def _openssl(host: Host, *args: str) -> str:
    if shutil.which("openssl") is None:
        raise DeployError(
            "openssl is needed to check the certificate", hint="apt-get install openssl"
        )
    return host.run(["openssl", *args], timeout=30).stdout.strip()


def check_certificate(host: Host, tls: Tls, now: float | None = None) -> datetime:
    """DeployError unless the certificate and key are usable for tls.name; returns its expiry."""
    for what, path in (("--tls-cert", tls.cert), ("--tls-key", tls.key)):
        if not path.is_file():
            raise DeployError(f"{what} {path}: no such file")
    try:
        dates = _openssl(host, "x509", "-in", str(tls.cert), "-noout", "-startdate", "-enddate")
    except DeployError as exc:
        raise DeployError(f"--tls-cert {tls.cert} is not a PEM certificate: {exc.message}") from exc
    fields = dict(line.split("=", 1) for line in dates.splitlines() if "=" in line)
    not_before = ssl.cert_time_to_seconds(fields["notBefore"])
    not_after = ssl.cert_time_to_seconds(fields["notAfter"])
    expiry = datetime.fromtimestamp(not_after, UTC)
    now = time.time() if now is None else now
    if not_after <= now:
        raise DeployError(
            f"the certificate {tls.cert} expired on {expiry:%Y-%m-%d}",
            hint="renew it (or get a new one) and run the installer again",
        )
    if not_before > now:
        raise DeployError(f"the certificate {tls.cert} is not valid before {fields['notBefore']}")
    match = _openssl(host, "x509", "-in", str(tls.cert), "-noout", "-checkhost", tls.name)
    if "does match" not in match:
        raise DeployError(
            f"the certificate {tls.cert} is not for {tls.name}",
            hint="pass the name the certificate was issued for as --portal-name",
        )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    try:  # what gunicorn will do with them; a passphrase is not asked for
        context.load_cert_chain(str(tls.cert), str(tls.key), password=lambda: b"")
    except ssl.SSLError as exc:
        if "KEY_VALUES_MISMATCH" in str(exc) or "key values mismatch" in str(exc):
            raise DeployError(
                f"the key {tls.key} does not belong to the certificate {tls.cert}",
                hint="pass the private key the certificate was issued for",
            ) from exc
        raise DeployError(
            f"cannot use the key {tls.key}: {exc.reason or exc}",
            hint="a PEM private key without a passphrase",
        ) from exc
    if not_after - now < SOON_DAYS * 86400:
        log.warning("the certificate expires on %s: renew it soon", f"{expiry:%Y-%m-%d}")
    return expiry


def install_certificate(journal: Journal, tls: Tls) -> None:
    """Copy the certificate and the key (0640 root:porchlight) to /etc/porchlight/tls."""
    journal.mkdir(TLS_DIR, 0o755)
    journal.write(CERT, tls.cert.read_bytes(), 0o644)
    journal.write(KEY, tls.key.read_bytes(), 0o640, group=PORTAL_USER)


def installed(host: Host, name: str | None) -> Tls | None:
    """The TLS setup an earlier run installed (kept by a re-run without the flags)."""
    cert, key = host.path(CERT), host.path(KEY)
    if name and cert.is_file() and key.is_file() and host.path(f"{UNIT_DIR}/{TLS_UNIT}").exists():
        return Tls(name, cert, key)
    return None


def captive_api_url(name: str) -> str:
    return f"https://{name}:{TLS_PORT}/api/captive"


def portal_url(name: str) -> str:
    return f"https://{name}:{TLS_PORT}"


def installed_expiry(host: Host) -> tuple[bool | None, str]:
    """A check-list line for the installed certificate, if any."""
    cert = host.path(CERT)
    if not cert.is_file():
        return False, f"{CERT} missing"
    if shutil.which("openssl") is None:
        return None, "not checked: openssl is not installed"
    proc = host.run(["openssl", "x509", "-in", str(cert), "-noout", "-enddate"], check=False)
    if proc.returncode != 0:
        return False, f"{CERT}: {last_line(proc)}"
    end = ssl.cert_time_to_seconds(proc.stdout.strip().split("=", 1)[1])
    left = (end - time.time()) / 86400
    when = f"{datetime.fromtimestamp(end, UTC):%Y-%m-%d}"
    if left <= 0:
        return False, f"expired on {when}: renew it and run the installer again"
    return True, f"valid until {when}" + (" (renew it soon)" if left < SOON_DAYS else "")
