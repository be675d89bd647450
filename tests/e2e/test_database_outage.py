"""Issue 13, defect 2: while the database is unreachable every interface answers 503 with
Retry-After (ACME with a problem document and a Replay-Nonce, nonces being made without
the database), /healthz 503, never a 500; when it is back the same server process answers
normally again, with no restart. The database is a PostgreSQL cluster of the test's own."""

from __future__ import annotations

import time
from collections.abc import Iterator

import asyncpg
import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from store import Unavailable
from store.db import Sql
from store.db_postgres import PostgresDatabase
from testkit.acme_client import AcmeClient
from testkit.flows import issue
from testkit.in_process_server import AcmeServer, acme_server
from testkit.postgres import in_ci
from tests.support import pg_cluster

PROBLEM = "application/problem+json"


@pytest.fixture(scope="module")
def cluster() -> Iterator[pg_cluster.PgCluster]:
    reason = pg_cluster.available()
    if reason is not None:
        if in_ci():
            pytest.fail(reason)
        pytest.skip(reason)
    with pg_cluster.pg_cluster() as made:
        yield made


@pytest.fixture(scope="module")
def server(
    cluster: pg_cluster.PgCluster, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[AcmeServer]:
    with acme_server(tmp_path_factory.mktemp("outage") / "data", cluster.url) as running:
        yield running


def _unavailable_problem(response: httpx.Response) -> None:
    assert response.status_code == 503, response.text
    assert response.headers["Content-Type"] == PROBLEM
    assert response.headers["Retry-After"].isdigit()
    assert response.headers["Replay-Nonce"]
    body = response.json()
    assert body["type"] == "urn:ietf:params:acme:error:serverInternal"
    assert body["status"] == 503


def test_an_outage_is_503_everywhere_and_passes_without_a_restart(
    server: AcmeServer, cluster: pg_cluster.PgCluster
) -> None:
    with server.http() as http:
        client = AcmeClient(http, server.directory_url, ec.generate_private_key(ec.SECP256R1()))
        assert client.new_account().status_code == 201
        new_nonce = client.directory["newNonce"]
        cluster.stop()
        try:
            time.sleep(5.5)  # past the per-process profile cache: every route needs the database
            for method in ("HEAD", "GET"):
                response = http.request(method, new_nonce)
                assert response.status_code == 503, (method, response.text)
                assert response.headers["Replay-Nonce"], method
                assert response.headers["Retry-After"].isdigit(), method
            _unavailable_problem(http.get(server.directory_url))
            _unavailable_problem(client.new_order("outage.test"))
            # the nonce of a 503 is one a client can use once the database is back
            assert client.nonce
            kept_nonce = client.nonce
            rest = http.get(
                f"{server.base_url}/api/v1/cert-manager/certificates",
                headers={"Authorization": "Bearer kms_not_a_real_token_0000000000"},
            )
            assert rest.status_code == 503, rest.text
            assert rest.headers["Retry-After"].isdigit()
            assert rest.json()["statusCode"] == 503
            login = http.post(
                f"{server.base_url}/api/v1/auth/universal-auth/login",
                json={"clientId": "x", "clientSecret": "y"},
            )
            assert login.status_code == 503, login.text
            health = http.get(f"{server.base_url}/healthz")
            assert health.status_code == 503
            assert health.headers["Retry-After"].isdigit()
            pki = http.get(f"{server.base_url}/pki/crl/00000000-0000-4000-8000-000000000000.crl")
            assert pki.status_code == 503, pki.text
        finally:
            cluster.start()
        started = time.monotonic()
        while http.get(f"{server.base_url}/healthz").status_code != 200:
            assert time.monotonic() - started < 30, "the server did not recover"
            time.sleep(0.1)
        client.nonce = kept_nonce
        order, chain = issue(server, client, "after-outage.test")
        assert order["status"] == "valid"
        assert "BEGIN CERTIFICATE" in chain


async def test_a_connection_terminated_mid_transaction_is_unavailable_and_replaced(
    cluster: pg_cluster.PgCluster,
) -> None:
    """PostgreSQL going down ends connections inside transactions: the statement and the
    rollback after it raise Unavailable only (no driver error reaches a handler as a 500),
    and the pool's next connection works."""
    db = await PostgresDatabase.connect(cluster.url)
    admin = await asyncpg.connect(cluster.url)
    try:
        with pytest.raises(Unavailable):
            async with db.write() as tx:
                pid = await tx.value(Sql("SELECT pg_backend_pid()"))
                await admin.execute("SELECT pg_terminate_backend($1)", pid)
                await tx.value(Sql("SELECT 1"))
        async with db.read() as tx:
            assert await tx.value(Sql("SELECT 1")) == 1
    finally:
        await admin.close()
        await db.close()
