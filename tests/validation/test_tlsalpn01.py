"""RFC 8737 TLS-ALPN-01 (RFC 8738 section 6 for IP) against a real loopback TLS responder."""

from __future__ import annotations

import ipaddress
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

import pytest
from cryptography import x509

from acme_server.validation.config import ValidationConfig
from acme_server.validation.errors import ValidationFailure
from acme_server.validation.resolver import Resolver
from acme_server.validation.tlsalpn01 import validate_tlsalpn01
from testkit.dns_server import DNSServer
from testkit.http01_responder import HTTP01Responder
from testkit.tlsalpn_responder import (
    TLSALPNResponder,
    acme_identifier_value,
    challenge_certificate,
)
from tests.validation.helpers import (
    KEY_AUTHORIZATION,
    ONLY_127_0_0_1,
    ipv6_loopback_works,
    unused_port,
)

A_TEST = x509.DNSName("a.test")
LOOPBACK = x509.IPAddress(ipaddress.ip_address("127.0.0.1"))


@pytest.fixture
async def tls() -> AsyncIterator[TLSALPNResponder]:
    async with TLSALPNResponder() as responder:
        yield responder


def config_for(dns: DNSServer, port: int, **changes: Any) -> ValidationConfig:
    base = ValidationConfig.allowing_private(
        tlsalpn01_port=port, nameservers=(dns.nameserver,), timeout=5.0
    )
    return replace(base, **changes)


async def validate(
    config: ValidationConfig,
    identifier: str,
    *,
    identifier_type: str = "dns",
    key_authorization: str = KEY_AUTHORIZATION,
) -> None:
    await validate_tlsalpn01(
        identifier_type=identifier_type,
        identifier=identifier,
        key_authorization=key_authorization,
        config=config,
        resolver=Resolver(config),
    )


async def failure(config: ValidationConfig, identifier: str, **kwargs: Any) -> ValidationFailure:
    with pytest.raises(ValidationFailure) as caught:
        await validate(config, identifier, **kwargs)
    return caught.value


async def test_rfc8737_s3_dns_identifier_valid(
    dns_server: DNSServer, tls: TLSALPNResponder
) -> None:
    dns_server.add("a.test", "A", "127.0.0.1")
    tls.serve(challenge_certificate(A_TEST, key_authorization=KEY_AUTHORIZATION))
    await validate(config_for(dns_server, tls.port), "a.test")
    assert tls.server_names == ["a.test"]


async def test_rfc8737_s3_san_compared_case_insensitively(
    dns_server: DNSServer, tls: TLSALPNResponder
) -> None:
    dns_server.add("a.test", "A", "127.0.0.1")
    tls.serve(challenge_certificate(x509.DNSName("A.Test"), key_authorization=KEY_AUTHORIZATION))
    await validate(config_for(dns_server, tls.port), "a.test")


async def test_rfc8738_s6_ipv4_identifier_uses_reverse_dns_sni(
    dns_server: DNSServer, tls: TLSALPNResponder
) -> None:
    tls.serve(challenge_certificate(LOOPBACK, key_authorization=KEY_AUTHORIZATION))
    await validate(config_for(dns_server, tls.port), "127.0.0.1", identifier_type="ip")
    assert tls.server_names == ["1.0.0.127.in-addr.arpa"]
    assert dns_server.queries == []


@pytest.mark.skipif(not ipv6_loopback_works(), reason="no IPv6 loopback here")
async def test_rfc8738_s6_ipv6_identifier_uses_ip6_arpa_sni(dns_server: DNSServer) -> None:
    async with TLSALPNResponder("::1") as tls:
        ip = x509.IPAddress(ipaddress.ip_address("::1"))
        tls.serve(challenge_certificate(ip, key_authorization=KEY_AUTHORIZATION))
        await validate(config_for(dns_server, tls.port), "::1", identifier_type="ip")
        assert tls.server_names == ["1." + "0." * 31 + "ip6.arpa"]


async def test_rfc8737_s3_other_key_authorization_unauthorized(
    dns_server: DNSServer, tls: TLSALPNResponder
) -> None:
    dns_server.add("a.test", "A", "127.0.0.1")
    tls.serve(challenge_certificate(A_TEST, key_authorization="other.token"))
    caught = await failure(config_for(dns_server, tls.port), "a.test")
    assert caught.problem == "unauthorized"
    assert "not the SHA-256 of the key authorization" in caught.detail


