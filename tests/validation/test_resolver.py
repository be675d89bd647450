"""Resolver against the loopback DNS server: answers, absences and failures."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterator

import pytest

from acme_server.validation.config import ValidationConfig
from acme_server.validation.errors import ValidationFailure
from acme_server.validation.resolver import CAARecord, Resolver
from testkit.dns_server import DNSServer


def resolver_for(dns: DNSServer, timeout: float = 5.0) -> Resolver:
    return Resolver(ValidationConfig(nameservers=(dns.nameserver,), timeout=timeout))


@pytest.fixture
def silent_nameserver() -> Iterator[tuple[str, int]]:
    """A UDP and TCP port on 127.0.0.1 that never answer."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
        udp.bind(("127.0.0.1", 0))
        yield ("127.0.0.1", udp.getsockname()[1])


async def test_addresses_ipv6_first(dns_server: DNSServer) -> None:
    dns_server.add("a.test", "A", "127.0.0.2", "127.0.0.1")
    dns_server.add("a.test", "AAAA", "::1")
    addresses = await resolver_for(dns_server).addresses("a.test")
    assert addresses[0] == ipaddress.ip_address("::1")
    assert sorted(map(str, addresses[1:])) == ["127.0.0.1", "127.0.0.2"]


async def test_addresses_follow_cname(dns_server: DNSServer) -> None:
    dns_server.add("www.test", "CNAME", "web.test.")
    dns_server.add("web.test", "CNAME", "a.test.")
    dns_server.add("a.test", "A", "127.0.0.3")
    addresses = await resolver_for(dns_server).addresses("www.test")
    assert addresses == [ipaddress.ip_address("127.0.0.3")]


@pytest.mark.parametrize("name", ["nowhere.test", "txt-only.test", "dangling.test"])
async def test_no_address_is_dns(dns_server: DNSServer, name: str) -> None:
    dns_server.add("txt-only.test", "TXT", "hello")
    dns_server.add("dangling.test", "CNAME", "gone.test.")
    with pytest.raises(ValidationFailure) as caught:
        await resolver_for(dns_server).addresses(name)
    assert caught.value.problem == "dns"
    assert caught.value.detail == f'no A or AAAA records for "{name}"'


async def test_servfail_is_dns(dns_server: DNSServer) -> None:
    dns_server.servfail("broken.test")
    with pytest.raises(ValidationFailure) as caught:
        await resolver_for(dns_server).addresses("broken.test")
    assert caught.value.problem == "dns"
    assert (
        caught.value.detail
        == 'A lookup for "broken.test" failed: the nameservers answered SERVFAIL'
    )


async def test_servfail_then_recovery(dns_server: DNSServer) -> None:
    dns_server.add("flaky.test", "A", "127.0.0.1")
    dns_server.servfail("flaky.test")
    resolver = resolver_for(dns_server)
    with pytest.raises(ValidationFailure):
        await resolver.addresses("flaky.test")
    dns_server.servfail("flaky.test", enabled=False)
    assert await resolver.addresses("flaky.test") == [ipaddress.ip_address("127.0.0.1")]


async def test_silent_nameserver_times_out_as_dns(silent_nameserver: tuple[str, int]) -> None:
    resolver = Resolver(ValidationConfig(nameservers=(silent_nameserver,), timeout=0.5))
    with pytest.raises(ValidationFailure) as caught:
        await resolver.addresses("a.test")
    assert caught.value.problem == "dns"
    assert "timed out" in caught.value.detail


async def test_rotation_is_not_cached(dns_server: DNSServer) -> None:
    dns_server.rotate("rebind.test", "A", ["127.0.0.1"], ["127.0.0.2"])
    resolver = resolver_for(dns_server)
    first = await resolver.addresses("rebind.test")
    second = await resolver.addresses("rebind.test")
    assert (first, second) == (
        [ipaddress.ip_address("127.0.0.1")],
        [ipaddress.ip_address("127.0.0.2")],
    )


async def test_txt_records_joined_and_absent_is_empty(dns_server: DNSServer) -> None:
    long_value = "x" * 300  # more than one 255-octet character-string (RFC 1035 3.3.14)
    dns_server.add(
        "_acme-challenge.a.test", "TXT", "first", f'"{long_value[:255]}" "{long_value[255:]}"'
    )
    resolver = resolver_for(dns_server)
    assert sorted(await resolver.txt("_acme-challenge.a.test")) == ["first", long_value]
    assert await resolver.txt("_acme-challenge.nowhere.test") == []


