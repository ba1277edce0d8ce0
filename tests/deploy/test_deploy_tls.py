"""The portal over HTTPS: install-router --portal-name NAME --tls-cert --tls-key
with a certificate from a throwaway CA (openssl), checked before any change,
installed with a private key, dnsmasq answering NAME, option 114 over https,
and the portal started from porchlight-portal-tls.service's command line
answering RFC 8908 JSON to a curl that trusts only that CA.

The installed venv is the stand-in (test_deploy_forwarding.py); the portal is
started with the repository's own porchlight, the same code a release holds.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from pathlib import Path

import pytest
from deploykit import LAN_IP, REPO, run
from test_deploy_forwarding import snapshot, standin_wheelhouse  # noqa: F401 (a fixture)
from test_router_install import stop, unit_argv

pytestmark = [pytest.mark.root]

NAME = "portal.venue.example"
EC = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]


def issue(d: Path, stem: str, name: str, days: str) -> None:
    """stem.key and stem.crt for DNS:name, signed by the CA in d."""
    run(
        ["openssl", "req", *EC, "-keyout", f"{stem}.key", "-out", f"{stem}.csr"]
        + ["-subj", f"/CN={name}"],
        cwd=d,
    )
    (d / f"{stem}.ext").write_text(f"subjectAltName=DNS:{name}\n")
    run(
        ["openssl", "x509", "-req", "-in", f"{stem}.csr", "-CA", "ca.crt", "-CAkey", "ca.key"]
        + ["-CAcreateserial", "-days", days, "-extfile", f"{stem}.ext", "-out", f"{stem}.crt"],
        cwd=d,
    )


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    """A CA; a certificate for NAME; an expired one, one for another name."""
    if shutil.which("openssl") is None:
        pytest.skip("needs openssl")
    d = tmp_path_factory.mktemp("pki")
    run(
        ["openssl", "req", "-x509", *EC, "-keyout", "ca.key", "-out", "ca.crt"]
        + ["-days", "2", "-subj", "/CN=Porchlight test CA"],
        cwd=d,
    )
    issue(d, "good", NAME, "1")
    issue(d, "expired", NAME, "-1")
    issue(d, "other", "other.example", "1")
    return d


def tls_args(pki: Path, cert: str = "good", key: str = "good") -> list[str]:
    return ["--portal-name", NAME, "--tls-cert", str(pki / f"{cert}.crt")] + [
        "--tls-key",
        str(pki / f"{key}.key"),
    ]


def test_bad_certificates_are_refused_before_any_change(netns, target_root, pki):
    before = snapshot(netns, target_root)
    common = ["--root", str(target_root), "--lan", "lan0", "--no-enroll"]
    cases = {
        ("good", "other"): "does not belong to the certificate",
        ("expired", "expired"): "expired on",
        ("other", "other"): f"is not for {NAME}",
    }
    for (cert, key), message in cases.items():
        proc = netns.deploy("install-router", *common, *tls_args(pki, cert, key))
        assert proc.returncode == 1, (cert, key, proc.stdout)
        assert message in proc.stderr, (cert, key, proc.stderr)
        assert "nothing was changed" in proc.stderr and "Traceback" not in proc.stderr
    proc = netns.deploy("install-router", *common, "--portal-name", NAME)
    assert proc.returncode == 1 and "go together" in proc.stderr
    proc = netns.deploy("install-router", *common, *tls_args(pki)[2:], "--portal-name", "x;y")
    assert proc.returncode == 1 and "is not a DNS name" in proc.stderr
    assert snapshot(netns, target_root) == before


def start_tls_portal(netns, root: Path) -> subprocess.Popen:
    """porchlight-portal-tls.service's command line with portal.env, as systemd would
    run it (paths moved into the root; the repository's porchlight for the stand-in)."""
    argv = unit_argv(root, "porchlight-portal-tls.service", "portal.env")
    argv[0] = str(REPO / ".venv/bin/porchlight")
    argv = [str(root) + a if a.startswith("/etc/porchlight/") else a for a in argv]
    return subprocess.Popen(
        ["ip", "netns", "exec", netns.name, *argv],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def test_https_portal_answers_rfc_8908_under_the_venue_name(
    netns,
    target_root,
    pki,
    standin_wheelhouse,  # noqa: F811
):
    root = target_root
    before = snapshot(netns, root)
    args = ["--root", str(root), "--lan", "lan0", "--no-enroll"]
    args += ["--wheelhouse", str(standin_wheelhouse), *tls_args(pki)]
    proc = netns.deploy("install-router", *args)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "[ OK ] HTTPS portal certificate: valid until" in proc.stdout

    etc = root / "etc/porchlight"
    conf = (etc / "dnsmasq.conf").read_text()
    assert f"host-record={NAME},{LAN_IP}\n" in conf
    assert f'dhcp-option=lan0,114,"https://{NAME}:8443/api/captive"' in conf
    assert "http://" not in conf
    agent = (etc / "agent.env").read_text()  # guests reach 8443 before login
    assert "PORCHLIGHT_AGENT_EXTRA=--portal-tls-port 8443\n" in agent
    key = etc / "tls/portal.key"
    assert key.read_bytes() == (pki / "good.key").read_bytes()
    group = next(
        x for x in (root / "etc/group").read_text().splitlines() if x.startswith("porchlight:")
    )
    assert (oct(key.stat().st_mode & 0o777), key.stat().st_uid) == ("0o640", 0)
    assert key.stat().st_gid == int(group.split(":")[2])
    assert (
        root / "etc/systemd/system/multi-user.target.wants/porchlight-portal-tls.service"
    ).is_symlink()

    # dnsmasq accepts the config (paths moved into the root)
    test_conf = root / "dnsmasq.test.conf"
    test_conf.write_text(conf.replace("/var/lib/porchlight", str(root / "var/lib/porchlight")))
    check = run(["dnsmasq", "--test", f"--conf-file={test_conf}"], check=False)
    test_conf.unlink()
    assert check.returncode == 0, check.stderr

    portal = start_tls_portal(netns, root)
    try:
        curl = ["curl", "-sS", "--max-time", "5", "--cacert", str(pki / "ca.crt")]
        curl += ["--resolve", f"{NAME}:8443:{LAN_IP}", f"https://{NAME}:8443/api/captive"]
        for _ in range(150):
            answer = netns.exec(curl)
            if answer.returncode == 0 or portal.poll() is not None:
                break
            time.sleep(0.2)
        assert answer.returncode == 0, answer.stderr
        body = json.loads(answer.stdout)
        assert body["captive"] is True
        assert body["user-portal-url"].startswith(f"https://{NAME}:8443/")
        # a client that trusts only the system CAs refuses the throwaway CA: TLS is real
        untrusted = netns.exec([c for c in curl if c not in ("--cacert", str(pki / "ca.crt"))])
        assert untrusted.returncode != 0
    finally:
        stop([portal])

    # a re-run without the flags keeps the HTTPS portal; uninstall takes it all away
    proc = netns.deploy("install-router", "--root", str(root), "--lan", "lan0", "--no-enroll")
    assert proc.returncode == 0 and "nothing to change" in proc.stdout, proc.stdout + proc.stderr
    proc = netns.deploy("uninstall-router", "--root", str(root))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert snapshot(netns, root) == before
