"""Rate limits answer rateLimited with Retry-After (RFC 8555 6.6)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from tests.acme.client import AcmeClient
from tests.acme.harness import AcmeServer, acme_server
from tests.acme.test_bad_input import problem


@pytest.fixture(scope="module")
def limited(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AcmeServer]:
    with acme_server(
        tmp_path_factory.mktemp("limits") / "data", rate_limit_orders_per_hour=3
    ) as running:
        yield running


def test_s6_6_new_orders_per_account(limited: AcmeServer) -> None:
    with limited.http() as http:
        client = AcmeClient(http, limited.directory_url, ec.generate_private_key(ec.SECP256R1()))
        assert client.new_account().status_code == 201
        for i in range(3):
            assert client.new_order(f"o{i}.test").status_code == 201
        refused = client.new_order("o4.test")
        problem(refused, 429, "rateLimited")
        assert int(refused.headers["Retry-After"]) > 0
        other = AcmeClient(http, limited.directory_url, ec.generate_private_key(ec.SECP256R1()))
        assert other.new_account().status_code == 201
        assert other.new_order("p.test").status_code == 201  # per account
