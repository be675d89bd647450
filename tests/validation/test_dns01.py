"""RFC 8555 section 8.4 DNS-01 against the loopback DNS server."""

from __future__ import annotations

import base64
import hashlib

import pytest

from acme_server.validation.challenges import VALIDATORS, Attempt, offered
from acme_server.validation.config import ValidationConfig
from acme_server.validation.dns01 import txt_value, validate_dns01
from acme_server.validation.errors import ValidationFailure
from acme_server.validation.resolver import Resolver
from testkit.dns_server import DNSServer
from tests.validation.helpers import KEY_AUTHORIZATION, TOKEN

EXPECTED = (
    base64.urlsafe_b64encode(hashlib.sha256(KEY_AUTHORIZATION.encode()).digest())
    .rstrip(b"=")
    .decode()
)


def resolver_for(dns: DNSServer) -> Resolver:
    return Resolver(ValidationConfig(nameservers=(dns.nameserver,), timeout=3.0))


async def check(dns: DNSServer, identifier: str, identifier_type: str = "dns") -> None:
    await validate_dns01(
        identifier_type=identifier_type,
        identifier=identifier,
        key_authorization=KEY_AUTHORIZATION,
        resolver=resolver_for(dns),
    )


async def failure(
    dns: DNSServer, identifier: str, identifier_type: str = "dns"
) -> ValidationFailure:
    with pytest.raises(ValidationFailure) as caught:
        await check(dns, identifier, identifier_type)
    return caught.value


def test_txt_value_is_base64url_sha256_without_padding() -> None:
    assert txt_value(KEY_AUTHORIZATION) == EXPECTED
    assert "=" not in EXPECTED and len(EXPECTED) == 43
    # RFC 8555 section 8.4 example shape: the digest of the exact key authorization.
    assert txt_value(KEY_AUTHORIZATION + "x") != EXPECTED


async def test_the_record_at_acme_challenge_validates(dns_server: DNSServer) -> None:
    dns_server.add("_acme-challenge.dns.test", "TXT", EXPECTED)
    await check(dns_server, "dns.test")
    assert ("_acme-challenge.dns.test", "TXT") in dns_server.queries


async def test_any_of_several_txt_values_is_accepted(dns_server: DNSServer) -> None:
    dns_server.add("_acme-challenge.many.test", "TXT", "other-value", EXPECTED, "third")
    await check(dns_server, "many.test")


async def test_wildcard_label_is_dropped_from_the_record_name(dns_server: DNSServer) -> None:
    dns_server.add("_acme-challenge.wild.test", "TXT", EXPECTED)
    await check(dns_server, "*.wild.test")


async def test_cname_to_a_delegated_zone_is_followed(dns_server: DNSServer) -> None:
    dns_server.add("_acme-challenge.alias.test", "CNAME", "hop.delegated.test.")
    dns_server.add("hop.delegated.test", "CNAME", "target.delegated.test.")
    dns_server.add("target.delegated.test", "TXT", EXPECTED)
    await check(dns_server, "alias.test")


async def test_no_record_is_unauthorized(dns_server: DNSServer) -> None:
    dns_server.add("absent.test", "A", "127.0.0.1")  # the name exists, the TXT does not
    problem = await failure(dns_server, "absent.test")
    assert problem.problem == "unauthorized"
    assert "no TXT record found at _acme-challenge.absent.test" in problem.detail
    problem = await failure(dns_server, "nxdomain.test")
    assert problem.problem == "unauthorized"


async def test_wrong_values_are_an_incorrect_response(dns_server: DNSServer) -> None:
    wrong = txt_value(f"{TOKEN}.someone-elses-thumbprint")
    dns_server.add("_acme-challenge.wrong.test", "TXT", wrong, "v=spf1 -all")
    problem = await failure(dns_server, "wrong.test")
    assert problem.problem == "incorrectResponse"
    assert wrong in problem.detail and "v=spf1 -all" in problem.detail
    assert problem.to_problem()["type"] == "urn:ietf:params:acme:error:incorrectResponse"


async def test_servfail_is_a_dns_problem(dns_server: DNSServer) -> None:
    dns_server.servfail("_acme-challenge.broken.test")
    problem = await failure(dns_server, "broken.test")
    assert problem.problem == "dns"
    assert "SERVFAIL" in problem.detail


async def test_ip_identifiers_are_refused(dns_server: DNSServer) -> None:
    problem = await failure(dns_server, "127.0.0.1", "ip")
    assert problem.problem == "rejectedIdentifier"
    assert dns_server.queries == []


async def test_an_invalid_name_is_refused_before_any_query(dns_server: DNSServer) -> None:
    problem = await failure(dns_server, "bad name.test")
    assert problem.problem == "rejectedIdentifier"
    assert dns_server.queries == []


async def test_dispatch_runs_the_dns01_validator(dns_server: DNSServer) -> None:
    config = ValidationConfig(nameservers=(dns_server.nameserver,), timeout=3.0)
    attempt = Attempt(
        identifier_type="dns",
        identifier="dispatch.test",
        wildcard=False,
        token=TOKEN,
        key_authorization=KEY_AUTHORIZATION,
        config=config,
        resolver=Resolver(config),
    )
    with pytest.raises(ValidationFailure):
        await VALIDATORS["dns-01"](attempt)
    dns_server.add("_acme-challenge.dispatch.test", "TXT", EXPECTED)
    await VALIDATORS["dns-01"](attempt)


def test_offered_types_per_identifier() -> None:
    every = ("http-01", "dns-01", "tls-alpn-01")
    implemented = tuple(t for t in every if t in VALIDATORS)
    assert offered(every, identifier_type="dns", wildcard=False) == implemented
    assert offered(every, identifier_type="dns", wildcard=True) == ("dns-01",)
    assert "dns-01" not in offered(every, identifier_type="ip", wildcard=False)
    assert offered(("http-01",), identifier_type="dns", wildcard=True) == ()
    assert offered(("dns-01",), identifier_type="dns", wildcard=False) == ("dns-01",)
