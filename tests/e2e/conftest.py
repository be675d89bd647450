"""End-to-end fixtures: the database each server process uses, per backend."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest

from tests.conftest import BACKENDS, postgres_url


async def _admin(url: str, statement: str) -> None:
    conn = await asyncpg.connect(url, timeout=5)
    try:
        await conn.execute(statement)
    finally:
        await conn.close()


def fresh_database_url(base_url: str, name: str) -> str:
    parts = urlsplit(base_url)
    return urlunsplit(parts._replace(path=f"/{name}"))


@contextmanager
def fresh_postgres_database() -> Iterator[str]:
    """The URL of a new, empty PostgreSQL database, dropped afterwards (skips or fails as
    postgres_url() does when no server is reachable)."""
    base = postgres_url()
    name = f"kms_e2e_{secrets.token_hex(6)}"
    asyncio.run(_admin(base, f'CREATE DATABASE "{name}"'))
    try:
        yield fresh_database_url(base, name)
    finally:
        asyncio.run(_admin(base, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(params=BACKENDS)
def database_args(request: pytest.FixtureRequest) -> Iterator[list[str]]:
    """[] for the embedded SQLite default; ["--database", url] of a fresh PostgreSQL database
    for the other."""
    if request.param == "sqlite":
        yield []
        return
    with fresh_postgres_database() as url:
        yield ["--database", url]
