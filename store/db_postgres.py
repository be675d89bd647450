"""The PostgreSQL driver of store/db.py: the same Tx and Database scopes over an asyncpg pool.

asyncpg prepares and caches each statement per connection. A released connection is not
reset unless it is still in a transaction, so a read or autocommit statement costs one
round trip and a write BEGIN + its statements + COMMIT. json/jsonb columns take and give
Python values. A connection whose protocol a vanished server left mid-operation is
terminated, never pooled again.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Mapping, Sequence
from datetime import datetime
from typing import Any

import asyncpg
import orjson

from store.columns import require_utc
from store.db import Params, Row, Sql, Tx, dump_json
from store.errors import translate_pg
from store.interface import Backend
from store.statements import listened, timed

PG_CONNECT_TIMEOUT_S = 10
PG_POOL_MIN = 0  # connect on first use: opening the store never blocks on the server
PG_POOL_MAX = 20
PG_STATEMENT_CACHE = 1024

# What a statement on PostgreSQL can raise: the server's errors, the driver's (a closed or
# released connection; a protocol left mid-operation when the server went away), the
# socket's (refused, reset, timed out: TimeoutError is an OSError).
_PG_ERRORS = (asyncpg.PostgresError, asyncpg.InterfaceError, asyncpg.InternalClientError, OSError)


def _pg_param(value: Any) -> Any:
    if isinstance(value, datetime):
        return require_utc(value)
    return value


def _pg_args(sql: Sql, params: Params) -> list[Any]:
    if not sql.pg_names:
        return []
    if params is None:
        raise ValueError(f"{sql!r} needs parameters")
    return [_pg_param(params[name]) for name in sql.pg_names]


class PostgresTx:
    backend: Backend = "postgresql"

    def __init__(self, conn: Any) -> None:
        self._conn = conn

    async def one(self, sql: Sql, params: Params = None) -> Row | None:
        try:
            row: Row | None = await self._conn.fetchrow(sql.pg_text, *_pg_args(sql, params))
        except _PG_ERRORS as exc:
            raise translate_pg(exc) from exc
        return row

    async def all(self, sql: Sql, params: Params = None) -> list[Row]:
        try:
            rows: list[Row] = await self._conn.fetch(sql.pg_text, *_pg_args(sql, params))
        except _PG_ERRORS as exc:
            raise translate_pg(exc) from exc
        return rows

    async def value(self, sql: Sql, params: Params = None) -> Any:
        try:
            return await self._conn.fetchval(sql.pg_text, *_pg_args(sql, params))
        except _PG_ERRORS as exc:
            raise translate_pg(exc) from exc

    async def run(self, sql: Sql, params: Params = None) -> int:
        try:
            status: str = await self._conn.execute(sql.pg_text, *_pg_args(sql, params))
        except _PG_ERRORS as exc:
            raise translate_pg(exc) from exc
        count = status.rsplit(" ", 1)[-1]  # "UPDATE 3", "INSERT 0 1", "DELETE 0"
        return int(count) if count.isdigit() else 0

    async def run_many(self, sql: Sql, rows: Sequence[Mapping[str, Any]]) -> None:
        if not rows:
            return
        try:
            await self._conn.executemany(sql.pg_text, [_pg_args(sql, row) for row in rows])
        except _PG_ERRORS as exc:
            raise translate_pg(exc) from exc


async def _init_connection(conn: Any) -> None:
    for name in ("json", "jsonb"):
        await conn.set_type_codec(
            name, encoder=dump_json, decoder=orjson.loads, schema="pg_catalog"
        )


async def _keep_session(conn: Any) -> None:
    """Pool reset hook: asyncpg still rolls back an open transaction first; nothing else
    needs undoing (the store sets no session state), so a release costs no round trip."""


class PostgresDatabase:
    backend: Backend = "postgresql"

    def __init__(self, pool: Any) -> None:
        self._pool = pool

    @classmethod
    async def connect(cls, dsn: str, *, pg_schema: str | None = None) -> PostgresDatabase:
        settings = {"application_name": "kms"}
        if pg_schema is not None:
            settings["search_path"] = pg_schema
        try:
            pool = await asyncpg.create_pool(
                dsn,
                min_size=PG_POOL_MIN,
                max_size=PG_POOL_MAX,
                init=_init_connection,
                reset=_keep_session,
                server_settings=settings,
                statement_cache_size=PG_STATEMENT_CACHE,
                timeout=PG_CONNECT_TIMEOUT_S,
            )
        except _PG_ERRORS as exc:
            raise translate_pg(exc) from exc
        return cls(pool)

    @contextlib.asynccontextmanager
    async def _acquire(self) -> AsyncIterator[Any]:
        try:
            conn = await self._pool.acquire()
        except _PG_ERRORS as exc:
            raise translate_pg(exc) from exc
        try:
            yield conn
        except BaseException as exc:
            if isinstance(exc.__cause__, asyncpg.InternalClientError):
                conn.terminate()  # its protocol state is broken: never hand it out again
            raise
        finally:
            with contextlib.suppress(*_PG_ERRORS):
                await self._pool.release(conn)

    @contextlib.asynccontextmanager
    async def read(self) -> AsyncIterator[Tx]:
        async with self._acquire() as conn:
            yield listened(PostgresTx(conn))

    def autocommit(self) -> contextlib.AbstractAsyncContextManager[Tx]:
        return self.read()

    @contextlib.asynccontextmanager
    async def write(self) -> AsyncIterator[Tx]:
        async with self._acquire() as conn:
            try:
                with timed("postgresql", "BEGIN"):
                    await conn.execute("BEGIN")
            except _PG_ERRORS as exc:
                raise translate_pg(exc) from exc
            try:
                yield listened(PostgresTx(conn))
            except BaseException:
                with contextlib.suppress(*_PG_ERRORS):  # the connection may be gone already
                    if not conn.is_closed():
                        with timed("postgresql", "ROLLBACK"):
                            await conn.execute("ROLLBACK")
                raise
            try:
                with timed("postgresql", "COMMIT"):
                    await conn.execute("COMMIT")
            except _PG_ERRORS as exc:
                raise translate_pg(exc) from exc

    async def close(self) -> None:
        await self._pool.close()
