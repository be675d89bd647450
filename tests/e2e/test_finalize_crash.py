"""Issue 13, defect 1: a server killed (SIGKILL) at any step of finalize leaves no order
processing for longer than the finalize timeout. Each order ends valid with the one
certificate it signed, or invalid with an error and no active certificate; a certificate
reserved and maybe signed but never stored is revoked, so its serial reaches the CRL."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec

from acme_server.services.bootstrap import initialise
from acme_server.services.context import Services
from acme_server.settings import Settings
from ca_core.serials import serial_to_hex
from store import ORDER_METADATA_KEY
from testkit.acme_client import AcmeClient, b64
from testkit.dns_server import DNSServer
from testkit.event_loop import BackgroundLoop
from testkit.flows import authorize, make_csr, poll
from testkit.http01_responder import HTTP01Responder
from testkit.in_process_server import AcmeServer, server_settings
from testkit.kms_process import KMS, free_port
from testkit.postgres import BACKENDS, fresh_postgres_database

ROOT = Path(__file__).resolve().parents[2]
FINALIZE_TIMEOUT = 3  # seconds: the bound under test (the default is 60)
# Where the server dies -> how the order must end (tests/support/crashing_server.py)
OUTCOMES = {
    "after_begin": "invalid",
    "before_signing": "invalid",
    "after_signing": "invalid",
    "after_storing": "valid",
    "before_order_update": "valid",
}


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest) -> Iterator[str]:
    if request.param == "sqlite":
        yield ""  # the data directory's own file
        return
    with fresh_postgres_database() as url:
        yield url


@contextlib.contextmanager
def _process(args: list[str], settings: Settings, log: Path) -> Iterator[subprocess.Popen[str]]:
    with log.open("a") as out:
        process = subprocess.Popen(
            args,
            cwd=ROOT,
            env={**os.environ, **settings.to_env()},
            stdout=out,
            stderr=subprocess.STDOUT,
            text=True,
        )
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, log.read_text()
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{settings.base_url}/healthz", timeout=2).status_code == 200:
                    break
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.1)
        yield process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _ready_order(server: AcmeServer, client: AcmeClient, name: str) -> dict[str, Any]:
    response = client.new_order(name)
    assert response.status_code == 201, response.text
    order = response.json()
    authorize(server, client, order)
    order = poll(client, response.headers["Location"], ("ready", "invalid"))
    assert order["status"] == "ready", order
    return {**order, "url": response.headers["Location"]}


async def _certificates_of(settings: Settings, order_id: str) -> list[tuple[str, str]]:
    services = await Services.open(settings, migrate=False)
    try:
        found = await services.store.list_certificates(
            metadata={ORDER_METADATA_KEY: order_id}, limit=10
        )
        return [(c.status, c.serial_hex) for c in found]
    finally:
        await services.close()


def test_finalize_killed_at_every_step_ends_valid_or_invalid_once(
    tmp_path: Path, database_url: str
) -> None:
    loop = BackgroundLoop()
    responder = loop.run(HTTP01Responder().__aenter__())
    dns = loop.run(DNSServer().__aenter__())
    settings = server_settings(
        tmp_path / "data",
        database_url,
        free_port(),
        responder.port,
        dns.nameserver,
        finalize_timeout_seconds=FINALIZE_TIMEOUT,
    )
    server = AcmeServer(settings.base_url, settings, responder, dns, loop)
    log = tmp_path / "server.log"

    async def init() -> None:
        services = await Services.open(settings)
        try:
            await initialise(services)
        finally:
            await services.close()

    loop.run(init())
    orders: dict[str, tuple[AcmeClient, dict[str, Any]]] = {}
    with contextlib.ExitStack() as stack:
        for point in OUTCOMES:
            crashing = [sys.executable, "-m", "tests.support.crashing_server", point]
            with _process(crashing, settings, log) as process:
                http = stack.enter_context(httpx.Client(timeout=30))
                client = AcmeClient(
                    http, server.directory_url, ec.generate_private_key(ec.SECP256R1())
                )
                assert client.new_account().status_code == 201
                name = f"{point.replace('_', '-')}.crash.test"
                order = _ready_order(server, client, name)
                with pytest.raises(httpx.TransportError):
                    client.post(order["finalize"], {"csr": b64(make_csr(name))})
                assert process.wait(timeout=20) == -signal.SIGKILL, log.read_text()
                client.nonce = None  # the dead process's last nonce never came
                orders[point] = (client, order)

        started = time.monotonic()
        with _process([KMS, "serve"], settings, log):
            for point, (client, order) in orders.items():
                final = poll(client, order["url"], ("valid", "invalid"))
                assert final["status"] == OUTCOMES[point], (point, final)
                order_id = order["url"].rsplit("/", 1)[1]
                certificates = loop.run(_certificates_of(settings, order_id))
                active = [serial for status, serial in certificates if status == "active"]
                if final["status"] == "valid":
                    assert len(active) == 1, (point, certificates)
                    chain = client.get(final["certificate"])
                    assert chain.status_code == 200, chain.text
                    leaf = x509.load_pem_x509_certificates(chain.content)[0]
                    assert serial_to_hex(leaf.serial_number) == active[0]
                else:
                    assert final["error"]["type"] == "urn:ietf:params:acme:error:serverInternal"
                    assert "interrupted" in final["error"]["detail"]
                    assert active == [], (point, certificates)
                    # reserved (and maybe signed) but never stored: revoked, so on the CRL
                    assert all(status == "revoked" for status, _ in certificates), certificates
        recovered_in = time.monotonic() - started
    # every order was finished within the bound, counted from the restart
    assert recovered_in < FINALIZE_TIMEOUT + 30
    loop.run(responder.__aexit__(None, None, None))
    loop.run(dns.__aexit__(None, None, None))
    loop.close()