@pytest.mark.parametrize(
    ("sans", "extension", "critical", "expected"),
    [
        ([A_TEST], None, True, "has no acmeIdentifier extension"),
        ([A_TEST], "right", False, "the acmeIdentifier extension is not critical"),
        ([A_TEST], b"\x04\x03abc", True, "not a 32-octet OCTET STRING"),
        ([A_TEST], b"\x0c\x20" + bytes(32), True, "not a 32-octet OCTET STRING"),
        ([A_TEST, x509.DNSName("b.test")], "right", True, 'it has: dNSName "a.test", dNSName'),
        ([x509.DNSName("b.test")], "right", True, 'exactly one subjectAltName, dNSName "a.test"'),
        ([LOOPBACK], "right", True, "it has: iPAddress 127.0.0.1"),
        ([], "right", True, "has no subjectAltName"),
    ],
)
async def test_rfc8737_s3_badly_shaped_certificate_incorrect_response(
    dns_server: DNSServer,
    tls: TLSALPNResponder,
    sans: list[x509.GeneralName],
    extension: str | bytes | None,
    critical: bool,
    expected: str,
) -> None:
    dns_server.add("a.test", "A", "127.0.0.1")
    value = acme_identifier_value(KEY_AUTHORIZATION) if extension == "right" else extension
    assert not isinstance(value, str)
    tls.serve(
        challenge_certificate(
            *sans, key_authorization=None, extension_value=value, critical=critical
        )
    )
    caught = await failure(config_for(dns_server, tls.port), "a.test")
    assert caught.problem == "incorrectResponse"
    assert expected in caught.detail


async def test_rfc8738_s6_dns_name_san_for_ip_identifier_incorrect_response(
    dns_server: DNSServer, tls: TLSALPNResponder
) -> None:
    tls.serve(challenge_certificate(x509.DNSName("127.0.0.1"), key_authorization=KEY_AUTHORIZATION))
    caught = await failure(config_for(dns_server, tls.port), "127.0.0.1", identifier_type="ip")
    assert caught.problem == "incorrectResponse"
    assert "exactly one subjectAltName, iPAddress 127.0.0.1" in caught.detail


async def test_rfc8737_s3_alpn_not_selected_is_tls(dns_server: DNSServer) -> None:
    dns_server.add("a.test", "A", "127.0.0.1")
    async with TLSALPNResponder(alpn=False) as tls:
        tls.serve(challenge_certificate(A_TEST, key_authorization=KEY_AUTHORIZATION))
        caught = await failure(config_for(dns_server, tls.port), "a.test")
    assert caught.problem == "tls"
    assert "acme-tls/1" in caught.detail


async def test_plain_http_on_the_port_is_tls(
    dns_server: DNSServer, responder: HTTP01Responder
) -> None:
    dns_server.add("a.test", "A", "127.0.0.1")
    caught = await failure(config_for(dns_server, responder.port), "a.test")
    assert caught.problem == "tls"
    assert "TLS handshake failed" in caught.detail


async def test_refused_port_is_connection(dns_server: DNSServer) -> None:
    dns_server.add("a.test", "A", "127.0.0.1")
    port = unused_port()
    caught = await failure(config_for(dns_server, port), "a.test")
    assert caught.problem == "connection"
    assert f"127.0.0.1 port {port}: connection refused" in caught.detail


@pytest.mark.parametrize(
    ("identifier_type", "identifier"), [("dns", "a.test"), ("ip", "127.0.0.1")]
)
async def test_loopback_refused_unless_allow_listed(
    dns_server: DNSServer, tls: TLSALPNResponder, identifier_type: str, identifier: str
) -> None:
    dns_server.add("a.test", "A", "127.0.0.1")
    san = A_TEST if identifier_type == "dns" else LOOPBACK
    tls.serve(challenge_certificate(san, key_authorization=KEY_AUTHORIZATION))
    closed = config_for(dns_server, tls.port, allowed_networks=())
    caught = await failure(closed, identifier, identifier_type=identifier_type)
    assert caught.problem == "rejectedIdentifier"
    assert "refusing to contact 127.0.0.1: loopback" in caught.detail
    assert tls.in_flight == 0
    assert tls.peak_in_flight == 0  # never connected
    narrow = config_for(dns_server, tls.port, allowed_networks=ONLY_127_0_0_1)
    await validate(narrow, identifier, identifier_type=identifier_type)
    assert len(tls.server_names) == 1


