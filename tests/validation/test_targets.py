"""Challenge URLs (RFC 8555 section 8.3, RFC 8738 section 3) and redirect targets."""

from __future__ import annotations

import ipaddress

import pytest

from acme_server.validation.config import ValidationConfig
from acme_server.validation.errors import ValidationFailure
from acme_server.validation.targets import challenge_target, dns_name, redirect_target

CONFIG = ValidationConfig()
TEST_PORTS = ValidationConfig(http01_port=5002, https_port=5001)


@pytest.mark.parametrize(
    ("identifier_type", "identifier", "url", "host"),
    [
        ("dns", "a.test", "http://a.test/.well-known/acme-challenge/tok", "a.test"),
        ("dns", "A.Test.", "http://a.test/.well-known/acme-challenge/tok", "a.test"),
        (
            "dns",
            "xn--bcher-kva.test",
            "http://xn--bcher-kva.test/.well-known/acme-challenge/tok",
            "xn--bcher-kva.test",
        ),
        ("ip", "192.0.2.1", "http://192.0.2.1/.well-known/acme-challenge/tok", "192.0.2.1"),
        (
            "ip",
            "2001:db8::1",
            "http://[2001:db8::1]/.well-known/acme-challenge/tok",
            "[2001:db8::1]",
        ),
    ],
)
def test_s8_3_challenge_url_and_host(
    identifier_type: str, identifier: str, url: str, host: str
) -> None:
    target = challenge_target(identifier_type, identifier, "tok", CONFIG)
    assert str(target.url) == url
    assert target.host_header(CONFIG) == host
    assert target.sni is None


def test_challenge_on_a_test_port_keeps_host_header_bare() -> None:
    target = challenge_target("dns", "a.test", "tok", TEST_PORTS)
    assert str(target.url) == "http://a.test:5002/.well-known/acme-challenge/tok"
    assert target.host_header(TEST_PORTS) == "a.test"


START = challenge_target("dns", "a.test", "tok", CONFIG)


@pytest.mark.parametrize(
    ("location", "url", "host_header", "sni"),
    [
        ("/other?x=1", "http://a.test/other?x=1", "a.test", None),
        ("other", "http://a.test/.well-known/acme-challenge/other", "a.test", None),
        ("https://b.test/p", "https://b.test/p", "b.test", "b.test"),
        ("HTTPS://B.TEST:443/p#frag", "https://b.test/p", "b.test", "b.test"),
        ("http://user:secret@b.test/p", "http://b.test/p", "b.test", None),
        ("http://b.test:443/p", "http://b.test:443/p", "b.test:443", None),
        ("https://[2001:db8::1]/p", "https://[2001:db8::1]/p", "[2001:db8::1]", None),
        ("http://bücher.test/", "http://xn--bcher-kva.test/", "xn--bcher-kva.test", None),
        ("//c.test/q%20r", "http://c.test/q%20r", "c.test", None),
    ],
)
def test_redirect_targets_followed(
    location: str, url: str, host_header: str, sni: str | None
) -> None:
    target = redirect_target(START, location, CONFIG)
    assert str(target.url) == url
    assert target.host_header(CONFIG) == host_header
    assert target.sni == sni


@pytest.mark.parametrize(
    ("location", "why"),
    [
        ("ftp://a.test/", "only http and https"),
        ("http://a.test:8080/", "only ports 80 and 443"),
        ("https://a.test:80443/", "not a valid URL"),
        ("http://[zz/", "not a valid URL"),
        ("http://a..test/", "not a valid DNS name"),
        ("http://:80/x", "not a valid URL"),
        ("http://%20/x", "not a valid DNS name"),
        ("http://a b.test/", "not a valid DNS name"),
        ("http://a%2Fb.test/", "not a valid DNS name"),
    ],
)
def test_redirect_targets_refused(location: str, why: str) -> None:
    with pytest.raises(ValidationFailure) as caught:
        redirect_target(START, location, CONFIG)
    assert caught.value.problem == "connection"
    assert why in caught.value.detail
    assert caught.value.detail.startswith(
        "redirect from http://a.test/.well-known/acme-challenge/tok to "
    )


def test_configured_ports_replace_80_and_443() -> None:
    start = challenge_target("dns", "a.test", "tok", TEST_PORTS)
    assert redirect_target(start, "https://b.test/", TEST_PORTS).port == 5001
    assert redirect_target(start, "http://b.test:5001/", TEST_PORTS).port == 5001
    with pytest.raises(ValidationFailure, match="only ports 5001 and 5002"):
        redirect_target(start, "http://b.test:80/", TEST_PORTS)


def test_connect_url_aims_at_the_address() -> None:
    target = redirect_target(START, "https://b.test/p?q", CONFIG)
    assert (
        str(target.connect_url(ipaddress.ip_address("2001:db8::5"))) == "https://[2001:db8::5]/p?q"
    )


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("a.test", "a.test"),
        ("A.TEST.", "a.test"),
        ("_acme.a-b.test", "_acme.a-b.test"),
        ("localhost", "localhost"),
        ("-a.test", None),
        ("a-.test", None),
        ("a..test", None),
        ("", None),
        ("a" * 64 + ".test", None),
        ("bücher.test", None),
        ("1.2.3.4", None),
        ("a.test:80", None),
        ("a/b.test", None),
    ],
)
def test_dns_name_syntax(text: str, name: str | None) -> None:
    assert dns_name(text) == name
