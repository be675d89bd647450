"""ValidationConfig, parse_nameserver and ValidationFailure."""

from __future__ import annotations

import ipaddress
from typing import Any

import pytest

from acme_server.validation.config import (
    LOOPBACK_NETWORKS,
    ValidationConfig,
    parse_nameserver,
)
from acme_server.validation.errors import ValidationFailure, quoted


def test_defaults_are_the_safe_ones() -> None:
    config = ValidationConfig()
    assert (config.http01_port, config.https_port) == (80, 443)  # RFC 8555 section 8.3
    assert config.allowed_networks == ()
    assert config.nameservers == ()
    assert config.max_redirects == 10
    assert 0 < config.timeout <= 30
    assert 0 < config.max_body_bytes <= 64 * 1024


def test_allowing_private_allows_loopback_only() -> None:
    config = ValidationConfig.allowing_private(http01_port=5002, nameservers=(("127.0.0.1", 53),))
    assert config.allowed_networks == LOOPBACK_NETWORKS
    assert config.allowed_networks == (
        ipaddress.IPv4Network("127.0.0.0/8"),
        ipaddress.IPv6Network("::1/128"),
    )
    assert (config.http01_port, config.nameservers) == (5002, (("127.0.0.1", 53),))


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"http01_port": 0}, "http01_port"),
        ({"https_port": 70000}, "https_port"),
        ({"timeout": 0}, "timeout"),
        ({"max_redirects": -1}, "max_redirects"),
        ({"max_body_bytes": 0}, "max_body_bytes"),
        ({"nameservers": (("127.0.0.1", 0),)}, "nameservers"),
        ({"nameservers": (("ns.test", 53),)}, "ns.test"),
        ({"allowed_networks": ("127.0.0.0/8",)}, "allowed_networks"),
    ],
)
def test_config_refuses_nonsense(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        ValidationConfig(**changes)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("127.0.0.1:5353", ("127.0.0.1", 5353)),
        ("[::1]:53", ("::1", 53)),
        ("[::1]", ("::1", 53)),
        ("::1", ("::1", 53)),
        ("8.8.8.8", ("8.8.8.8", 53)),
        (" 10.0.0.53:53 ", ("10.0.0.53", 53)),
        ("[2001:db8::53]:5300", ("2001:db8::53", 5300)),
    ],
)
def test_parse_nameserver(text: str, expected: tuple[str, int]) -> None:
    assert parse_nameserver(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("ns.example:53", "'ns.example' is not an IP address"),
        ("127.0.0.1:", "the port is missing"),
        ("[::1]:", "the port is missing"),
        ("127.0.0.1:0", "not a port"),
        ("127.0.0.1:65536", "not a port"),
        ("127.0.0.1:dns", "not a port"),
        ("[127.0.0.1]:53", "brackets are for IPv6"),
        ("[::1", "expected ADDRESS"),
        ("[::1]53", "expected ADDRESS"),
        ("", "is not an IP address"),
    ],
)
def test_parse_nameserver_refuses(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_nameserver(text)


@pytest.mark.parametrize(
    "problem",
    ["connection", "dns", "unauthorized", "incorrectResponse", "rejectedIdentifier", "tls", "caa"],
)
def test_s6_7_problem_document(problem: str) -> None:
    failure = ValidationFailure(problem, "what went wrong")
    assert failure.to_problem() == {
        "type": f"urn:ietf:params:acme:error:{problem}",
        "detail": "what went wrong",
        "status": 400,
    }


def test_unknown_problem_type_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="unknown ACME problem type"):
        ValidationFailure("connectionRefused", "x")


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("plain", '"plain"'),
        ('a"b\\c', '"a\\"b\\\\c"'),
        ("line\r\nfake: log", '"line\\r\\nfake: log"'),
        (b"\xff\x00ok", '"\ufffd\\x00ok"'),
        ("x" * 150, '"' + "x" * 100 + '"...'),
    ],
)
def test_quoted_escapes_and_truncates(text: str | bytes, shown: str) -> None:
    assert quoted(text) == shown
