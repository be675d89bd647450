"""The HTTP-01 responder the server validates against (RFC 8555 section 8.3): an aiohttp
server on 127.0.0.1 serving key authorizations from a dict.

Workers in this process publish by writing the dict. Generator processes (--generator-procs)
send one UDP datagram `token key-authorization` to `registration_port` before their
challenge POST; should the server's fetch overtake the datagram, a missing token is waited
for (briefly) instead of answered 404 at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from types import TracebackType
from typing import Final, Self

from aiohttp import web

HOST: Final = "127.0.0.1"
PREFIX: Final = "/.well-known/acme-challenge/"
LATE_TOKEN_WAIT_S: Final = 2.0
LATE_TOKEN_STEP_S: Final = 0.005


class Responder:
    def __init__(self) -> None:
        self.tokens: dict[str, str] = {}
        self.port = 0
        self.registration_port = 0
        self.served = 0
        self.missing = 0
        self._runner: web.AppRunner | None = None
        self._udp: asyncio.DatagramTransport | None = None

    def publish(self, token: str, key_authorization: str) -> None:
        self.tokens[token] = key_authorization

    async def __aenter__(self) -> Self:
        app = web.Application()
        app.router.add_get(PREFIX + "{token}", self._serve)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, HOST, 0, backlog=1024)
        await site.start()
        self.port = int(self._runner.addresses[0][1])
        loop = asyncio.get_running_loop()
        transport, _ = await loop.create_datagram_endpoint(
            lambda: _Registration(self), local_addr=(HOST, 0)
        )
        self._udp = transport
        self.registration_port = transport.get_extra_info("sockname")[1]
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._udp is not None:
            self._udp.close()
        if self._runner is not None:
            await self._runner.cleanup()

    async def _serve(self, request: web.Request) -> web.Response:
        token = request.match_info["token"]
        answer = self.tokens.get(token)
        if answer is None:
            loop = asyncio.get_running_loop()
            deadline = loop.time() + LATE_TOKEN_WAIT_S
            while answer is None and loop.time() < deadline:
                await asyncio.sleep(LATE_TOKEN_STEP_S)
                answer = self.tokens.get(token)
        if answer is None:
            self.missing += 1
            return web.Response(status=404, text="no such token\n")
        self.served += 1
        return web.Response(text=answer, content_type="text/plain")


class _Registration(asyncio.DatagramProtocol):
    def __init__(self, responder: Responder) -> None:
        self.responder = responder

    def datagram_received(self, data: bytes, addr: tuple[str | bytes, int]) -> None:
        with contextlib.suppress(UnicodeDecodeError, ValueError):
            token, key_authorization = data.decode("ascii").split(" ", 1)
            self.responder.publish(token, key_authorization)


class UDPPublisher:
    """The token sink of a generator process: one datagram per token to the responder."""

    def __init__(self, port: int) -> None:
        self._address = (HOST, port)
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)

    def __call__(self, token: str, key_authorization: str) -> None:
        self._socket.sendto(f"{token} {key_authorization}".encode("ascii"), self._address)

    def close(self) -> None:
        self._socket.close()
