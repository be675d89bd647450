"""An in-process authoritative DNS server on 127.0.0.1 (UDP and TCP), for tests.

    async with DNSServer() as dns:
        dns.add("a.test", "A", "127.0.0.1")
        dns.add("_acme-challenge.a.test", "TXT", "value")
        dns.rotate("rebind.test", "A", ["127.0.0.1"], ["127.0.0.2"])  # 1st answer, then 2nd
        dns.servfail("broken.test")
        dns.silence("slow.test")  # no answer at all
        config = ValidationConfig(nameservers=(dns.nameserver,))

Records can also be changed from another process by an RFC 2136 UPDATE message (no
prerequisites, no TSIG: a loopback test server), which is how the ACME clients' DNS-01 hooks
in conformance/ publish and remove their TXT records (`send_update`).

It answers from the records the test adds, for every name (it is authoritative for the
whole tree): CNAMEs are followed within its records, a name with no records at or below it
is NXDOMAIN, a name without the asked type is an empty NOERROR; both carry the SOA of the
nearest enclosing zone with one the test added (none otherwise). Messages are parsed and
built with dnspython; UDP answers too large for the client are truncated (TC) so clients
retry over TCP. `queries` lists every (name, type) asked, in order; `tcp_queries` counts
those that came over TCP.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import struct
from types import TracebackType
from typing import Final, Self, cast

import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.opcode
import dns.query
import dns.rcode
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.rdtypes.ANY.CNAME
import dns.rrset
import dns.update

HOST: Final = "127.0.0.1"
TTL: Final = 60
MAX_CNAME_HOPS: Final = 8  # RFC 1034 section 3.6.2 chains; longer ones stop here
UDP_PAYLOAD: Final = 512  # RFC 1035 section 4.2.1, without EDNS
TCP_MAX: Final = 65535  # RFC 1035 section 4.2.2: a two-octet length
BIND_ATTEMPTS: Final = 20  # UDP and TCP need the same free port number

Key = tuple[dns.name.Name, dns.rdatatype.RdataType]


class DNSServer:
    def __init__(self, host: str = HOST) -> None:
        self.host = host
        self.port = 0
        self.queries: list[tuple[str, str]] = []
        self.tcp_queries = 0  # how many of them came over TCP
        self._records: dict[Key, list[list[dns.rdata.Rdata]]] = {}
        self._asked: dict[Key, int] = {}
        self._servfail: set[dns.name.Name] = set()
        self._silent: set[dns.name.Name] = set()
        self._udp: asyncio.DatagramTransport | None = None
        self._tcp: asyncio.Server | None = None
        self._connections: set[asyncio.StreamWriter] = set()

    @property
    def nameserver(self) -> tuple[str, int]:
        """(address, port), as ValidationConfig.nameservers takes it."""
        return (self.host, self.port)

    def add(self, name: str, rdtype: str, *values: str) -> None:
        """Add records (zone-file text; TXT values may be given unquoted)."""
        key = _key(name, rdtype)
        answers = self._records.setdefault(key, [[]])
        for answer in answers:
            answer.extend(_rdata(key[1], value) for value in values)

    def rotate(self, name: str, rdtype: str, *answers: list[str]) -> None:
        """Answer the n-th query of (name, type) with answers[n], the last one from then on."""
        key = _key(name, rdtype)
        self._records[key] = [[_rdata(key[1], value) for value in answer] for answer in answers]
        self._asked[key] = 0

    def records(self, name: str, rdtype: str) -> list[str]:
        """The records of (name, type) the next query would get, as zone-file text."""
        key = _key(name, rdtype)
        answers = self._records.get(key) or [[]]
        index = min(self._asked.get(key, 0), len(answers) - 1)
        return [rdata.to_text() for rdata in answers[index]]

    def remove(self, name: str, rdtype: str) -> None:
        self._records.pop(_key(name, rdtype), None)

    def servfail(self, name: str, enabled: bool = True) -> None:
        """Answer SERVFAIL for every query of `name` (while enabled)."""
        qname = dns.name.from_text(name)
        if enabled:
            self._servfail.add(qname)
        else:
            self._servfail.discard(qname)

    def silence(self, name: str, enabled: bool = True) -> None:
        """Never answer a query of `name` (while enabled): a nameserver that times out."""
        qname = dns.name.from_text(name)
        if enabled:
            self._silent.add(qname)
        else:
            self._silent.discard(qname)

    async def __aenter__(self) -> Self:
        loop = asyncio.get_running_loop()
        for _ in range(BIND_ATTEMPTS):
            udp, _protocol = await loop.create_datagram_endpoint(
                lambda: _UDP(self), local_addr=(self.host, 0)
            )
            port = udp.get_extra_info("sockname")[1]
            try:
                self._tcp = await asyncio.start_server(self._serve_tcp, self.host, port)
            except OSError as exc:
                udp.close()
                if exc.errno != errno.EADDRINUSE:
                    raise
                continue
            self._udp, self.port = udp, port
            return self
        raise OSError(errno.EADDRINUSE, "no port free for both UDP and TCP")

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._udp is not None:
            self._udp.close()
        if self._tcp is not None:
            self._tcp.close()
            for writer in list(self._connections):
                writer.close()
            await self._tcp.wait_closed()

    def answer(self, wire: bytes, *, udp: bool) -> bytes | None:
        """The response to one query message, or None to drop a malformed one."""
        try:
            query = dns.message.from_wire(wire)
        except dns.exception.DNSException:
            return None
        response = dns.message.make_response(query)
        response.flags |= dns.flags.AA
        if query.opcode() == dns.opcode.UPDATE:
            response.set_rcode(self._update(query))
            return response.to_wire()
        if len(query.question) != 1:
            response.set_rcode(dns.rcode.FORMERR)
            return response.to_wire()
        question = query.question[0]
        self.queries.append(
            (question.name.to_text(omit_final_dot=True), dns.rdatatype.to_text(question.rdtype))
        )
        if question.name in self._silent:
            return None
        self._fill(response, question.name, question.rdtype)
        size = TCP_MAX if not udp else max(UDP_PAYLOAD, query.payload if query.edns >= 0 else 0)
        try:
            return response.to_wire(max_size=size)
        except dns.exception.TooBig:
            response.answer.clear()
            response.flags |= dns.flags.TC
            return response.to_wire()

    def _update(self, message: dns.message.Message) -> dns.rcode.Rcode:
        """RFC 2136 section 2.5 update RRs: class ANY deletes an RRset (type ANY: every
        RRset of the name), class NONE deletes the given records, class IN adds them."""
        if not isinstance(message, dns.update.UpdateMessage):
            return dns.rcode.FORMERR
        for rrset in message.update:
            # dnspython keeps the zone's class and puts ANY/NONE in `deleting`.
            if rrset.deleting == dns.rdataclass.ANY:
                for key in [k for k in self._records if k[0] == rrset.name]:
                    if rrset.rdtype in (dns.rdatatype.ANY, key[1]):
                        del self._records[key]
                continue
            key = (rrset.name, rrset.rdtype)
            if rrset.deleting == dns.rdataclass.NONE:
                gone = {r.to_text() for r in rrset}
                for answer in self._records.get(key, []):
                    answer[:] = [r for r in answer if r.to_text() not in gone]
            else:
                for answer in self._records.setdefault(key, [[]]):
                    answer.extend(r for r in rrset if r not in answer)
        return dns.rcode.NOERROR

    def _fill(
        self, response: dns.message.Message, qname: dns.name.Name, qtype: dns.rdatatype.RdataType
    ) -> None:
        name = qname
        seen: set[dns.name.Name] = set()
        for _ in range(MAX_CNAME_HOPS):
            if name in seen:
                return  # a CNAME loop: answer the chain so far
            seen.add(name)
            if name in self._servfail:
                response.answer.clear()
                response.set_rcode(dns.rcode.SERVFAIL)
                return
            cname = self._next((name, dns.rdatatype.CNAME))
            if cname and qtype != dns.rdatatype.CNAME:
                response.answer.append(dns.rrset.from_rdata_list(name, TTL, cname))
                assert isinstance(cname[0], dns.rdtypes.ANY.CNAME.CNAME)
                name = cname[0].target
                continue
            records = self._next((name, qtype))
            if records:
                response.answer.append(dns.rrset.from_rdata_list(name, TTL, records))
                return
            if not self._exists(name):
                response.set_rcode(dns.rcode.NXDOMAIN)
            self._add_soa(response, name)
            return

    def _next(self, key: Key) -> list[dns.rdata.Rdata]:
        answers = self._records.get(key)
        if not answers:
            return []
        if key not in self._asked:
            return answers[0]
        index = min(self._asked[key], len(answers) - 1)
        self._asked[key] += 1
        return answers[index]

    def _add_soa(self, response: dns.message.Message, name: dns.name.Name) -> None:
        """A negative answer carries the SOA of the nearest enclosing zone the test added, if
        any, in its authority section (RFC 2308 section 3), which lets resolvers cache it."""
        zone = name
        while True:
            soa = self._records.get((zone, dns.rdatatype.SOA))
            if soa and soa[0]:
                response.authority.append(dns.rrset.from_rdata_list(zone, TTL, soa[0]))
                return
            if zone == dns.name.root:
                return
            zone = zone.parent()

    def _exists(self, name: dns.name.Name) -> bool:
        """Has `name` records, or names below it (an empty non-terminal)?"""
        return any(
            owner.is_subdomain(name) and any(answers)
            for (owner, _), answers in self._records.items()
        )

    async def _serve_tcp(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._connections.add(writer)
        try:
            while True:
                (length,) = struct.unpack("!H", await reader.readexactly(2))
                self.tcp_queries += 1
                reply = self.answer(await reader.readexactly(length), udp=False)
                if reply is None:
                    break
                writer.write(struct.pack("!H", len(reply)) + reply)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            self._connections.discard(writer)
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()


class _UDP(asyncio.DatagramProtocol):
    def __init__(self, server: DNSServer) -> None:
        self.server = server
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # asyncio's UDP transports do not subclass DatagramTransport on every Python.
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str | bytes, int]) -> None:
        reply = self.server.answer(data, udp=True)
        if reply is not None and self.transport is not None:
            self.transport.sendto(reply, addr)


def send_update(
    nameserver: tuple[str, int], action: str, name: str, rdtype: str, value: str
) -> None:
    """Ask a DNSServer (another process's) by RFC 2136 UPDATE over TCP to "add" or
    "delete" one record; raises RuntimeError unless it answers NOERROR."""
    if action not in ("add", "delete"):
        raise ValueError(f"action must be add or delete, not {action!r}")
    qname = dns.name.from_text(name)
    update = dns.update.UpdateMessage(qname.parent() if len(qname) > 2 else qname)
    rdata = _rdata(dns.rdatatype.from_text(rdtype), value)
    if action == "add":
        update.add(qname, TTL, rdata)
    else:
        update.delete(qname, rdata)
    response = dns.query.tcp(update, nameserver[0], port=nameserver[1], timeout=5)
    if response.rcode() != dns.rcode.NOERROR:
        raise RuntimeError(
            f"UPDATE {action} {name} {rdtype}: {dns.rcode.to_text(response.rcode())}"
        )


def _key(name: str, rdtype: str) -> Key:
    return dns.name.from_text(name), dns.rdatatype.from_text(rdtype)


def _rdata(rdtype: dns.rdatatype.RdataType, value: str) -> dns.rdata.Rdata:
    if rdtype == dns.rdatatype.TXT and not value.startswith('"'):
        value = '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return dns.rdata.from_text(dns.rdataclass.IN, rdtype, value)
