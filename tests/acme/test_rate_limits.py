"""Rate limits answer rateLimited with Retry-After (RFC 8555 6.6)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from testkit.acme_client import AcmeClient
from testkit.flows import poll
from testkit.in_process_server import AcmeServer, acme_server
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


def test_s6_6_requests_per_second_per_client_address(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """Every ACME request counts against its client address; over the limit the answer is
    a rateLimited problem with Retry-After and a fresh nonce (clients retry with it)."""
    with (
        acme_server(
            tmp_path_factory.mktemp("per-second") / "data", rate_limit_requests_per_second=5
        ) as server,
        server.http() as http,
    ):
        answers = [http.get(server.directory_url) for _ in range(30)]
    statuses = [a.status_code for a in answers]
    assert statuses[:5] == [200] * 5  # at most 5 in one second...
    refused = [a for a in answers if a.status_code == 429]
    assert refused, statuses  # ...and 30 in less than six seconds cannot all pass
    first = refused[0]
    problem(first, 429, "rateLimited")
    assert "too many requests from this address" in first.json()["detail"]
    assert int(first.headers["Retry-After"]) >= 1
    assert first.headers["Replay-Nonce"]


def test_s6_6_failed_validations_per_identifier(tmp_path_factory: pytest.TempPathFactory) -> None:
    """After the hour's failed validations for a name, its next challenge fails at once with
    rateLimited on the challenge (no fetch is made); other names are not affected."""
    with (
        acme_server(
            tmp_path_factory.mktemp("failed") / "data", rate_limit_failed_validations_per_hour=1
        ) as server,
        server.http() as http,
    ):
        client = AcmeClient(http, server.directory_url, ec.generate_private_key(ec.SECP256R1()))
        assert client.new_account().status_code == 201
        server.dns.add("flaky.test", "A", "127.0.0.1")
        errors = []
        for _ in range(2):  # nothing is served: the first fails as unauthorized
            authz_url = client.new_order("flaky.test").json()["authorizations"][0]
            challenge = client.get(authz_url).json()["challenges"][0]
            assert client.post(challenge["url"], {}).status_code == 200
            authz = poll(client, authz_url, ("valid", "invalid"))
            assert authz["status"] == "invalid"
            errors.append(next(c for c in authz["challenges"] if c["url"] == challenge["url"]))
        fetched = [r for r in server.responder.requests if r.host and "flaky.test" in r.host]
    assert errors[0]["error"]["type"] == "urn:ietf:params:acme:error:unauthorized"
    assert errors[1]["error"]["type"] == "urn:ietf:params:acme:error:rateLimited"
    assert "too many failed validations for flaky.test" in errors[1]["error"]["detail"]
    assert len(fetched) == 1  # the limited attempt fetched nothing
