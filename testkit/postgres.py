"""The databases tests run on: the backend list (SQLite, PostgreSQL), the PostgreSQL URL and its
reachability check, and fresh PostgreSQL databases.

PostgreSQL is found at $KMS_TEST_PG_URL (default postgresql://postgres@127.0.0.1:5432/test).
When it cannot be reached, callers that need it are skipped with the reason, except in CI
(CI=true or CI=1), where they fail: CI must never pass by skipping the production backend.
"""

from __future__ import annotations

import functools
import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest

from testkit.event_loop import run_async

PG_URL_ENV = "KMS_TEST_PG_URL"
PG_DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/test"
PG_PROBE_TIMEOUT_S = 3.0
BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("true", "1")


def asyncpg_dsn(url: str) -> str:
    """asyncpg takes postgresql:// (or postgres://) but not SQLAlchemy's +asyncpg."""
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)


async def _connect_error(url: str) -> str | None:
    try:
        conn = await asyncpg.connect(asyncpg_dsn(url), timeout=PG_PROBE_TIMEOUT_S)
    except (OSError, TimeoutError, asyncpg.PostgresError, ValueError) as exc:
        return f"{type(exc).__name__}: {exc}".strip()
    try:
        await conn.fetchval("SELECT 1")
    finally:
        await conn.close()
    return None


@functools.cache
def _probe(url: str) -> str | None:
    """None if PostgreSQL at `url` answers, else why not. Once per URL per process."""
    return run_async(lambda: _connect_error(url))


def postgres_url() -> str:
    """The test PostgreSQL URL; skips the calling test if it is unreachable (fails in CI)."""
    url = os.environ.get(PG_URL_ENV) or PG_DEFAULT_URL
    reason = _probe(url)
    if reason is None:
        return url
    parts = urlsplit(asyncpg_dsn(url))
    message = f"PostgreSQL not reachable at {parts.hostname}:{parts.port or 5432}: {reason}"
    if in_ci():
        pytest.fail(f"{message} (CI is set, so this fails instead of skipping)", pytrace=False)
    pytest.skip(message)


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
    run_async(lambda: _admin(base, f'CREATE DATABASE "{name}"'))
    try:
        yield fresh_database_url(base, name)
    finally:
        run_async(lambda: _admin(base, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
