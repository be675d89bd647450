"""What every noun's queries share: transactions, error translation, id and row helpers.

Each public store method runs in exactly one transaction, opened by `_read()` or
`_write()`. On SQLite, writes are serialised in-process by an asyncio.Lock and
cross-process by BEGIN IMMEDIATE (engine.py), so concurrent coroutines queue instead of
failing with "database is locked". PostgreSQL relies on row locks.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any, TypeVar

from sqlalchemy import Select, Table, exists, select
from sqlalchemy.exc import DBAPIError, IntegrityError, StatementError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from store.engine import WRITE_OPTION
from store.errors import translate_database, translate_integrity
from store.interface import Backend, NotFound, Unset

S = TypeVar("S", bound=Select[Any])


def changes(**values: Any) -> dict[str, Any]:
    """The update arguments the caller actually passed (drops UNSET)."""
    return {name: value for name, value in values.items() if not isinstance(value, Unset)}


class StoreBase:
    def __init__(self, engine: AsyncEngine, backend: Backend, pg_schema: str | None) -> None:
        self._engine = engine
        self._backend: Backend = backend
        self._pg_schema = pg_schema
        self._write_lock = asyncio.Lock()

    @contextlib.asynccontextmanager
    async def _translated(self) -> AsyncIterator[None]:
        try:
            yield
        except IntegrityError as exc:
            raise translate_integrity(exc) from exc
        except (DBAPIError, OSError, TimeoutError) as exc:
            raise translate_database(exc) from exc
        except StatementError as exc:
            if isinstance(exc.orig, ValueError):  # e.g. a naive datetime bound to a column
                raise exc.orig from None
            raise

    @contextlib.asynccontextmanager
    async def _read(self) -> AsyncIterator[AsyncConnection]:
        """A read transaction (deferred on SQLite: it never waits for the writer)."""
        async with self._translated(), self._engine.connect() as conn, conn.begin():
            yield conn

    @contextlib.asynccontextmanager
    async def _write(self) -> AsyncIterator[AsyncConnection]:
        """A write transaction; committed when the block ends, rolled back if it raises."""
        if self._backend == "sqlite":
            async with self._translated(), self._write_lock, self._engine.connect() as conn:
                await conn.execution_options(**{WRITE_OPTION: True})
                async with conn.begin():
                    yield conn
        else:
            async with self._translated(), self._engine.connect() as conn, conn.begin():
                yield conn

    def _locking(self, query: S, *, skip_locked: bool = False, share: bool = False) -> S:
        """PostgreSQL: the query with FOR UPDATE (or FOR SHARE), optionally SKIP LOCKED.
        SQLite: unchanged, since a write transaction already holds the database write lock.
        Callers lock rows of one table in id order, so two lockers cannot deadlock."""
        if self._backend != "postgresql":
            return query
        return query.with_for_update(skip_locked=skip_locked, read=share)

    @staticmethod
    async def _require(conn: AsyncConnection, table: Table, row_id: str, what: str) -> None:
        """NotFound unless `table` has a row with this id (checked inside the transaction)."""
        found = await conn.scalar(select(exists().where(table.c.id == row_id)))
        if not found:
            raise NotFound(f"{what} {row_id} not found")

    @staticmethod
    async def _one(conn: AsyncConnection, table: Table, row_id: str, what: str) -> Any:
        """The row mapping with this id, or NotFound."""
        result = await conn.execute(select(table).where(table.c.id == row_id))
        row = result.mappings().one_or_none()
        if row is None:
            raise NotFound(f"{what} {row_id} not found")
        return row