async def test_large_answer_retried_over_tcp(dns_server: DNSServer) -> None:
    values = [f"{index:02d}" + "v" * 200 for index in range(12)]  # ~2.5 kB: truncated on UDP
    dns_server.add("big.test", "TXT", *values)
    assert sorted(await resolver_for(dns_server).txt("big.test")) == values
    assert dns_server.tcp_queries == 1


async def test_caa_records(dns_server: DNSServer) -> None:
    dns_server.add("a.test", "CAA", '0 issue "ca.example"', '128 iodef "mailto:x@a.test"')
    records = await resolver_for(dns_server).caa("a.test")
    assert sorted(records, key=lambda record: record.flags) == [
        CAARecord(0, "issue", "ca.example"),
        CAARecord(128, "iodef", "mailto:x@a.test"),
    ]
    assert await resolver_for(dns_server).caa("nowhere.test") == []


async def test_caa_servfail_is_dns_not_permission(dns_server: DNSServer) -> None:
    """RFC 8659 section 3: a failed CAA lookup must not be taken as "no CAA records"."""
    dns_server.servfail("a.test")
    with pytest.raises(ValidationFailure) as caught:
        await resolver_for(dns_server).caa("a.test")
    assert caught.value.problem == "dns"


async def test_invalid_name_rejected(dns_server: DNSServer) -> None:
    with pytest.raises(ValidationFailure) as caught:
        await resolver_for(dns_server).addresses("a" * 64 + ".test")
    assert caught.value.problem == "rejectedIdentifier"
    assert dns_server.queries == []


SOA = "ns.zone.test. hostmaster.zone.test. 1 3600 600 86400 30"


async def test_caa_answers_are_cached_for_their_ttl(dns_server: DNSServer) -> None:
    """BR 3.2.2.8 lets a CA rely on a CAA answer for its TTL (60 s here), so the RFC 8659
    climb does not ask about shared parents again; A/AAAA/TXT stay fresh."""
    dns_server.add("a.zone.test", "CAA", '0 issue "ca.example"')
    resolver = resolver_for(dns_server)
    first = await resolver.caa("a.zone.test")
    dns_server.remove("a.zone.test", "CAA")
    dns_server.add("a.zone.test", "CAA", '0 issue "other.example"')
    assert await resolver.caa("A.zone.test.") == first  # same name, any spelling
    assert dns_server.queries.count(("a.zone.test", "CAA")) == 1
    assert [r.value for r in await resolver_for(dns_server).caa("a.zone.test")] == [
        "other.example"
    ]  # another resolver (process) asks again


async def test_negative_caa_answers_cached_only_with_an_soa(dns_server: DNSServer) -> None:
    """RFC 2308 section 5: a negative answer lives for min(SOA TTL, SOA MINIMUM), here 30 s;
    without an SOA it is not cached at all."""
    resolver = resolver_for(dns_server)
    dns_server.add("b.nosoa.test", "A", "192.0.2.1")
    for _ in range(2):
        assert await resolver.caa("b.nosoa.test") == []
    assert dns_server.queries.count(("b.nosoa.test", "CAA")) == 2
    dns_server.add("zone.test", "SOA", SOA)
    dns_server.add("b.zone.test", "A", "192.0.2.1")
    for name in ("b.zone.test", "missing.zone.test"):  # no data, NXDOMAIN
        for _ in range(2):
            assert await resolver.caa(name) == []
        assert dns_server.queries.count((name, "CAA")) == 1


async def test_caa_cache_off_and_failures_never_cached(dns_server: DNSServer) -> None:
    off = Resolver(
        ValidationConfig(nameservers=(dns_server.nameserver,), timeout=5.0, caa_cache_seconds=0)
    )
    dns_server.add("c.zone.test", "CAA", '0 issue "ca.example"')
    for _ in range(2):
        await off.caa("c.zone.test")
    assert dns_server.queries.count(("c.zone.test", "CAA")) == 2
    dns_server.servfail("d.zone.test")
    resolver = resolver_for(dns_server)
    for _ in range(2):
        with pytest.raises(ValidationFailure):
            await resolver.caa("d.zone.test")
    assert dns_server.queries.count(("d.zone.test", "CAA")) == 2
