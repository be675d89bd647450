"""Services opened directly (no HTTP) on each backend, initialised like `kms init`, with a
DNS server of its own on loopback for the CAA checks finalize makes."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from acme_server.app import validation_config
from acme_server.services.bootstrap import initialise
from acme_server.services.context import Services
from acme_server.settings import Settings
from acme_server.validation.resolver import Resolver
from testkit.dns_server import DNSServer
from testkit.postgres import BACKENDS, fresh_postgres_database


@pytest.fixture
async def dns() -> AsyncIterator[DNSServer]:
    async with DNSServer() as server:
        yield server


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest) -> Iterator[str]:
    """ "" (SQLite in the data directory) or a fresh PostgreSQL database."""
    if request.param == "sqlite":
        yield ""
        return
    with fresh_postgres_database() as url:
        yield url


@pytest.fixture
async def services(tmp_path: Path, dns: DNSServer, database_url: str) -> AsyncIterator[Services]:
    host, port = dns.nameserver
    settings = replace(
        Settings(),
        data_dir=tmp_path / "data",
        database_url=database_url,
        dns_resolver=f"{host}:{port}",
        caa_cache_seconds=0,
    )
    opened = await _open(settings)
    try:
        yield opened
    finally:
        await opened.close()


async def _open(settings: Settings) -> Services:
    services = await Services.open(settings)
    await initialise(services)
    return services


@pytest.fixture
def resolver(services: Services) -> Resolver:
    return Resolver(validation_config(services.settings))
