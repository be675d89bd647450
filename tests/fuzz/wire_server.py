"""The test server of tests/acme/harness.py, with the uvicorn options `kms serve` uses and a
choice of HTTP parser: what the wire fuzz talks to.

tests.acme.harness.acme_server builds its own uvicorn.Config with the defaults; this is the
same set-up (responders, settings, the default, eab and strict profiles) with
`http=<impl>`, proxy headers trusted from loopback and no Server header
(acme_server/cli/server.py `_serve`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import uvicorn

from acme_server.app import create_app
from tests.acme.harness import (
    AcmeServer,
    BackgroundLoop,
    _initialise,
    _wait_started,
    server_settings,
)
from tests.e2e.kms_process import free_port
from tests.support.dns_server import DNSServer
from tests.support.http01_responder import HTTP01Responder
from tests.support.tlsalpn_responder import TLSALPNResponder


@contextmanager
def wire_server(data_dir: Path, database_url: str, http_impl: str) -> Iterator[AcmeServer]:
    """A running server parsing HTTP with `http_impl` ("httptools" or "h11")."""
    loop = BackgroundLoop()
    responder = loop.run(HTTP01Responder().__aenter__())
    dns = loop.run(DNSServer().__aenter__())
    tls = loop.run(TLSALPNResponder().__aenter__())
    port = free_port()
    settings = server_settings(
        data_dir, database_url, port, responder.port, dns.nameserver, tlsalpn01_port=tls.port
    )
    loop.run(_initialise(settings))
    config = uvicorn.Config(
        create_app(settings),
        host="127.0.0.1",
        port=port,
        log_config=None,
        lifespan="on",
        http=http_impl,
        proxy_headers=settings.plain_http,
        server_header=False,
    )
    server = uvicorn.Server(config)
    serving = asyncio.run_coroutine_threadsafe(server.serve(), loop.loop)
    try:
        _wait_started(server, serving)
        yield AcmeServer(
            base_url=settings.base_url,
            settings=settings,
            responder=responder,
            dns=dns,
            loop=loop,
            tls=tls,
        )
    finally:
        server.should_exit = True
        serving.result(30)
        for helper in (responder, dns, tls):
            loop.run(helper.__aexit__(None, None, None))
        loop.close()
