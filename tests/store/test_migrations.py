"""Migrations produce exactly schema.py, are idempotent and safe to run concurrently."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import socket
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Column, Index, MetaData, String
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncConnection

from store import Store, StoreError, Unavailable, open_store
from store.engine import create_engine
from store.migrate import alembic_config, head_revision
from store.schema import metadata
from testkit.postgres import BACKENDS, postgres_url
from tests.conftest import fresh_pg_schema
from tests.store.factories import make_ca


def _diff(target: MetaData) -> Any:
    def run(connection: Connection) -> Any:
        return compare_metadata(MigrationContext.configure(connection), target)

    return run


@contextlib.asynccontextmanager
async def sqlalchemy_connection(store: Store) -> AsyncIterator[AsyncConnection]:
    """A SQLAlchemy connection to the store's database, as the migrations get one (the
    store itself runs on the raw drivers); committed when the block ends."""
    engine = create_engine(store._url, store.backend, pg_schema=store._pg_schema)
    try:
        async with engine.begin() as conn:
            yield conn
    finally:
        await engine.dispose()


async def schema_diff(store: Store, target: MetaData = metadata) -> list[Any]:
    async with sqlalchemy_connection(store) as conn:
        return list(await conn.run_sync(_diff(target)))


@pytest.fixture(params=BACKENDS)
async def empty_database(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[dict[str, Any]]:
    """open_store keyword arguments for a database nothing has touched yet."""
    if request.param == "sqlite":
        yield {"url": f"sqlite:///{tmp_path / 'new' / 'kms.db'}"}
        return
    url = postgres_url()
    async with fresh_pg_schema(url) as schema:
        yield {"url": url, "pg_schema": schema}


async def test_migrated_schema_matches_schema_py(store: Store) -> None:
    assert await schema_diff(store) == []
    assert await store.schema_revision() == head_revision()


async def test_schema_comparison_notices_drift(store: Store) -> None:
    """Guards the test above against comparing nothing."""
    drifted = MetaData(naming_convention=metadata.naming_convention)
    for table in metadata.sorted_tables:
        table.to_metadata(drifted)
    drifted.tables["certificates"].append_column(Column("extra", String(10)))
    Index("ix_crls_der", drifted.tables["crls"].c.der)

    kinds = sorted(change[0] for change in await schema_diff(store, drifted))

    assert kinds == ["add_column", "add_index"]


async def test_migrate_is_idempotent(store: Store) -> None:
    ca = await make_ca(store)

    await store.migrate()
    await store.migrate()

    assert await store.get_ca(ca.id) == ca
    assert await store.schema_revision() == head_revision()
    assert await schema_diff(store) == []


async def test_open_without_migrate_leaves_the_database_alone(
    empty_database: dict[str, Any],
) -> None:
    async with await open_store(**empty_database, migrate=False) as store:
        assert await store.schema_revision() is None
        await store.ping()
        await store.migrate()
        assert await store.schema_revision() == head_revision()


async def test_downgrade_then_upgrade(empty_database: dict[str, Any]) -> None:
    async with await open_store(**empty_database) as store:
        async with sqlalchemy_connection(store) as conn:
            await conn.run_sync(lambda c: command.downgrade(alembic_config(c), "base"))
        assert await store.schema_revision() is None
        await store.migrate()
        assert await schema_diff(store) == []


async def test_concurrent_first_starts_both_succeed(empty_database: dict[str, Any]) -> None:
    """Several server processes starting on a new database: one migrates, the rest wait."""
    stores = await asyncio.gather(*(open_store(**empty_database) for _ in range(3)))
    try:
        for store in stores:
            assert await store.schema_revision() == head_revision()
        assert await schema_diff(stores[0]) == []
    finally:
        for store in stores:
            await store.close()


@pytest.mark.postgres
async def test_migrate_creates_a_missing_postgres_schema() -> None:
    url = postgres_url()
    missing = f"kms_test_{secrets.token_hex(6)}"
    try:
        async with await open_store(url, pg_schema=missing) as store:
            assert await schema_diff(store) == []
    finally:
        conn = await asyncpg.connect(url)
        try:
            await conn.execute(f'DROP SCHEMA IF EXISTS "{missing}" CASCADE')
        finally:
            await conn.close()


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_unreachable_postgres_raises_unavailable() -> None:
    """Unavailable (a StoreError): the servers answer it 503 with Retry-After, not 500."""
    url = f"postgresql://postgres@127.0.0.1:{_closed_port()}/test"
    store = await open_store(url, migrate=False)
    try:
        with pytest.raises(Unavailable, match="database unavailable"):
            await store.ping()
    finally:
        await store.close()
    with pytest.raises(StoreError):
        await open_store(url)
