"""REST test fixtures: `api`, the real app on loopback (one per backend per module), and
`bearer_client(server)`, an httpx.Client logged in as a new machine identity (an issuer
of every profile, or `bearer_client(server, role="admin")`).

    def test_something(api: AcmeServer) -> None:
        with bearer_client(api) as http:          # base_url set, Bearer header set
            response = http.get("/api/v1/audit-logs")
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import TypeVar

import httpx
import pytest

from acme_server.services.context import Services
from acme_server.services.identities import grants
from acme_server.services.identities import tokens as identities
from acme_server.services.roles import ISSUER
from store import IdentityRecord
from testkit.in_process_server import AcmeServer, acme_server
from testkit.postgres import BACKENDS, fresh_postgres_database

T = TypeVar("T")
LOGIN_PATH = "/api/v1/auth/universal-auth/login"


@pytest.fixture(scope="module", params=BACKENDS)
def api(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[AcmeServer]:
    """The running server (default, `eab` and `strict` profiles, as tests/acme has)."""
    data_dir: Path = tmp_path_factory.mktemp("rest") / "data"
    if request.param == "sqlite":
        with acme_server(data_dir) as running:
            yield running
        return
    with fresh_postgres_database() as url, acme_server(data_dir, url) as running:
        yield running


def with_services(server: AcmeServer, work: Callable[[Services], Awaitable[T]]) -> T:
    """Run `work(services)` on the server's loop with a second Services on its database."""

    async def run() -> T:
        services = await Services.open(server.settings, migrate=False)
        try:
            return await work(services)
        finally:
            await services.close()

    return server.loop.run(run())


def create_identity(
    server: AcmeServer,
    name: str | None = None,
    *,
    role: str = ISSUER,
    profiles: tuple[str, ...] | None = None,
) -> tuple[IdentityRecord, str]:
    """A new machine identity through the service layer: (record, client secret).
    `profiles`: the slugs an issuer or reader is granted (None: every profile)."""
    label = name or f"test-{uuid.uuid4().hex[:8]}"

    async def create(services: Services) -> tuple[IdentityRecord, str]:
        ids = None if profiles is None else await grants.profile_ids(services, list(profiles))
        return await identities.create_identity(
            services, label, role=role, profile_grants=ids, actor="test"
        )

    return with_services(server, create)


def login(server: AcmeServer, client_id: str, client_secret: str) -> str:
    """The access token from a universal-auth login over HTTP (asserts it succeeded)."""
    with httpx.Client(base_url=server.base_url, timeout=30) as http:
        response = http.post(
            LOGIN_PATH, json={"clientId": client_id, "clientSecret": client_secret}
        )
    assert response.status_code == 200, response.text
    token: str = response.json()["accessToken"]
    return token


def bearer_client(
    server: AcmeServer, *, role: str = ISSUER, profiles: tuple[str, ...] | None = None
) -> httpx.Client:
    """An httpx.Client (base_url = the server) with the Bearer token of a new identity."""
    record, secret = create_identity(server, role=role, profiles=profiles)
    token = login(server, record.client_id, secret)
    return httpx.Client(
        base_url=server.base_url, timeout=30, headers={"Authorization": f"Bearer {token}"}
    )
