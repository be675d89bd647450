"""A TLS-ALPN-01 responder for tests (RFC 8737 section 3): the `ssl` module on loopback.

    async with TLSALPNResponder() as tls:
        tls.serve(challenge_certificate(x509.DNSName("a.test"), key_authorization))
        ...                                   # validation connects to tls.port
        tls.server_names                      # the SNI of each ClientHello

The certificate is built with cryptography: a fresh P-256 key, self-signed, with the SAN
and the acmeIdentifier extension given (or left out / bent, for the failure tests).
alpn=False makes the server refuse to select acme-tls/1; trickle=S sends the server's
handshake bytes one at a time, S seconds apart (a slow-loris responder); stall=True accepts
the TCP connection and never answers. `in_flight` and `peak_in_flight` count connections
open at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import ssl
import tempfile
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Final, Self

from cryptography import x509

from testkit.self_signed import self_signed_builder, signed_pem

HOST: Final = "127.0.0.1"
ACME_TLS_ALPN: Final = "acme-tls/1"
ACME_IDENTIFIER_OID: Final = x509.ObjectIdentifier("1.3.6.1.5.5.7.1.31")


@dataclass(frozen=True, slots=True)
class ChallengeCertificate:
    cert_pem: bytes
    key_pem: bytes


def acme_identifier_value(key_authorization: str) -> bytes:
    """RFC 8737 section 3: DER OCTET STRING of SHA-256(key authorization)."""
    return b"\x04\x20" + hashlib.sha256(key_authorization.encode("ascii")).digest()


def challenge_certificate(
    *sans: x509.GeneralName,
    key_authorization: str | None,
    critical: bool = True,
    extension_value: bytes | None = None,
) -> ChallengeCertificate:
    """A self-signed certificate with `sans` (none: no SAN extension) and, unless
    key_authorization and extension_value are both None, an acmeIdentifier extension
    (extension_value overrides the right value)."""
    key, builder = self_signed_builder("ACME TLS-ALPN-01 test")
    if sans:
        builder = builder.add_extension(x509.SubjectAlternativeName(list(sans)), critical=False)
    if extension_value is None and key_authorization is not None:
        extension_value = acme_identifier_value(key_authorization)
    if extension_value is not None:
        builder = builder.add_extension(
            x509.UnrecognizedExtension(ACME_IDENTIFIER_OID, extension_value), critical=critical
        )
    return ChallengeCertificate(*signed_pem(key, builder))


class TLSALPNResponder:
    def __init__(
        self,
        host: str = HOST,
        port: int = 0,
        *,
        alpn: bool = True,
        trickle: float | None = None,
        stall: bool = False,
    ) -> None:
        self.host = host
        self.port = port
        self.alpn = alpn
        self.trickle = trickle
        self.stall = stall
        self.server_names: list[str | None] = []
        self.in_flight = 0
        self.peak_in_flight = 0
        self._context: ssl.SSLContext | None = None
        self._server: asyncio.Server | None = None
        self._dir = tempfile.TemporaryDirectory(prefix="tlsalpn-")
        self._tasks: set[asyncio.Task[None]] = set()
        self._writers: set[asyncio.StreamWriter] = set()

    def serve(self, certificate: ChallengeCertificate) -> None:
        """Present `certificate` from the next handshake on."""
        folder = Path(self._dir.name)
        (folder / "cert.pem").write_bytes(certificate.cert_pem)
        (folder / "key.pem").write_bytes(certificate.key_pem)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(folder / "cert.pem", folder / "key.pem")
        context.set_alpn_protocols([ACME_TLS_ALPN] if self.alpn else ["http/1.1"])

        def remember(sock: ssl.SSLObject, name: str | None, ctx: ssl.SSLContext) -> None:
            self.server_names.append(name)

        context.sni_callback = remember
        self._context = context

    async def __aenter__(self) -> Self:
        self._server = await asyncio.start_server(self._handle, self.host, self.port)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._server is not None:
            self._server.close()
        for writer in list(self._writers):
            writer.transport.abort()  # each handler then sees EOF and ends
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()
        self._dir.cleanup()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        self._writers.add(writer)
        self.in_flight += 1
        self.peak_in_flight = max(self.peak_in_flight, self.in_flight)
        try:
            if self.stall:
                await reader.read()  # until the client gives up
            elif self._context is None:
                pass  # no certificate configured: close at once
            elif self.trickle is not None:
                await self._dribble(reader, writer, self._context, self.trickle)
            else:
                await writer.start_tls(self._context)
                await reader.read()  # until the validator closes
        except (ConnectionError, ssl.SSLError, OSError):
            pass  # the client gave up or refused us: what some tests want
        finally:
            self.in_flight -= 1
            self._writers.discard(writer)
            writer.close()
            with contextlib.suppress(ConnectionError, ssl.SSLError, OSError):
                await writer.wait_closed()
            if task is not None:
                self._tasks.discard(task)

    async def _dribble(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        context: ssl.SSLContext,
        interval: float,
    ) -> None:
        """The handshake over memory BIOs, each outgoing byte sent `interval` s apart."""
        incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
        tls = context.wrap_bio(incoming, outgoing, server_side=True)
        while True:
            try:
                tls.do_handshake()
                done = True
            except ssl.SSLWantReadError:
                done = False
            for byte in outgoing.read():
                writer.write(bytes([byte]))
                await writer.drain()
                await asyncio.sleep(interval)
            if done:
                await reader.read()
                return
            chunk = await reader.read(65536)
            if not chunk:
                return
            incoming.write(chunk)
