"""The DNS answerer of `kms serve --trial` (acme_server/trial_dns.py), over real UDP and TCP on
loopback, asked by dnspython and by the validator's own Resolver; and the trial settings."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterator

import dns.flags
import dns.message
import dns.query
import dns.rcode
import dns.rdatatype
import pytest

from acme_server.app import validation_config
from acme_server.settings import SettingsError, load_settings
from acme_server.trial_dns import TrialDNS, ZoneAnswerer, parse_zones
from acme_server.validation.config import LOOPBACK_NETWORKS, PRIVATE_NETWORKS, ValidationConfig
from acme_server.validation.resolver import Resolver

TIMEOUT = 5.0


@pytest.fixture
def trial_dns() -> Iterator[TrialDNS]:
    with TrialDNS(("test", "localhost")) as server:
        yield server


def _ask(server: TrialDNS, name: str, rdtype: str, *, tcp: bool = False) -> dns.message.Message:
    query = dns.message.make_query(name, rdtype)
    ask = dns.query.tcp if tcp else dns.query.udp
    return ask(query, server.host, port=server.port, timeout=TIMEOUT)


@pytest.mark.parametrize("tcp", [False, True], ids=["udp", "tcp"])
def test_names_under_the_zones_are_this_machine(trial_dns: TrialDNS, tcp: bool) -> None:
    for name, rdtype, address in (
        ("web.test", "A", "127.0.0.1"),
        ("a.b.web.test", "A", "127.0.0.1"),
        ("test", "A", "127.0.0.1"),
        ("api.localhost", "AAAA", "::1"),
        ("API.LocalHost.", "A", "127.0.0.1"),
    ):
        response = _ask(trial_dns, name, rdtype, tcp=tcp)
        assert response.rcode() == dns.rcode.NOERROR
        assert response.flags & dns.flags.AA
        [rrset] = response.answer
        assert [rdata.to_text() for rdata in rrset] == [address]


def test_other_types_are_empty_with_the_zone_soa(trial_dns: TrialDNS) -> None:
    for rdtype in ("CAA", "TXT", "MX"):
        response = _ask(trial_dns, "web.test", rdtype)
        assert response.rcode() == dns.rcode.NOERROR
        assert response.answer == []
        [soa] = response.authority
        assert soa.rdtype == dns.rdatatype.SOA
        assert soa.name.to_text() == "test."


def test_names_outside_the_zones_are_refused(trial_dns: TrialDNS) -> None:
    for name in ("example.com", "nottest", "test.example.com", "localhost.example"):
        response = _ask(trial_dns, name, "A")
        assert response.rcode() == dns.rcode.REFUSED, name
        assert response.answer == []


def test_garbage_and_responses_get_no_answer() -> None:
    answerer = ZoneAnswerer(("test",))
    assert answerer.answer(b"\x00\x01garbage", udp=True) is None
    response = dns.message.make_response(dns.message.make_query("web.test", "A"))
    assert answerer.answer(response.to_wire(), udp=True) is None


def test_it_listens_on_loopback_only() -> None:
    with pytest.raises(ValueError, match="loopback only"):
        TrialDNS(("test",), host="0.0.0.0")  # noqa: S104 (refused, never bound)
    with TrialDNS(("test",), host="::1") as server:
        assert server.nameserver == f"[::1]:{server.port}"
        assert _ask(server, "x.test", "AAAA").answer[0][0].to_text() == "::1"


async def test_the_validator_resolves_trial_names_through_it(trial_dns: TrialDNS) -> None:
    resolver = Resolver(ValidationConfig(nameservers=((trial_dns.host, trial_dns.port),)))
    addresses = await resolver.addresses("web.test")
    assert addresses == [ipaddress.ip_address("::1"), ipaddress.ip_address("127.0.0.1")]
    assert await resolver.caa("web.test") == []
    assert await resolver.caa("test") == []
    assert await resolver.txt("_acme-challenge.web.test") == []


def test_stop_frees_the_port() -> None:
    with TrialDNS(("test",)) as server:
        port = server.port
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", port))


def test_zone_lists() -> None:
    assert parse_zones("test, localhost.,TEST") == ("test", "localhost")
    assert parse_zones("corp.test") == ("corp.test",)
    for bad in ("", " , ", "a..b", "-x.test", "*.test", "a b"):
        with pytest.raises(ValueError):
            parse_zones(bad)


def test_trial_settings() -> None:
    """A trial validates loopback only (allow_private_validation widens it), serves this
    machine only, and its zones are checked like any setting."""
    trial = load_settings({"trial": True}, env={})
    assert validation_config(trial).allowed_networks == LOOPBACK_NETWORKS
    assert validation_config(load_settings({}, env={})).allowed_networks == ()
    both = load_settings({"trial": True, "allow_private_validation": True}, env={})
    assert validation_config(both).allowed_networks == PRIVATE_NETWORKS
    assert load_settings({"trial": True, "host": "::1"}, env={}).trial
    with pytest.raises(SettingsError, match=r"'trial'.*loopback"):
        load_settings({"trial": True, "host": "0.0.0.0"}, env={})  # noqa: S104
    with pytest.raises(SettingsError, match="'trial_zones'"):
        load_settings({"trial_zones": "a..b"}, env={})
