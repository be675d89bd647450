"""A webhook receiver for tests: a real aiohttp server on 127.0.0.1 recording what it is
sent, answering the statuses it is told to (then 200), or holding requests until released."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from testkit.kms_process import free_port


@dataclass
class Receiver:
    url: str
    bodies: list[dict[str, Any]] = field(default_factory=list)
    raw: list[str] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)  # answers to give, then 200
    release: asyncio.Event = field(default_factory=asyncio.Event)
    arrived: asyncio.Event = field(default_factory=asyncio.Event)
    hold: bool = False

    def of(self, event: str, cert_id: str) -> list[dict[str, Any]]:
        return [
            b
            for b in self.bodies
            if b["event"] == event
            and cert_id in (b["data"]["certificate"]["id"], b["data"].get("renewedFromId"))
        ]


@contextlib.asynccontextmanager
async def receiver() -> AsyncIterator[Receiver]:
    port = free_port()
    got = Receiver(url=f"http://127.0.0.1:{port}/hook")

    async def hook(request: web.Request) -> web.Response:
        text = await request.text()
        got.raw.append(text)
        got.arrived.set()
        assert request.headers["Content-Type"].startswith("application/json")
        if got.hold:
            await got.release.wait()
        status = got.statuses.pop(0) if got.statuses else 200
        if status == 200:
            body = json.loads(text)
            assert request.headers["X-KMS-Event"] == body["event"]
            got.bodies.append(body)
        return web.Response(status=status)

    app = web.Application()
    app.router.add_post("/hook", hook)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", port)
    await site.start()
    try:
        yield got
    finally:
        got.release.set()
        await runner.cleanup()
