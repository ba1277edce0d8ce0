"""nftables in-process (libnftables) and through the `nft` binary: same scripts, same
check semantics, same listing, same errors; the binary when the library is missing.

Root tests run their nftables work in a child process entered into a throwaway
network namespace (libnftables acts on the calling thread's namespace).
"""

from __future__ import annotations

import json
import logging
import secrets
import subprocess
import sys
import textwrap

import pytest

from porchlight.agent import nft_lib
from porchlight.agent.nft import Nft, NftError, real_runner
from porchlight.agent.runner import run

BACKENDS = ("lib", "cli")


@pytest.fixture
def netns():
    name = f"pl{secrets.token_hex(3)}"
    subprocess.run(["ip", "netns", "add", name], check=True, capture_output=True, timeout=15)
    try:
        yield name
    finally:
        subprocess.run(["ip", "netns", "del", name], capture_output=True, timeout=15)


def in_netns(ns: str, body: str, *, env: dict[str, str] | None = None) -> dict:
    """Run `body` (which sets `out`) in a child python inside `ns`; return `out`."""
    code = (
        "import json\nfrom porchlight.agent import nft_ruleset\n"
        "from porchlight.agent.nft import Nft, NftError\nout = {}\n"
        + textwrap.dedent(body)
        + "\nprint(json.dumps(out))\n"
    )
    done = subprocess.run(
        [
            "ip",
            "netns",
            "exec",
            ns,
            *(["env", *[f"{k}={v}" for k, v in (env or {}).items()]]),
            sys.executable,
            "-c",
            code,
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return {"result": json.loads(done.stdout.splitlines()[-1]), "log": done.stderr}


# ---- without root ------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("argv", "stdin", "expected"),
    [
        (["nft", "-c", "-f", "-"], "add table inet t\n", (True, 0, "add table inet t\n")),
        (["nft", "-f", "-"], None, (False, 0, "")),
        (["nft", "-j", "list", "table", "inet", "t"], None, (False, 16, "list table inet t")),
        (
            ["nft", "-j", "-t", "list", "set", "inet", "t", "s"],
            None,
            (False, 2064, "list set inet t s"),
        ),
    ],
)
def test_nft_argv_maps_to_dry_run_json_and_script(argv, stdin, expected):
    assert nft_lib._parse(argv, stdin) == expected


@pytest.mark.parametrize(
    "argv", [["nft", "-a", "list", "ruleset"], ["nft", "-f", "/etc/nftables.conf"], ["nft"], []]
)
def test_nft_options_the_library_runner_does_not_know_are_refused(argv):
    with pytest.raises(ValueError):
        nft_lib._parse(argv, None)


def test_a_library_that_does_not_load_is_reported_and_injected_runners_are_kept(caplog):
    with pytest.raises(nft_lib.LibNftUnavailable, match="/nonexistent/libnftables.so.1"):
        nft_lib.LibNft("/nonexistent/libnftables.so.1")
    with pytest.raises(NftError, match="libnftables unavailable"):
        Nft(backend="lib", library="/nonexistent/libnftables.so.1")
    with caplog.at_level(logging.WARNING, logger="porchlight.agent.nft"):
        fallback = Nft(library="/nonexistent/libnftables.so.2")
    assert (fallback.backend, fallback.runner) == ("cli", run)
    assert "using the nft binary" in caplog.text
    assert real_runner("cli") == (run, "cli")
    with pytest.raises(ValueError, match="PORCHLIGHT_NFT_BACKEND"):
        real_runner("netlink")

    def fake(argv, timeout, stdin=None):
        return ""

    assert (Nft(fake).runner, Nft(fake).backend) == (fake, "runner")


def test_an_error_from_the_runner_is_an_nft_error_named_once():
    def refuses(argv, timeout, stdin=None):
        from porchlight.agent.runner import CommandError

        raise CommandError(argv, "Error: syntax error", returncode=1, stderr="Error: syntax error")

    with pytest.raises(NftError) as err:
        Nft(refuses).apply("garbage\n")
    assert str(err.value) == "nft: Error: syntax error"  # not "nft: nft: ..."
    assert (err.value.returncode, err.value.stderr) == (1, "Error: syntax error")


# ---- root: real nftables in a namespace ---------------------------------------------------
@pytest.mark.root
def test_bad_scripts_raise_nfts_own_message_on_both_backends(netns):
    body = """
    spec = nft_ruleset.GateSpec(lan="lo")
    rules = nft_ruleset.render(nft_ruleset.build(spec))
    for backend in ("lib", "cli"):
        nft = Nft(backend=backend)
        seen = out[backend] = {"backend": nft.backend}
        for case, script in (
            ("absent", "add element inet porchlight allowed { 02:00:00:00:00:01 }\\n"),
            ("rules", rules),  # from here the table exists
            ("syntax", "add elemnt inet porchlight allowed { 02:00:00:00:00:01 }\\n"),
            ("invalid", "add element inet porchlight allowed { not-a-mac }\\n"),
            ("missing", "delete element inet porchlight allowed { 02:00:00:00:00:01 }\\n"),
        ):
            try:
                nft.apply(script)
            except NftError as exc:
                seen[case] = [type(exc).__name__, str(exc), exc.stderr, exc.returncode]
        # a script whose last line is bad: checked first, so nothing of it is applied
        try:
            nft.apply("add element inet porchlight allowed { 02:00:00:00:00:02 }\\nbogus\\n")
        except NftError as exc:
            seen["half"] = str(exc)
        seen["allowed"] = sorted(nft.list_table().elements("allowed"))
        nft.delete_table()
        seen["gone"] = nft.list_table() is None
    """
    out = in_netns(netns, body)["result"]
    lib, cli = out["lib"], out["cli"]
    assert (lib["backend"], cli["backend"]) == ("lib", "cli")
    for seen in (lib, cli):
        assert "rules" not in seen
        assert seen["absent"][1].endswith("Error: No such file or directory")
        assert seen["syntax"][0] == "NftError" and seen["syntax"][1].startswith("nft: ")
        assert "Error: syntax error" in seen["syntax"][1] and "nft: nft:" not in seen["syntax"][1]
        assert "elemnt" in seen["syntax"][2] and "^" in seen["syntax"][2]  # nft's caret lines
        assert "Error: Invalid LL address" in seen["invalid"][1]
        assert "Error: Could not process rule: No such file or directory" in seen["missing"][1]
        assert seen["missing"][3] == 1
        assert "Error: syntax error" in seen["half"]
        assert seen["allowed"] == []  # the good first line was not applied either
        assert seen["gone"] is True

    def text(seen: dict, case: str) -> str:  # nft -f - prefixes /dev/stdin:LINE:COL:
        return seen[case][2].split("Error: ", 1)[1]

    assert text(lib, "absent") == text(cli, "absent")
    assert text(lib, "syntax") == text(cli, "syntax")
    assert text(lib, "invalid") == text(cli, "invalid")
    assert text(lib, "missing") == text(cli, "missing")


@pytest.mark.root
def test_check_listing_and_elements_agree_across_backends(netns):
    body = """
    spec = nft_ruleset.GateSpec(lan="lo", wan="lo")
    ruleset = nft_ruleset.build(spec)
    elements = {"allowed": {"02:00:00:00:00:01": 600, "02:00:00:00:00:02": 90},
                "trusted": {"02:00:00:00:00:03": None}, "cidr4": {"192.0.2.0/24": None}}
    lib, cli = Nft(backend="lib"), Nft(backend="cli")
    lib.check(nft_ruleset.render(ruleset, elements))  # a dry run applies nothing
    out["after_check"] = [lib.list_table() is None, cli.list_table() is None]
    lib.apply(nft_ruleset.render(ruleset, elements))
    for name, nft in (("lib", lib), ("cli", cli)):
        state = nft.list_table()
        out[name] = {"rules": state.rule_counts,
                     "sets": {k: state.elements(k) for k in ("allowed", "trusted", "cidr4")}}
    out["want_rules"] = ruleset.rule_counts()
    cli.apply("delete element inet porchlight allowed { 02:00:00:00:00:02 }\\n")
    out["lib_sees_cli"] = sorted(lib.list_table().elements("allowed"))
    """
    out = in_netns(netns, body)["result"]
    assert out["after_check"] == [True, True]
    assert out["lib"]["rules"] == out["cli"]["rules"] == out["want_rules"]
    lib_sets, cli_sets = out["lib"]["sets"], out["cli"]["sets"]
    assert lib_sets["trusted"] == cli_sets["trusted"] == {"02:00:00:00:00:03": None}
    assert lib_sets["cidr4"] == cli_sets["cidr4"] == {"192.0.2.0/24": None}
    for mac, seconds in (("02:00:00:00:00:01", 600), ("02:00:00:00:00:02", 90)):
        assert seconds - 5 <= lib_sets["allowed"][mac] <= seconds
        assert abs(lib_sets["allowed"][mac] - cli_sets["allowed"][mac]) <= 2
    assert out["lib_sees_cli"] == ["02:00:00:00:00:01"]  # no stale cache in the context


@pytest.mark.root
def test_threads_share_one_context_without_losing_a_change(netns):
    body = """
    import threading
    from porchlight.agent.reconcile import Changes
    nft = Nft(backend="lib")
    nft.apply(nft_ruleset.render(nft_ruleset.build(nft_ruleset.GateSpec(lan="lo"))))
    errors = []

    def worker(t):
        try:
            for i in range(150):
                mac = f"02:00:00:00:{t:02x}:{i:02x}"
                nft.apply(Changes(add={"allowed": {mac: 600}}).script(), check=False)
                if i % 3 == 0:
                    nft.apply(Changes(delete={"allowed": [mac]}).script(), check=False)
                if i % 25 == 0:
                    nft.list_table()
        except Exception as exc:
            errors.append(repr(exc))

    threads = [threading.Thread(target=worker, args=(t,)) for t in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    out["errors"] = errors
    out["allowed"] = sorted(nft.list_table().elements("allowed"))
    """
    out = in_netns(netns, body)["result"]
    assert out["errors"] == []
    want = sorted(f"02:00:00:00:{t:02x}:{i:02x}" for t in range(6) for i in range(150) if i % 3)
    assert out["allowed"] == want


@pytest.mark.root
def test_the_binary_is_used_when_the_library_path_is_wrong(netns):
    body = """
    import logging
    logging.basicConfig(level=logging.INFO)
    nft = Nft()
    out["backend"] = nft.backend
    nft.apply(nft_ruleset.render(nft_ruleset.build(nft_ruleset.GateSpec(lan="lo"))))
    out["exists"] = nft.list_table() is not None
    """
    done = in_netns(netns, body, env={"PORCHLIGHT_LIBNFTABLES": "/nonexistent/libnftables.so.1"})
    assert done["result"] == {"backend": "cli", "exists": True}
    assert "libnftables unusable" in done["log"] and "using the nft binary" in done["log"]
    table = subprocess.run(
        ["ip", "netns", "exec", netns, "nft", "list", "table", "inet", "porchlight"],
        capture_output=True,
        text=True,
        timeout=15,
    )
    assert "chain guest_out" in table.stdout