async def test_every_address_checked_before_any_connection(
    dns_server: DNSServer, tls: TLSALPNResponder
) -> None:
    dns_server.add("mixed.test", "A", "127.0.0.1", "127.0.0.2")
    tls.serve(challenge_certificate(A_TEST, key_authorization=KEY_AUTHORIZATION))
    config = config_for(dns_server, tls.port, allowed_networks=ONLY_127_0_0_1)
    caught = await failure(config, "mixed.test")
    assert caught.problem == "rejectedIdentifier"
    assert "mixed.test resolves to 127.0.0.2" in caught.detail
    assert tls.peak_in_flight == 0


async def test_dns_rebinding_connects_to_the_checked_address(dns_server: DNSServer) -> None:
    """The first answer is checked and connected to; a second (rebound) answer never is."""
    dns_server.rotate("rebind.test", "A", ["127.0.0.1"], ["127.0.0.2"])
    async with TLSALPNResponder() as first, TLSALPNResponder("127.0.0.2", first.port) as second:
        for tls in (first, second):
            tls.serve(
                challenge_certificate(
                    x509.DNSName("rebind.test"), key_authorization=KEY_AUTHORIZATION
                )
            )
        config = config_for(dns_server, first.port, allowed_networks=ONLY_127_0_0_1)
        await validate(config, "rebind.test")
        assert (len(first.server_names), second.peak_in_flight) == (1, 0)
        caught = await failure(config, "rebind.test")  # now the name answers 127.0.0.2
        assert caught.problem == "rejectedIdentifier"
        assert second.peak_in_flight == 0


async def test_stalled_responder_times_out_as_connection(dns_server: DNSServer) -> None:
    dns_server.add("a.test", "A", "127.0.0.1")
    async with TLSALPNResponder(stall=True) as tls:
        caught = await failure(config_for(dns_server, tls.port, timeout=1.0), "a.test")
        assert tls.peak_in_flight == 1
    assert caught.problem == "connection"
    assert "timed out in the TLS handshake with 127.0.0.1 (SNI a.test)" in caught.detail
    assert "limit 1 s in all" in caught.detail


async def test_slow_loris_handshake_times_out(dns_server: DNSServer) -> None:
    """The responder sends its (valid) handshake one byte per 0.05 s: the total limit ends it."""
    dns_server.add("a.test", "A", "127.0.0.1")
    async with TLSALPNResponder(trickle=0.05) as tls:
        tls.serve(challenge_certificate(A_TEST, key_authorization=KEY_AUTHORIZATION))
        caught = await failure(config_for(dns_server, tls.port, timeout=1.0), "a.test")
        assert tls.server_names == ["a.test"]  # the ClientHello arrived; the answer dribbled
    assert caught.problem == "connection"
    assert "timed out in the TLS handshake" in caught.detail


async def test_dribbling_responder_within_the_limit_is_valid(dns_server: DNSServer) -> None:
    """The dribbling responder itself speaks correct TLS: given time, it validates."""
    dns_server.add("a.test", "A", "127.0.0.1")
    async with TLSALPNResponder(trickle=0.0005) as tls:
        tls.serve(challenge_certificate(A_TEST, key_authorization=KEY_AUTHORIZATION))
        await validate(config_for(dns_server, tls.port, timeout=20.0), "a.test")
        assert tls.server_names == ["a.test"]


@pytest.mark.parametrize(
    ("identifier_type", "identifier", "expected"),
    [
        ("dns", "*.a.test", "cannot validate the wildcard"),
        ("email", "a@a.test", "cannot validate identifier type"),
        ("ip", "not-an-ip", "is not an IP address"),
        ("dns", "bad_name-.test", "is not a valid DNS name"),
    ],
)
async def test_identifiers_tlsalpn01_cannot_validate(
    dns_server: DNSServer, identifier_type: str, identifier: str, expected: str
) -> None:
    caught = await failure(
        config_for(dns_server, unused_port()), identifier, identifier_type=identifier_type
    )
    assert caught.problem == "rejectedIdentifier"
    assert expected in caught.detail
    assert dns_server.queries == []


async def test_name_without_address_is_dns(dns_server: DNSServer) -> None:
    caught = await failure(config_for(dns_server, unused_port()), "missing.test")
    assert caught.problem == "dns"
