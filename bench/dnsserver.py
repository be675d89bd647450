"""A wildcard DNS responder on 127.0.0.1 (UDP) for the names the benchmark orders.

Every name at or below the zone (`bench.test`) has A 127.0.0.1 and no other records (AAAA,
CAA, TXT: an empty NOERROR answer with the zone's SOA); names outside the zone are NXDOMAIN
with the root's SOA, as a recursive resolver answers for a TLD that does not exist. Negative
answers carry the SOA as RFC 2308 section 3 requires of authoritative servers (it is what
lets a resolver cache them; the server caches CAA answers that way). So each certificate
can name a distinct `c<i>.r<run>.bench.test` -- no authorization is ever reused, every flow
is validated in full -- without adding records ahead of time. Answers are a few dozen bytes,
so TCP (RFC 7766 fallback after TC) is never needed.
"""

from __future__ import annotations

import asyncio
from types import TracebackType
from typing import Final, Self, cast

import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rrset

HOST: Final = "127.0.0.1"
TTL: Final = 60
ZONE_SOA: Final = "ns.bench.test. hostmaster.bench.test. 1 3600 600 86400 60"
ROOT_SOA: Final = "a.root-servers.net. nstld.verisign-grs.com. 1 1800 900 604800 86400"


class WildcardDNS:
    def __init__(self, zone: str = "bench.test", address: str = "127.0.0.1") -> None:
        self.zone = dns.name.from_text(zone)
        self.address = address
        self.port = 0
        self.queries = 0
        self._transport: asyncio.DatagramTransport | None = None

    @property
    def nameserver(self) -> str:
        """HOST:PORT, as `kms serve --dns-resolver` takes it."""
        return f"{HOST}:{self.port}"

    async def __aenter__(self) -> Self:
        loop = asyncio.get_running_loop()
        transport, _ = await loop.create_datagram_endpoint(
            lambda: _Protocol(self), local_addr=(HOST, 0)
        )
        self._transport = transport
        self.port = transport.get_extra_info("sockname")[1]
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._transport is not None:
            self._transport.close()

    def answer(self, wire: bytes) -> bytes | None:
        try:
            query = dns.message.from_wire(wire)
        except dns.exception.DNSException:
            return None
        self.queries += 1
        response = dns.message.make_response(query)
        response.flags |= dns.flags.AA
        if len(query.question) != 1:
            response.set_rcode(dns.rcode.FORMERR)
            return response.to_wire()
        question = query.question[0]
        if not question.name.is_subdomain(self.zone):
            response.set_rcode(dns.rcode.NXDOMAIN)
            response.authority.append(_soa(dns.name.root, ROOT_SOA))
        elif question.rdtype == dns.rdatatype.A:
            response.answer.append(
                dns.rrset.from_text(question.name, TTL, dns.rdataclass.IN, "A", self.address)
            )
        else:
            response.authority.append(_soa(self.zone, ZONE_SOA))
        return response.to_wire()


def _soa(zone: dns.name.Name, text: str) -> dns.rrset.RRset:
    return dns.rrset.from_text(zone, TTL, dns.rdataclass.IN, "SOA", text)


class _Protocol(asyncio.DatagramProtocol):
    def __init__(self, server: WildcardDNS) -> None:
        self.server = server
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's and some Pythons' UDP transports do not subclass DatagramTransport.
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str | bytes, int]) -> None:
        reply = self.server.answer(data)
        if reply is not None and self.transport is not None:
            self.transport.sendto(reply, addr)
