"""The DNS answerer of `kms serve --trial`: every name under a few zones is this machine.

ACME validation looks a name up before it connects, so ACME clients on one machine cannot
be validated for a name nobody's DNS knows (`no A or AAAA records for "web.example"`). In
trial mode the server asks this answerer instead of the system's resolver: it is
authoritative (AA) for the trial zones (by default `test` and `localhost`, both reserved
by RFC 6761 for exactly this) and answers

- A 127.0.0.1 and AAAA ::1 for the zone apex and every name below it;
- any other type (CAA, TXT, ...) with an empty answer and the zone's SOA in the authority
  section (RFC 2308), so CAA finds no records and climbs on, and DNS-01 finds no TXT;
- REFUSED for names outside the zones (it is not a recursive resolver), NOTIMP for other
  opcodes, FORMERR for a query without exactly one question; malformed messages and
  responses are dropped.

It listens on a loopback address only, UDP and TCP on the same port (one the kernel picks
unless told), from two daemon threads, so it runs beside uvicorn's event loop untouched.
"""

from __future__ import annotations

import errno
import ipaddress
import re
import socket
import socketserver
import struct
import threading
from collections.abc import Sequence
from types import TracebackType
from typing import Final, Self

import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.opcode
import dns.rcode
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.rrset

HOST: Final = "127.0.0.1"
DEFAULT_ZONES: Final = ("test", "localhost")
TTL: Final = 60  # seconds, answers and (SOA minimum) negative answers alike
UDP_PAYLOAD: Final = 512  # RFC 1035 section 4.2.1, without EDNS
TCP_IDLE_S: Final = 10.0  # an idle TCP connection is closed after this long
BIND_ATTEMPTS: Final = 20  # UDP and TCP need the same free port number
_LABEL: Final = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_ZONE_RE: Final = re.compile(rf"{_LABEL}(?:\.{_LABEL})*")
_ADDRESSES: Final = {
    dns.rdatatype.A: dns.rdata.from_text(dns.rdataclass.IN, dns.rdatatype.A, "127.0.0.1"),
    dns.rdatatype.AAAA: dns.rdata.from_text(dns.rdataclass.IN, dns.rdatatype.AAAA, "::1"),
}


def parse_zones(text: str) -> tuple[str, ...]:
    """The zones of a trial_zones setting: "test,localhost" -> ("test", "localhost"), lower
    case, no trailing dot, no repeats; ValueError saying what is expected."""
    zones: list[str] = []
    for part in text.split(","):
        zone = part.strip().lower().removesuffix(".")
        if not zone:
            continue
        if len(zone) > 253 or not _ZONE_RE.fullmatch(zone):
            raise ValueError(
                f"{part.strip()!r} is not a zone name (labels of letters, digits and hyphens "
                "separated by dots, e.g. test)"
            )
        zones.append(zone)
    if not zones:
        raise ValueError("name at least one zone, comma-separated, e.g. test,localhost")
    return tuple(dict.fromkeys(zones))


class ZoneAnswerer:
    """Builds the answer to one DNS message (no I/O)."""

    def __init__(self, zones: Sequence[str]) -> None:
        self.zones = tuple(dns.name.from_text(zone) for zone in zones)

    def zone_of(self, name: dns.name.Name) -> dns.name.Name | None:
        """The trial zone `name` is in (the longest, if zones nest), or None."""
        found = [zone for zone in self.zones if name.is_subdomain(zone)]
        return max(found, key=len) if found else None

    def answer(self, wire: bytes, *, udp: bool) -> bytes | None:
        """The response to one message, or None to drop it."""
        try:
            query = dns.message.from_wire(wire)
        except dns.exception.DNSException:
            return None
        if query.flags & dns.flags.QR:
            return None  # a response, never answered (no loops between two servers)
        response = dns.message.make_response(query)
        if query.opcode() != dns.opcode.QUERY:
            response.set_rcode(dns.rcode.NOTIMP)
            return response.to_wire()
        if len(query.question) != 1:
            response.set_rcode(dns.rcode.FORMERR)
            return response.to_wire()
        question = query.question[0]
        zone = self.zone_of(question.name)
        if zone is None or question.rdclass != dns.rdataclass.IN:
            response.set_rcode(dns.rcode.REFUSED)
            return response.to_wire()
        response.flags |= dns.flags.AA
        address = _ADDRESSES.get(question.rdtype)
        if address is not None:
            response.answer.append(dns.rrset.from_rdata(question.name, TTL, address))
        else:
            response.authority.append(dns.rrset.from_rdata(zone, TTL, _soa(zone)))
        size = max(UDP_PAYLOAD, query.payload if query.edns >= 0 else 0) if udp else 65535
        try:
            return response.to_wire(max_size=size)
        except dns.exception.TooBig:  # cannot happen with these answers; RFC 1035 4.2.1
            response.answer.clear()
            response.authority.clear()
            response.flags |= dns.flags.TC
            return response.to_wire()


