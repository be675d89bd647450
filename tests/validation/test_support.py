"""The test support itself: the loopback fence and the DNS server's answers."""

from __future__ import annotations

import socket

import dns.asyncquery
import dns.message
import dns.rcode
import pytest

from testkit.dns_server import DNSServer
from tests.support.loopback_guard import refusal


@pytest.mark.parametrize(
    ("event", "address", "refused"),
    [
        ("socket.connect", ("127.0.0.1", 80), False),
        ("socket.connect", ("127.9.9.9", 80), False),
        ("socket.connect", ("::1", 80, 0, 0), False),
        ("socket.connect", ("192.0.2.1", 80), True),
        ("socket.sendto", ("10.0.0.53", 53), True),
        ("socket.connect", ("::ffff:127.0.0.1", 80, 0, 0), True),
        ("socket.connect", ("2001:db8::1", 443, 0, 0), True),
    ],
)
def test_fence_judges_ip_destinations(
    event: str, address: tuple[object, ...], refused: bool
) -> None:
    family = socket.AF_INET6 if ":" in str(address[0]) else socket.AF_INET
    with socket.socket(family) as sock:  # never connected: only its family is read
        assert (refusal(event, (sock, address)) is not None) is refused


@pytest.mark.parametrize(
    ("host", "refused"),
    [(None, False), ("127.0.0.1", False), (b"::1", False), ("example.com", True), ("a.test", True)],
)
def test_fence_judges_name_lookups(host: str | bytes | None, refused: bool) -> None:
    assert (refusal("socket.getaddrinfo", (host, 80, 0, 0, 0)) is not None) is refused


async def ask(
    server: DNSServer, name: str, rdtype: str, *, tcp: bool = False
) -> dns.message.Message:
    query = dns.message.make_query(name, rdtype)
    host, port = server.nameserver
    if tcp:
        return await dns.asyncquery.tcp(query, host, port=port, timeout=2)
    return await dns.asyncquery.udp(query, host, port=port, timeout=2)


@pytest.mark.parametrize("tcp", [False, True], ids=["udp", "tcp"])
async def test_dns_server_rcodes(dns_server: DNSServer, tcp: bool) -> None:
    dns_server.add("_acme-challenge.deep.a.test", "TXT", "x")
    dns_server.add("a.test", "A", "127.0.0.1")
    dns_server.servfail("sf.test")
    nx = await ask(dns_server, "nowhere.test", "A", tcp=tcp)
    nodata = await ask(dns_server, "a.test", "AAAA", tcp=tcp)
    ent = await ask(dns_server, "deep.a.test", "A", tcp=tcp)  # empty non-terminal
    sf = await ask(dns_server, "sf.test", "A", tcp=tcp)
    assert [m.rcode() for m in (nx, nodata, ent, sf)] == [
        dns.rcode.NXDOMAIN,
        dns.rcode.NOERROR,
        dns.rcode.NOERROR,
        dns.rcode.SERVFAIL,
    ]
    assert nodata.answer == [] and ent.answer == []
    assert dns_server.tcp_queries == (4 if tcp else 0)


async def test_dns_server_cname_loop_stops(dns_server: DNSServer) -> None:
    dns_server.add("x.test", "CNAME", "y.test.")
    dns_server.add("y.test", "CNAME", "x.test.")
    response = await ask(dns_server, "x.test", "A")
    assert [rrset.name.to_text() for rrset in response.answer] == ["x.test.", "y.test."]


async def test_dns_server_applies_rfc2136_updates(dns_server: DNSServer) -> None:
    import asyncio

    from testkit.dns_server import send_update

    name = "_acme-challenge.upd.test"

    async def update(action: str, value: str) -> None:
        await asyncio.to_thread(send_update, dns_server.nameserver, action, name, "TXT", value)

    async def txt() -> list[str]:
        response = await ask(dns_server, name, "TXT")
        return sorted(b"".join(r.strings).decode() for rrset in response.answer for r in rrset)

    await update("add", "first")
    await update("add", "second")
    await update("add", "second")  # an RRset holds a record once
    assert await txt() == ["first", "second"]
    await update("delete", "first")
    assert await txt() == ["second"]
    await update("delete", "second")
    assert await txt() == []
    with pytest.raises(ValueError, match="add or delete"):
        send_update(dns_server.nameserver, "replace", name, "TXT", "x")
