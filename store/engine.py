"""SQLAlchemy engines for the migrations only (Alembic): database URLs and transaction start.

The store's queries do not use SQLAlchemy: they run on the raw drivers (store/db.py).
SQLAlchemy opens a short-lived engine here for `Store.migrate`, `Store.schema_revision`
and Alembic run by hand (migrations/env.py), disposed of right after, so it keeps no
pool (NullPool). `open_store` also checks its URL and schema name with `parse_url` and
`check_schema_name`.

SQLite: WAL, synchronous=NORMAL, foreign_keys=ON and a busy timeout on every connection.
The sqlite3 driver's own BEGIN handling is switched off and SQLAlchemy emits the BEGIN:
plain (deferred) BEGIN, or BEGIN IMMEDIATE for connections given the `WRITE_OPTION`
execution option, so a migration takes the database write lock before its first read and
never fails half-way with "database is locked".

PostgreSQL: asyncpg; `pg_schema` becomes the connection's `search_path` (set as a server
setting at connect time).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import URL, Connection, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

from store.db import SQLITE_BUSY_TIMEOUT_MS, use_wal
from store.db_postgres import PG_CONNECT_TIMEOUT_S
from store.interface import Backend

WRITE_OPTION = "kms_store_write"

_PG_SCHEMES = ("postgresql", "postgres", "postgresql+asyncpg")
_SQLITE_SCHEMES = ("sqlite", "sqlite+aiosqlite")
_SCHEMA_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,62}")


def parse_url(url: str) -> tuple[URL, Backend]:
    """Return the URL with its async driver and the backend it names.

    Accepted: sqlite:///abs/path.db, sqlite+aiosqlite:///..., postgresql://user@host:port/db,
    postgres://..., postgresql+asyncpg://... . In-memory SQLite is refused: every
    connection would see its own empty database.
    """
    scheme, sep, rest = url.partition("://")
    if not sep:
        raise ValueError(f"not a database URL: {url!r}")
    scheme = scheme.lower()
    if scheme in _SQLITE_SCHEMES:
        parsed = make_url("sqlite+aiosqlite://" + rest)
        if parsed.database in (None, "", ":memory:") or "mode=memory" in rest:
            raise ValueError("SQLite needs a file path: sqlite:///abs/path.db")
        return parsed, "sqlite"
    if scheme in _PG_SCHEMES:
        return make_url("postgresql+asyncpg://" + rest), "postgresql"
    raise ValueError(f"unsupported database URL scheme {scheme!r}: use sqlite:// or postgresql://")


def check_schema_name(pg_schema: str) -> str:
    if not _SCHEMA_NAME.fullmatch(pg_schema):
        raise ValueError(f"invalid PostgreSQL schema name {pg_schema!r}")
    return pg_schema


def create_engine(url: URL, backend: Backend, *, pg_schema: str | None = None) -> AsyncEngine:
    if backend == "sqlite":
        return _sqlite_engine(url)
    return _postgres_engine(url, pg_schema)


def _sqlite_engine(url: URL) -> AsyncEngine:
    assert url.database is not None
    Path(url.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_async_engine(
        url, poolclass=NullPool, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}
    )

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # SQLAlchemy emits BEGIN (below)
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA synchronous=NORMAL")
            use_wal(cursor)
        finally:
            cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Connection) -> None:
        if conn.get_execution_options().get(WRITE_OPTION):
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            conn.exec_driver_sql("BEGIN")

    return engine


def _postgres_engine(url: URL, pg_schema: str | None) -> AsyncEngine:
    server_settings = {"application_name": "kms"}
    if pg_schema is not None:
        server_settings["search_path"] = check_schema_name(pg_schema)
    return create_async_engine(
        url,
        poolclass=NullPool,
        connect_args={"server_settings": server_settings, "timeout": PG_CONNECT_TIMEOUT_S},
    )
