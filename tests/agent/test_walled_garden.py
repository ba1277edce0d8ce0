"""Issue 15, finding 5: the walled garden refuses entries that would open a country.

And finding 6: social login channels bring their own walled-garden domains.
"""

from __future__ import annotations

import copy

import pytest

from porchlight.agent.config import (
    DEFAULT_CONFIG,
    ConfigError,
    dnsmasq_snippet,
    validate_config,
    walled_domains,
)


def config_with(domains=(), cidrs=()):
    config = copy.deepcopy(DEFAULT_CONFIG)
    config["walled_garden"] = {"domains": list(domains), "cidrs": list(cidrs)}
    return config


@pytest.mark.parametrize(
    ("domain", "said"),
    [
        ("com.vn", "public suffix"),
        ("co.uk", "public suffix"),
        ("github.io", "public suffix"),
        ("vn", "public suffix"),
        ("COM.VN.", "public suffix"),
        ("bad domain!", "not a domain name"),
    ],
)
def test_walled_garden_refuses_public_suffixes_naming_the_entry(domain, said):
    with pytest.raises(ConfigError, match=said) as caught:
        validate_config(config_with(domains=["pay.example.com", domain]))
    assert repr(domain)[:20] in str(caught.value)


@pytest.mark.parametrize(
    ("cidr", "said"),
    [
        ("10.0.0.0/8", "private"),
        ("192.168.1.0/24", "private"),
        ("172.16.5.5", "private"),
        ("100.64.0.0/16", "private"),
        ("127.0.0.0/8", "loopback"),
        ("169.254.0.0/16", "link-local"),
        ("224.0.0.0/4", "multicast"),
        ("fd00::/8", "private"),
        ("fe80::/10", "link-local"),
        ("ff02::1", "multicast"),
        ("::1", "loopback"),
        ("0.0.0.0/0", "wider than a /16"),
        ("8.0.0.0/15", "wider than a /16"),
        ("2001:4860::/16", "wider than a /32"),
    ],
)
def test_walled_garden_refuses_private_local_multicast_and_wide_ranges(cidr, said):
    with pytest.raises(ConfigError, match=said) as caught:
        validate_config(config_with(cidrs=["203.0.113.0/24", cidr]))
    assert cidr in str(caught.value)


def test_walled_garden_accepts_sites_and_public_ranges():
    clean = validate_config(
        config_with(
            domains=["Zalo.me", "id.zalo.me", "example.github.io", "shop.com.vn"],
            cidrs=["203.0.113.0/24", "8.8.0.0/16", "2001:db8:1::/48", "198.51.100.10"],
        )
    )
    assert clean["walled_garden"]["domains"] == [
        "zalo.me",
        "id.zalo.me",
        "example.github.io",
        "shop.com.vn",
    ]
    assert clean["walled_garden"]["cidrs"][-1] == "198.51.100.10/32"


def test_social_channels_add_their_login_domains_to_the_dnsmasq_snippet():
    config = config_with(domains=["pay.example.com"])
    config["portal"]["channels"] = ["form", "google", "zalo"]
    clean = validate_config(config)
    domains = walled_domains(clean)
    assert domains[0] == "pay.example.com"
    assert {"accounts.google.com", "ssl.gstatic.com", "zalo.me", "zaloapp.com"} <= set(domains)
    assert "facebook.com" not in domains
    snippet = dnsmasq_snippet(domains)
    assert "nftset=/accounts.google.com/4#inet#porchlight#walled4" in snippet
    clean["portal"]["channels"] = ["form"]
    assert walled_domains(clean) == ["pay.example.com"]


def test_line_login_opens_its_login_pages_before_login():
    config = config_with(domains=[])
    config["portal"]["channels"] = ["form", "line"]
    domains = walled_domains(validate_config(config))
    assert {"access.line.me", "line.me", "line-scdn.net"} <= set(domains)
    assert "nftset=/access.line.me/4#inet#porchlight#walled4" in dnsmasq_snippet(domains)
    assert not {"zalo.me", "accounts.google.com"} & set(domains)
