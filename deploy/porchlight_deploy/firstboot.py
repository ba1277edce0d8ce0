"""porchlight-firstboot.service: a flashed router sets itself up.

Reads porchlight.txt from the PORCHLIGHT partition, finds its ports (the WAN
is the one where an upstream DHCP server answers, unless porchlight.txt names
them), configures them with systemd-networkd, then either runs install-router
with the enrollment code — whose journal undoes everything if enrollment
fails, so a bad code never leaves a half-configured gate — or, without a code,
announces itself to the admin baked into the image and waits to be adopted
(adoption.py). What happened goes back into porchlight.txt (the code erased
once used) and onto the console.

Exit status: 0 done, 3 a problem only a person can fix (porchlight.txt, a
missing port, a refused code: fix it and reboot), 1 worth retrying (the
admin unreachable; systemd restarts the unit).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import replace

from . import image_layout as il
from .adoption import CODE_FILE, PUT_A_CODE, adopt, adoption_key
from .firstboot_context import FIX_BY_HAND, RETRY, Context, Problem, console, report, run
from .porchlight_txt import Setup, TxtError, parse

INSTALLER = "/opt/porchlight/installer/deploy/install-router"
NETWORK_DIR = "/etc/systemd/network"
PROBE_FILE = "90-porchlight-probe.network"
VIRTUAL = ("lo", "docker", "virbr", "br-", "wg", "tun", "tap", "ifb", "dummy")


def mount_config(ctx: Context) -> None:
    """The PORCHLIGHT partition at /boot/porchlight (already there under a test's bind)."""
    mount = ctx.path(il.CONFIG_MOUNT)
    mount.mkdir(parents=True, exist_ok=True)
    if os.path.ismount(mount) or ctx.txt.exists():
        return
    device = f"/dev/disk/by-label/{il.CONFIG_LABEL}"
    run(["mount", "-t", "vfat", "-o", "umask=0077,flush", device, str(mount)])


def links() -> list[str]:
    """Ethernet ports, in name order (no loopback, bridges or tunnels)."""
    proc = run(["ip", "-j", "link", "show"])
    data = json.loads(proc.stdout or "[]")
    return sorted(
        item["ifname"]
        for item in data
        if item.get("link_type") == "ether" and not item["ifname"].startswith(VIRTUAL)
    )


def dynamic_v4(iface: str) -> str | None:
    proc = run(["ip", "-j", "-4", "addr", "show", "dev", iface])
    for link in json.loads(proc.stdout or "[]"):
        for addr in link.get("addr_info", []):
            if addr.get("family") == "inet" and addr.get("dynamic"):
                return str(addr["local"])
    return None


def networkctl_reload() -> None:
    run(["networkctl", "reload"], timeout=30)


def write_network(ctx: Context, name: str, text: str) -> None:
    path = ctx.path(NETWORK_DIR) / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def wait_for_lease(candidates: Sequence[str], seconds: float) -> str | None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        for iface in candidates:
            if dynamic_v4(iface):
                return iface
        time.sleep(1)
    return None


def find_ports(ctx: Context, setup: Setup) -> tuple[str, str]:
    """(lan, wan): as porchlight.txt names them, else the WAN is where DHCP answers."""
    ports = links()
    for key, name in (("lan", setup.lan), ("wan", setup.wan)):
        if name and name not in ports:
            raise Problem(
                f"there is no network port '{name}' ({key} in porchlight.txt); "
                f"ports here: {', '.join(ports) or 'none'}"
            )
    if len(ports) < 2:
        raise Problem(
            f"only one network port found ({', '.join(ports) or 'none'}): the router needs two, "
            "the WAN to the internet box and the LAN to the guest Wi-Fi access point; "
            "add a USB Ethernet adapter and restart"
        )
    if setup.lan and setup.wan:
        return setup.lan, setup.wan
    probed = [p for p in ports if p != setup.lan]  # up, so lan_port sees their cables
    candidates = [setup.wan] if setup.wan else probed
    console(f"looking for the WAN port (DHCP) on {', '.join(candidates)}")
    write_network(ctx, PROBE_FILE, f"[Match]\nName={' '.join(probed)}\n\n[Network]\nDHCP=ipv4\n")
    networkctl_reload()
    wan = wait_for_lease(candidates, ctx.dhcp_wait)
    ctx.path(NETWORK_DIR).joinpath(PROBE_FILE).unlink(missing_ok=True)
    if wan is None:
        raise Problem(
            f"no port got an address by DHCP ({', '.join(candidates)}): plug the WAN port into "
            "the internet box (modem or venue router) and restart",
            RETRY,
        )
    return setup.lan or lan_port([p for p in ports if p != wan]), wan


def with_carrier(ports: Sequence[str]) -> list[str]:
    """Those of `ports` a live cable is plugged into (the kernel's LOWER_UP)."""
    data = json.loads(run(["ip", "-j", "link", "show"]).stdout or "[]")
    plugged = {item["ifname"] for item in data if "LOWER_UP" in item.get("flags", [])}
    return [port for port in ports if port in plugged]


def lan_port(others: Sequence[str], seconds: float = 5) -> str:
    """The LAN among the ports that are not the WAN: the only one, else the one the
    access point's cable is in (the probe brought them up), else the first by name."""
    deadline = time.monotonic() + seconds
    while len(others) > 1:
        plugged = with_carrier(others)
        if plugged or time.monotonic() >= deadline:
            lan = (plugged or others)[0]
            why = "a cable in it" if plugged else f"none of {', '.join(others)} has a cable"
            console(f"LAN port: {lan} ({why})")
            return lan
        time.sleep(0.5)
    return others[0]


def configure_ports(ctx: Context, setup: Setup, lan: str, wan: str) -> None:
    """networkd files for both ports; waits for the WAN's lease."""
    write_network(
        ctx,
        "10-porchlight-wan.network",
        f"# written by porchlight-firstboot\n[Match]\nName={wan}\n\n[Network]\nDHCP=ipv4\n",
    )
    write_network(
        ctx,
        "20-porchlight-lan.network",
        "# written by porchlight-firstboot: the guest network\n"
        f"[Match]\nName={lan}\n\n[Link]\nRequiredForOnline=no\n\n"
        f"[Network]\nAddress={setup.lan_address}\nConfigureWithoutCarrier=yes\n"
        "LinkLocalAddressing=no\nIPv6AcceptRA=no\n",
    )
    networkctl_reload()
    lan_ip = str(setup.lan_address.ip)
    if wait_for_lease([wan], ctx.dhcp_wait) is None:
        raise Problem(f"the WAN port {wan} got no address by DHCP: check its cable", RETRY)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if lan_ip in run(["ip", "-4", "-o", "addr", "show", "dev", lan]).stdout:
            return
        time.sleep(0.5)
    raise Problem(f"the LAN port {lan} did not take the address {setup.lan_address}")


def install_message(proc: subprocess.CompletedProcess[str]) -> str:
    """install-router's own words for what went wrong (its message and hint)."""
    lines = [
        line.removeprefix("install-router: ").strip()
        for line in (proc.stderr or proc.stdout or "").splitlines()
        if line.strip() and "nothing was changed" not in line and "was undone" not in line
    ]
    return " ".join(lines[:3]) or f"install-router failed (exit {proc.returncode})"


def install_with_code(setup: Setup, lan: str, wan: str) -> str:
    assert setup.admin_url and setup.code
    argv = [INSTALLER, "--lan", lan, "--wan", wan, "--admin-url", setup.admin_url]
    argv += ["--code", setup.code]
    if setup.allow_plain_http:
        argv.append("--insecure")
    console(f"installing: LAN {lan}, WAN {wan}, admin {setup.admin_url}")
    proc = run(argv, timeout=900)
    if proc.returncode != 0:
        message = install_message(proc)
        if "systemctl" in message:  # a unit did not start: its last words, on the console only
            for unit in ("porchlight-agent", "porchlight-portal", "porchlight-dnsmasq"):
                journal = run(["journalctl", "-u", unit, "-n", "8", "--no-pager", "-o", "cat"])
                for line in journal.stdout.splitlines():
                    console(f"{unit}: {line}")
        # worth another go (systemd restarts this unit in 30 s): the admin unreachable, or a
        # unit that was slow to start (a slow first start on small hardware); the code is unused
        transient = ("cannot reach the admin", "systemctl", "did not answer within")
        retry = RETRY if any(text in message for text in transient) else FIX_BY_HAND
        raise Problem(message, retry)
    for line in proc.stdout.splitlines():
        if "[FAIL]" in line:
            console(line.strip())
    return proc.stdout


def enrolled_location(ctx: Context) -> str:
    try:
        admin = json.loads(ctx.path("/var/lib/porchlight/agent/admin.json").read_text())
    except (OSError, ValueError):
        return "?"
    return str((admin.get("location") or {}).get("name") or "?")


def image_settings(ctx: Context) -> dict[str, str | None]:
    try:
        data = json.loads(ctx.path(il.IMAGE_CONFIG).read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def first_boot(ctx: Context) -> int:
    mount_config(ctx)
    baked = image_settings(ctx)
    try:
        data = ctx.txt.read_bytes()
    except OSError:
        data = b""
    try:
        setup = parse(data, baked.get("admin_url"))
        if not setup.admin_url:
            raise TxtError("porchlight.txt has no admin_url: add the admin's address and a code")
    except TxtError as exc:
        report(ctx, "problem", str(exc))
        return FIX_BY_HAND
    adopted = not setup.code
    try:
        if adopted:
            adoption_key(setup, baked)  # none baked in: say so before any port is touched
        lan, wan = find_ports(ctx, setup)
        configure_ports(ctx, setup, lan, wan)
        if adopted:
            setup = replace(setup, code=adopt(ctx, setup, baked, lan, wan))
        install_with_code(setup, lan, wan)
        ctx.path(CODE_FILE).unlink(missing_ok=True)  # an adoption's code, now used
    except Problem as exc:
        message = exc.message
        if adopted and setup.code and exc.exit_code == FIX_BY_HAND:
            # the handed-over code was refused (expired): never tried again at the next start
            ctx.path(CODE_FILE).unlink(missing_ok=True)
            message += f" (the code the admin handed over at adoption): {PUT_A_CODE}"
        report(ctx, "problem", message)
        return exc.exit_code
    report(
        ctx,
        "enrolled",
        f"gate ready at {enrolled_location(ctx)}: guests plug into {lan}, the internet is on "
        f"{wan}; see the admin's Routers page",
        erase_code=True,
    )
    console("porchlight-agent ready")
    return 0


def main(argv: Sequence[str]) -> int:
    if os.geteuid() != 0:
        print("porchlight-firstboot: run as root (systemd runs it)", file=sys.stderr)
        return 1
    return first_boot(Context())