def _soa(zone: dns.name.Name) -> dns.rdata.Rdata:
    apex = zone.to_text()
    return dns.rdata.from_text(
        dns.rdataclass.IN, dns.rdatatype.SOA, f"{apex} hostmaster.{apex} 1 3600 600 86400 {TTL}"
    )


def _family(host: str) -> socket.AddressFamily:
    return socket.AF_INET6 if ":" in host else socket.AF_INET


class _UDPServer(socketserver.UDPServer):
    def __init__(self, address: tuple[str, int], answerer: ZoneAnswerer) -> None:
        self.answerer = answerer
        self.address_family = _family(address[0])
        super().__init__(address, _UDPHandler)


class _UDPHandler(socketserver.BaseRequestHandler):
    server: _UDPServer

    def handle(self) -> None:
        data, sock = self.request
        reply = self.server.answerer.answer(data, udp=True)
        if reply is not None:
            sock.sendto(reply, self.client_address)


class _TCPServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True  # a restart can take the port over from TIME_WAIT

    def __init__(self, address: tuple[str, int], answerer: ZoneAnswerer) -> None:
        self.answerer = answerer
        self.address_family = _family(address[0])
        super().__init__(address, _TCPHandler)


class _TCPHandler(socketserver.BaseRequestHandler):
    """RFC 1035 section 4.2.2: each message behind a two-octet length, several a connection."""

    server: _TCPServer

    def handle(self) -> None:
        sock: socket.socket = self.request
        sock.settimeout(TCP_IDLE_S)
        try:
            while True:
                header = _read_exactly(sock, 2)
                if header is None:
                    return
                (length,) = struct.unpack("!H", header)
                message = _read_exactly(sock, length)
                if message is None:
                    return
                reply = self.server.answerer.answer(message, udp=False)
                if reply is None:
                    return
                sock.sendall(struct.pack("!H", len(reply)) + reply)
        except OSError:  # a timeout or a reset: the connection is done
            return


def _read_exactly(sock: socket.socket, count: int) -> bytes | None:
    data = b""
    while len(data) < count:
        chunk = sock.recv(count - len(data))
        if not chunk:
            return None
        data += chunk
    return data


class TrialDNS:
    """A ZoneAnswerer served on a loopback address, UDP and TCP on one port.

    with TrialDNS(("test", "localhost")) as dns_server:
        dns_server.nameserver  # "127.0.0.1:40153", for the dns_resolver setting
    """

    def __init__(self, zones: Sequence[str], *, host: str = HOST, port: int = 0) -> None:
        if not ipaddress.ip_address(host).is_loopback:
            raise ValueError(f"the trial DNS answerer listens on loopback only, not {host}")
        self.zones = tuple(zones)
        self.host = host
        self.port = port
        self._answerer = ZoneAnswerer(self.zones)
        self._servers: list[socketserver.BaseServer] = []
        self._threads: list[threading.Thread] = []

    @property
    def nameserver(self) -> str:
        """HOST:PORT ([HOST]:PORT for IPv6), as the dns_resolver setting takes it."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"

    def start(self) -> None:
        udp, tcp = self._bind()
        self.port = udp.server_address[1]
        for server in (udp, tcp):
            thread = threading.Thread(
                target=server.serve_forever,
                kwargs={"poll_interval": 0.2},
                name=f"trial-dns-{type(server).__name__}",
                daemon=True,
            )
            thread.start()
            self._servers.append(server)
            self._threads.append(thread)

    def _bind(self) -> tuple[_UDPServer, _TCPServer]:
        for _ in range(BIND_ATTEMPTS):
            udp = _UDPServer((self.host, self.port), self._answerer)
            try:
                return udp, _TCPServer((self.host, udp.server_address[1]), self._answerer)
            except OSError as exc:
                udp.server_close()
                if exc.errno != errno.EADDRINUSE or self.port:
                    raise
        raise OSError(errno.EADDRINUSE, "no loopback port free for both UDP and TCP")

    def stop(self) -> None:
        for server in self._servers:
            server.shutdown()
            server.server_close()
        for thread in self._threads:
            thread.join(timeout=5)
        self._servers.clear()
        self._threads.clear()

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
