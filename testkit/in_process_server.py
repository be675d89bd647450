"""An ACME server on loopback for tests: the real app under uvicorn, plain HTTP, in a
background thread with its own event loop, beside an HTTP-01 responder and a DNS server that
the validator reaches through its settings (HTTP-01 port, nameserver): no system files edited."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from starlette.applications import Starlette

from acme_server.app import create_app
from acme_server.services.bootstrap import initialise
from acme_server.services.context import Services
from acme_server.services.eab_credentials import create_credential
from acme_server.services.events import CertificateEvent
from acme_server.settings import Settings
from testkit.dns_server import DNSServer
from testkit.event_loop import BackgroundLoop
from testkit.http01_responder import HTTP01Responder
from testkit.kms_process import free_port
from testkit.tlsalpn_responder import TLSALPNResponder


@dataclass
class AcmeServer:
    base_url: str
    settings: Settings
    responder: HTTP01Responder
    dns: DNSServer
    loop: BackgroundLoop
    tls: TLSALPNResponder | None = None  # the TLS-ALPN-01 responder validation reaches
    app: Starlette | None = None  # the running app (its own Services: app.state.services)

    @property
    def directory_url(self) -> str:
        return self.profile_directory("default")

    def profile_directory(self, slug: str) -> str:
        return f"{self.base_url}/acme/{slug}/directory"

    def eab_credential(
        self, profile: str = "eab", *, reusable: bool = False, hmac_alg: str = "HS256"
    ) -> tuple[str, str]:
        """(kid, base64url HMAC key) of a new EAB credential, made as `kms eab create` does."""

        async def create() -> tuple[str, str]:
            services = await Services.open(self.settings, migrate=False)
            try:
                record = await services.store.get_profile_by_slug(profile)
                made = await create_credential(
                    services, record, reusable=reusable, hmac_alg=hmac_alg
                )
                return made.record.id, made.hmac_key_b64
            finally:
                await services.close()

        return self.loop.run(create())

    def http(self) -> httpx.Client:
        return httpx.Client(timeout=30)

    @contextmanager
    def events(self) -> Iterator[list[CertificateEvent]]:
        """Every domain event the running app publishes while the block runs, in order."""
        assert self.app is not None
        bus = self.app.state.services.events
        seen: list[CertificateEvent] = []

        async def subscribe() -> Any:
            return bus.subscribe(CertificateEvent, seen.append)

        unsubscribe = self.loop.run(subscribe())
        try:
            yield seen
        finally:

            async def done() -> None:
                unsubscribe()

            self.loop.run(done())

    def services(self) -> Services:
        """A second Services on the same database, for inspecting state from tests."""
        return self.loop.run(Services.open(self.settings, migrate=False))


def server_settings(
    data_dir: Path,
    database_url: str,
    port: int,
    http01_port: int,
    nameserver: tuple[str, int],
    *,
    public_host: str = "127.0.0.1",
    external_scheme: str = "http",
    **extra: Any,
) -> Settings:
    """`public_host` names the server in every URL it publishes; a client reaching it under
    another name than 127.0.0.1 connects to loopback itself (tests.support.loopback).
    `external_scheme="https"` publishes https URLs while serving plain HTTP, as behind a
    TLS-terminating proxy (tests.support.loopback's `tls_terminated` client). The
    per-address request rate is not limited unless a test asks (tests are one fast client;
    tests/acme/test_rate_limits.py checks the limit)."""
    extra.setdefault("rate_limit_requests_per_second", 1_000_000)
    # The bounded wait of an order or authorization poll for a validation in flight: the
    # tests that check the first poll sees the outcome must not hang on how loaded the
    # machine is (2 s, the default, ran out once under two test workers on PostgreSQL).
    extra.setdefault("challenge_wait_ms", 10_000)
    return replace(
        Settings(),
        data_dir=data_dir,
        database_url=database_url,
        host="127.0.0.1",
        port=port,
        plain_http=True,
        external_url=f"{external_scheme}://{public_host}:{port}",
        http01_port=http01_port,
        allow_private_validation=True,
        dns_resolver=f"{nameserver[0]}:{nameserver[1]}",
        log_json=False,
        **extra,
    )


# A policy for rejectedIdentifier and badCSR tests: names under allowed.test only, one denied.
STRICT_POLICY = {
    "sans": {
        "dns_name": {"allowed": ["allowed.test", "*.allowed.test"], "denied": ["bad.allowed.test"]}
    },
    "allowedSanTypes": ["dns_name"],
    "keyAlgorithms": ["EC_P256", "EC_P384"],
    "maxTtl": "30d",
}


async def _initialise(settings: Settings) -> None:
    """The default profile, plus `eab` (External Account Binding required) and `strict`."""
    services = await Services.open(settings)
    try:
        report = await initialise(services)
        default = report.profile
        store = services.store
        eab_enrollment = {"acme": {"enabled": True, "eab_required": True}, "api": {"enabled": True}}
        strict_policy = await store.create_policy(name="strict", rules=STRICT_POLICY)
        for slug, policy_id, enrollment in (
            ("eab", default.policy_id, eab_enrollment),
            ("strict", strict_policy.id, default.enrollment),
        ):
            await store.create_profile(
                slug=slug,
                name=slug,
                policy_id=policy_id,
                issuer_type=default.issuer_type,
                ca_id=default.ca_id,
                enrollment=enrollment,
                defaults=default.defaults,
            )
    finally:
        await services.close()


@contextmanager
def acme_server(
    data_dir: Path,
    database_url: str = "",
    *,
    public_host: str = "127.0.0.1",
    uvicorn_options: dict[str, Any] | None = None,
    **extra: Any,
) -> Iterator[AcmeServer]:
    """`uvicorn_options` go to uvicorn.Config as they are (the wire fuzz picks the parser);
    `extra` are settings."""
    loop = BackgroundLoop()
    responder = loop.run(HTTP01Responder().__aenter__())
    dns = loop.run(DNSServer().__aenter__())
    tls = loop.run(TLSALPNResponder().__aenter__())
    port = free_port()
    extra.setdefault("tlsalpn01_port", tls.port)
    settings = server_settings(
        data_dir, database_url, port, responder.port, dns.nameserver, public_host=public_host,
        **extra,
    )  # fmt: skip
    loop.run(_initialise(settings))
    app = create_app(settings)
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=port,
        log_config=None,
        lifespan="on",
        **(uvicorn_options or {}),
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
            app=app,
        )
    finally:
        server.should_exit = True
        serving.result(30)
        loop.run(responder.__aexit__(None, None, None))
        loop.run(dns.__aexit__(None, None, None))
        loop.run(tls.__aexit__(None, None, None))
        loop.close()


def _wait_started(server: uvicorn.Server, serving: Any) -> None:
    import time

    deadline = time.monotonic() + 30
    while not server.started:
        if serving.done():
            serving.result()
            raise AssertionError("the server stopped during start-up")
        if time.monotonic() > deadline:
            raise AssertionError("the server did not start within 30 s")
        time.sleep(0.02)
