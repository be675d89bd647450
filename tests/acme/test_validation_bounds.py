"""Hardening: a bound on concurrent validations per server process and per account, so a
slow responder (or one account's flood of challenges) cannot exhaust the validator.

The server here runs at most 2 validations at once, at most 1 per account, against a
responder that takes 0.4 s to answer each challenge request."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from testkit.acme_client import AcmeClient
from testkit.flows import poll
from testkit.http01_responder import CHALLENGE_PATH, Reply, SeenRequest, most_at_once
from testkit.in_process_server import AcmeServer, acme_server
from testkit.postgres import BACKENDS, fresh_postgres_database

SLOW_ANSWER = 0.4


@pytest.fixture(scope="module", params=BACKENDS)
def bounded(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[AcmeServer]:
    data_dir: Path = tmp_path_factory.mktemp("bounds") / "data"
    bounds: dict[str, Any] = {
        "validation_max_concurrent": 2,
        "validation_max_concurrent_per_account": 1,
    }
    if request.param == "sqlite":
        with acme_server(data_dir, **bounds) as running:
            yield running
        return
    with fresh_postgres_database() as url, acme_server(data_dir, url, **bounds) as running:
        yield running


def _account(server: AcmeServer, http: Any) -> AcmeClient:
    client = AcmeClient(http, server.directory_url, ec.generate_private_key(ec.SECP256R1()))
    assert client.new_account().status_code == 201
    return client


def _start(server: AcmeServer, client: AcmeClient, *names: str) -> tuple[list[str], set[str]]:
    """Order `names`, serve each token slowly and POST every challenge; returns the
    authorization URLs and the challenge paths the validator will fetch."""
    order = client.new_order(*names).json()
    paths: set[str] = set()
    for authz_url in order["authorizations"]:
        authz = client.get(authz_url).json()
        challenge = next(c for c in authz["challenges"] if c["type"] == "http-01")
        server.dns.add(authz["identifier"]["value"], "A", "127.0.0.1")
        body = client.key_authorization(challenge["token"]).encode()
        path = CHALLENGE_PATH + challenge["token"]
        server.responder.reply(path, Reply(body=body, delay=SLOW_ANSWER))
        paths.add(path)
    for authz_url in order["authorizations"]:
        challenge = next(
            c for c in client.get(authz_url).json()["challenges"] if c["type"] == "http-01"
        )
        assert client.post(challenge["url"], {}).status_code == 200
    return order["authorizations"], paths


def _of(requests: list[SeenRequest], paths: set[str]) -> list[SeenRequest]:
    return [seen for seen in requests if seen.path in paths]


def test_hardening_validations_are_bounded_per_account_and_per_process(
    bounded: AcmeServer,
) -> None:
    with bounded.http() as http:
        flood, other, third = (_account(bounded, http) for _ in range(3))
        flood_authzs, flood_paths = _start(
            bounded, flood, "f1.bounds.test", "f2.bounds.test", "f3.bounds.test"
        )
        other_authzs, other_paths = _start(bounded, other, "o1.bounds.test")
        third_authzs, third_paths = _start(bounded, third, "t1.bounds.test")
        for client, urls in ((flood, flood_authzs), (other, other_authzs), (third, third_authzs)):
            for url in urls:
                assert poll(client, url, ("valid", "invalid"))["status"] == "valid"

    seen = list(bounded.responder.requests)
    flood_seen = _of(seen, flood_paths)
    assert len(flood_seen) == 3
    assert most_at_once(flood_seen) == 1  # one account: one validation at a time
    everyone = _of(seen, flood_paths | other_paths | third_paths)
    assert most_at_once(everyone) == 2  # the process bound, reached and never passed
    # The flood did not make the other accounts wait for all of its validations.
    last_flood_start = max(s.arrived for s in flood_seen)
    assert min(s.arrived for s in _of(seen, other_paths | third_paths)) < last_flood_start
