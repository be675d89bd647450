"""An HTTP-01 responder for tests: an aiohttp app on a loopback address and a free port.

    async with HTTP01Responder() as web:
        web.add_token(token, key_authorization)           # 200 with the key authorization
        web.redirect("/a", "http://a.test/b")              # 302 Location: ...
        web.reply("/slow", Reply(body=b"x" * 100, trickle=0.2))   # one byte per 0.2 s
        web.reply("/big", Reply(size=10_000_000))          # streams 10 MB
        web.reply("/gone", Reply(status=404))
        web.reply("/late", Reply(body=b"ok", delay=0.5))     # answers after 0.5 s

Anything else is 404. `requests` records each request (path, Host header, User-Agent, and
when it arrived and was answered, by time.monotonic(), for concurrency checks) and,
with tls=True (a fresh self-signed certificate), `server_names` the TLS SNI of each
handshake. host= binds another loopback address (127.0.0.2, ...) and port= a chosen port,
so two responders can stand for one name's two addresses.
"""

from __future__ import annotations

import asyncio
import ipaddress
import ssl
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import TracebackType
from typing import Final, Self

from aiohttp import web
from cryptography import x509

from testkit.self_signed import self_signed_builder, signed_pem

HOST: Final = "127.0.0.1"
CHALLENGE_PATH: Final = "/.well-known/acme-challenge/"
STREAM_CHUNK: Final = 64 * 1024


@dataclass(frozen=True, slots=True)
class Reply:
    status: int = 200
    body: bytes = b""
    headers: Mapping[str, str] = field(default_factory=dict)
    trickle: float | None = None  # seconds between single bytes of `body` (slow loris)
    size: int | None = None  # stream this many bytes, no Content-Length (huge body)
    delay: float | None = None  # seconds before answering at all


@dataclass(frozen=True, slots=True)
class SeenRequest:
    path: str
    host: str | None
    user_agent: str | None
    arrived: float = 0.0  # time.monotonic()
    answered: float | None = None  # when the reply was sent; None if it never was


def most_at_once(requests: list[SeenRequest]) -> int:
    """The largest number of these requests that were being answered at the same moment."""
    events = sorted(
        (moment, step)
        for seen in requests
        for moment, step in ((seen.arrived, 1), (seen.answered or float("inf"), -1))
    )
    running = peak = 0
    for _, step in events:  # an answer at the same moment as an arrival counts first
        running += step
        peak = max(peak, running)
    return peak


class HTTP01Responder:
    def __init__(self, host: str = HOST, port: int = 0, *, tls: bool = False) -> None:
        self.host = host
        self.port = port
        self.tls = tls
        self.requests: list[SeenRequest] = []
        self.server_names: list[str | None] = []
        self._replies: dict[str, Reply] = {}
        self._runner: web.AppRunner | None = None

    @property
    def base_url(self) -> str:
        """scheme://address:port of this responder."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{'https' if self.tls else 'http'}://{host}:{self.port}"

    def add_token(self, token: str, key_authorization: str | bytes) -> str:
        """Serve `key_authorization` at the token's challenge path; returns the path."""
        body = (
            key_authorization.encode() if isinstance(key_authorization, str) else key_authorization
        )
        path = CHALLENGE_PATH + token
        self.reply(path, Reply(body=body))
        return path

    def redirect(self, path: str, location: str, status: int = 302) -> None:
        self.reply(path, Reply(status=status, headers={"Location": location}))

    def reply(self, path: str, reply: Reply) -> None:
        self._replies[path] = reply

    async def __aenter__(self) -> Self:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
        await runner.setup()
        self._runner = runner
        context = self._tls_context() if self.tls else None
        site = web.TCPSite(runner, self.host, self.port, ssl_context=context)
        await site.start()
        self.port = runner.addresses[0][1]
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        seen = SeenRequest(
            request.path,
            request.headers.get("Host"),
            request.headers.get("User-Agent"),
            arrived=time.monotonic(),
        )
        index = len(self.requests)
        self.requests.append(seen)
        try:
            return await self._answer(request)
        finally:
            self.requests[index] = replace(seen, answered=time.monotonic())

    async def _answer(self, request: web.Request) -> web.StreamResponse:
        reply = self._replies.get(request.path)
        if reply is None:
            return web.Response(status=404, text="no such token")
        if reply.delay is not None:
            await asyncio.sleep(reply.delay)
        if reply.trickle is None and reply.size is None:
            return web.Response(status=reply.status, body=reply.body, headers=reply.headers)
        response = web.StreamResponse(status=reply.status, headers=reply.headers)
        response.enable_chunked_encoding()
        await response.prepare(request)
        try:
            if reply.size is not None:
                for start in range(0, reply.size, STREAM_CHUNK):
                    await response.write(b"x" * min(STREAM_CHUNK, reply.size - start))
            else:
                for byte in reply.body:
                    await response.write(bytes([byte]))
                    await asyncio.sleep(reply.trickle or 0)
            await response.write_eof()
        except ConnectionError:
            pass  # the client gave up: what the test wanted
        return response

    def _tls_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        cert_pem, key_pem = _self_signed(self.host)
        with tempfile.TemporaryDirectory() as tmp:
            cert, key = Path(tmp) / "cert.pem", Path(tmp) / "key.pem"
            cert.write_bytes(cert_pem)
            key.write_bytes(key_pem)
            context.load_cert_chain(cert, key)

        def remember(sock: ssl.SSLObject, name: str | None, ctx: ssl.SSLContext) -> None:
            self.server_names.append(name)

        context.sni_callback = remember
        return context


def _self_signed(host: str) -> tuple[bytes, bytes]:
    """(certificate PEM, key PEM) of a fresh one-day self-signed certificate for `host`."""
    key, builder = self_signed_builder("http01 responder")
    san = x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(host))])
    return signed_pem(key, builder.add_extension(san, critical=False))
