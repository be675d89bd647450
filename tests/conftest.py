"""Shared fixtures: a `store` on each backend, and PostgreSQL URLs and schemas.

Where PostgreSQL is found, and when its absence skips or fails a test, is testkit.postgres's.
"""

from __future__ import annotations

import contextlib
import secrets
import shutil
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import pytest

from store import Store, open_store
from store.db import Sql
from store.schema import metadata
from testkit.event_loop import run_async
from testkit.postgres import BACKENDS, PG_PROBE_TIMEOUT_S, asyncpg_dsn, postgres_url


@pytest.fixture
def pg_url() -> str:
    """The test PostgreSQL URL (skip or fail as postgres_url() does)."""
    return postgres_url()


async def _create_schema(url: str, name: str) -> None:
    conn = await asyncpg.connect(asyncpg_dsn(url), timeout=PG_PROBE_TIMEOUT_S)
    try:
        await conn.execute(f'CREATE SCHEMA "{name}"')
    finally:
        await conn.close()


async def _drop_schema(url: str, name: str) -> None:
    conn = await asyncpg.connect(asyncpg_dsn(url), timeout=PG_PROBE_TIMEOUT_S)
    try:
        await conn.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')
    finally:
        await conn.close()


@contextlib.asynccontextmanager
async def fresh_pg_schema(url: str) -> AsyncIterator[str]:
    """Create an empty schema `kms_test_<hex>` in the database at `url`; drop it after."""
    name = f"kms_test_{secrets.token_hex(6)}"
    await _create_schema(url, name)
    try:
        yield name
    finally:
        await _drop_schema(url, name)


@pytest.fixture
async def pg_schema(pg_url: str) -> AsyncIterator[str]:
    """A fresh, empty schema in the test database, dropped afterwards."""
    async with fresh_pg_schema(pg_url) as name:
        yield name


async def _build_template(url: str, pg_schema: str | None = None) -> None:
    if pg_schema is not None:
        await _create_schema(url, pg_schema)
    async with await open_store(url, pg_schema=pg_schema):
        pass


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file, made once; `store` copies it (faster than migrating)."""
    path = tmp_path_factory.mktemp("store-template") / "kms.db"
    run_async(lambda: _build_template(f"sqlite:///{path}"))
    return path


@pytest.fixture(scope="session")
def pg_session_schema() -> Iterator[tuple[str, str]]:
    """(url, schema): a schema migrated once per session; `store` empties it per test."""
    url = postgres_url()
    name = f"kms_test_{secrets.token_hex(6)}"
    run_async(lambda: _build_template(url, name))
    try:
        yield url, name
    finally:
        run_async(lambda: _drop_schema(url, name))


_EMPTY = [Sql(f"DELETE FROM {t.name}") for t in reversed(metadata.sorted_tables)]  # noqa: S608


async def _empty_all_tables(store: Store) -> None:
    async with store.database.write() as tx:
        for statement in _EMPTY:
            await tx.run(statement)


@pytest.fixture(params=BACKENDS)
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Store]:
    """A migrated, empty store; each test using it runs once per backend: SQLite in a
    copy of a migrated file in tmp_path, PostgreSQL in a session schema emptied first.
    (Migrating itself is tested on fresh databases in tests/store/test_migrations.py.)"""
    if request.param == "sqlite":
        path = tmp_path / "store" / "kms.db"
        path.parent.mkdir()
        shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
        async with await open_store(f"sqlite:///{path}", migrate=False) as opened:
            yield opened
        return
    url, schema = request.getfixturevalue("pg_session_schema")
    async with await open_store(url, pg_schema=schema, migrate=False) as opened:
        await _empty_all_tables(opened)
        yield opened
