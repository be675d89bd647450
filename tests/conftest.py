"""Shared fixtures: a `store` on each backend, and the PostgreSQL reachability check.

PostgreSQL is found at $KMS_TEST_PG_URL (default postgresql://postgres@127.0.0.1:5432/test).
When it cannot be reached, tests that need it are skipped with the reason, except in CI
(CI=true or CI=1), where they fail: CI must never pass by skipping the production backend.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import secrets
import shutil
import threading
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

import asyncpg
import hypothesis  # noqa: F401  - imported before any test starts a thread: CPython 3.11.7's
import pytest  # ast.parse can fail ("recursion depth mismatch") when pytest rewrites it later

from store import Store, open_store
from store.db import Sql
from store.schema import metadata

PG_URL_ENV = "KMS_TEST_PG_URL"
PG_DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/test"
PG_PROBE_TIMEOUT_S = 3.0
T = TypeVar("T")
BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("true", "1")


def _asyncpg_dsn(url: str) -> str:
    """asyncpg takes postgresql:// (or postgres://) but not SQLAlchemy's +asyncpg."""
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)


async def _connect_error(url: str) -> str | None:
    try:
        conn = await asyncpg.connect(_asyncpg_dsn(url), timeout=PG_PROBE_TIMEOUT_S)
    except (OSError, TimeoutError, asyncpg.PostgresError, ValueError) as exc:
        return f"{type(exc).__name__}: {exc}".strip()
    try:
        await conn.fetchval("SELECT 1")
    finally:
        await conn.close()
    return None


def run_async(make: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run a coroutine to completion on its own thread and event loop, so sync code (and
    session fixtures) can call it even while a test's event loop is running."""
    outcome: list[T] = []
    failure: list[BaseException] = []

    def target() -> None:
        try:
            outcome.append(asyncio.run(make()))
        except BaseException as exc:
            failure.append(exc)

    thread = threading.Thread(target=target)
    thread.start()
    thread.join()
    if failure:
        raise failure[0]
    return outcome[0]


@functools.cache
def _probe(url: str) -> str | None:
    """None if PostgreSQL at `url` answers, else why not. Once per URL per session."""
    return run_async(lambda: _connect_error(url))


def postgres_url() -> str:
    """The test PostgreSQL URL; skips the calling test if it is unreachable (fails in CI)."""
    url = os.environ.get(PG_URL_ENV) or PG_DEFAULT_URL
    reason = _probe(url)
    if reason is None:
        return url
    parts = urlsplit(_asyncpg_dsn(url))
    message = f"PostgreSQL not reachable at {parts.hostname}:{parts.port or 5432}: {reason}"
    if in_ci():
        pytest.fail(f"{message} (CI is set, so this fails instead of skipping)", pytrace=False)
    pytest.skip(message)


@pytest.fixture
def pg_url() -> str:
    """The test PostgreSQL URL (skip or fail as postgres_url() does)."""
    return postgres_url()


async def _create_schema(url: str, name: str) -> None:
    conn = await asyncpg.connect(_asyncpg_dsn(url), timeout=PG_PROBE_TIMEOUT_S)
    try:
        await conn.execute(f'CREATE SCHEMA "{name}"')
    finally:
        await conn.close()


async def _drop_schema(url: str, name: str) -> None:
    conn = await asyncpg.connect(_asyncpg_dsn(url), timeout=PG_PROBE_TIMEOUT_S)
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
