"""ACME test fixtures: one server per backend per module, fresh accounts per test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from testkit.acme_client import AcmeClient
from testkit.in_process_server import AcmeServer, acme_server
from testkit.postgres import BACKENDS, fresh_postgres_database


@pytest.fixture(scope="module", params=BACKENDS)
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[AcmeServer]:
    data_dir: Path = tmp_path_factory.mktemp("acme") / "data"
    if request.param == "sqlite":
        with acme_server(data_dir) as running:
            yield running
        return
    with fresh_postgres_database() as url, acme_server(data_dir, url) as running:
        yield running


@pytest.fixture
def client(server: AcmeServer) -> Iterator[AcmeClient]:
    """A client with a new P-256 account key and no account yet."""
    with server.http() as http:
        yield AcmeClient(http, server.directory_url, ec.generate_private_key(ec.SECP256R1()))


@pytest.fixture
def account(client: AcmeClient) -> AcmeClient:
    """A client with a registered account."""
    response = client.new_account(contact=["mailto:ops@example.com"])
    assert response.status_code == 201, response.text
    return client
