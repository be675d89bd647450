"""What the endpoint fuzz tests share: a server with an account, a ready order and an issued
certificate, and the row count of every table (the database must not change)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding

from testkit.acme_client import AcmeClient, b64
from testkit.flows import authorize, issue, poll
from testkit.in_process_server import AcmeServer, acme_server

# Nonces are the one table a refused request may still write: RFC 8555 6.5 lets a request
# that fails after its signature verified use its nonce up (the problem carries a new one).
VOLATILE_TABLES = frozenset({"acme_nonces"})
ACME_ERROR = "urn:ietf:params:acme:error:"


def row_counts(database: Path) -> dict[str, int]:
    """Rows per table of the SQLite database, except VOLATILE_TABLES."""
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as db:
        names = [
            row[0]
            for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
            if row[0] not in VOLATILE_TABLES and not row[0].startswith("sqlite_")
        ]
        return {
            name: int(db.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0])  # noqa: S608
            for name in names
        }


@dataclass
class World:
    server: AcmeServer
    account: AcmeClient
    finalize_url: str
    order_name: str
    certificate_der: bytes
    database: Path

    def counts(self) -> dict[str, int]:
        return row_counts(self.database)


def assert_problem(response: httpx.Response) -> dict[str, Any]:
    """A 4xx RFC 7807 problem document with an ACME error type."""
    assert 400 <= response.status_code < 500, (response.status_code, response.text)
    assert response.headers["Content-Type"] == "application/problem+json", response.text
    body: dict[str, Any] = response.json()
    assert str(body["type"]).startswith(ACME_ERROR), body
    assert body["status"] == response.status_code
    return body


@contextmanager
def fuzz_world(data_dir: Path) -> Iterator[World]:
    # The per-address request limit would turn most cases into rateLimited: lift it.
    with (
        acme_server(data_dir, rate_limit_requests_per_second=1_000_000) as server,
        server.http() as http,
    ):
        account = AcmeClient(http, server.directory_url, ec.generate_private_key(ec.SECP256R1()))
        assert account.new_account().status_code == 201
        _, chain = issue(server, account, "issued.fuzz.example.com")
        cert = x509.load_pem_x509_certificates(chain.encode())[0]
        name = "ready.fuzz.example.com"
        response = account.new_order(name)
        assert response.status_code == 201
        authorize(server, account, response.json())
        order = poll(account, response.headers["Location"], ("ready", "invalid"))
        assert order["status"] == "ready"
        yield World(
            server=server,
            account=account,
            finalize_url=str(order["finalize"]),
            order_name=name,
            certificate_der=cert.public_bytes(Encoding.DER),
            database=server.settings.data_dir.resolve() / "kms.db",
        )


__all__ = ["World", "assert_problem", "b64", "fuzz_world", "row_counts"]
