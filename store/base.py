"""What every noun's queries share: transactions, id and row helpers.

Each public store method runs in exactly one transaction, opened by `_read()` or
`_write()` on the database (store/db.py). SQLite serialises transactions in-process and
takes the write lock first for writes (BEGIN IMMEDIATE); PostgreSQL relies on row locks,
asked for with `_lock()` (FOR UPDATE / FOR SHARE, optionally SKIP LOCKED).
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from functools import cache
from typing import Any

from sqlalchemy import Table

from store.db import Database, Row, Sql, Tx, dynamic
from store.interface import Backend, NotFound, Unset


def changes(**values: Any) -> dict[str, Any]:
    """The update arguments the caller actually passed (drops UNSET)."""
    return {name: value for name, value in values.items() if not isinstance(value, Unset)}


@cache
def insert_sql(table: Table) -> Sql:
    """INSERT of every column of `table`, parameters named after the columns."""
    names = [column.name for column in table.columns]
    quoted = ", ".join(f'"{name}"' for name in names)
    params = ", ".join(f":{name}" for name in names)
    return Sql(f"INSERT INTO {table.name} ({quoted}) VALUES ({params})")


@cache
def select_by_id_sql(table: Table) -> Sql:
    return Sql(f"SELECT * FROM {table.name} WHERE id = :id")


@cache
def exists_sql(table: Table) -> Sql:
    return Sql(f"SELECT 1 FROM {table.name} WHERE id = :id")


def update_sql(table: Table, columns: tuple[str, ...], where: str = "id = :id") -> Sql:
    """UPDATE `table` SET col = :col, ... WHERE <where>; cached by its text."""
    assignments = ", ".join(f'"{name}" = :{name}' for name in columns)
    return dynamic(f"UPDATE {table.name} SET {assignments} WHERE {where}")


@cache
def update_picked_sql(update: str, pick: str, lock: str, returning: str = "") -> Sql:
    """`update` ("UPDATE t SET ...") of the rows whose ids `pick` ("SELECT id FROM t ...
    ORDER BY id") selects, in one statement. With a `lock` (PostgreSQL, from `_lock()`)
    the pick is a MATERIALIZED CTE: it runs once, locking in its ORDER BY, so a re-scan
    cannot lock out of order or, with LIMIT and SKIP LOCKED, take more rows than the
    LIMIT (which an `IN (subquery)` can). Without one (SQLite), a plain IN subquery."""
    if not lock:
        return dynamic(f"{update} WHERE id IN ({pick}){returning}")
    return dynamic(
        f"WITH picked AS MATERIALIZED ({pick}{lock}) "
        f"{update} WHERE id IN (SELECT id FROM picked){returning}"
    )


class StoreBase:
    def __init__(self, db: Database, pg_schema: str | None) -> None:
        self._db = db
        self._backend: Backend = db.backend
        self._pg_schema = pg_schema

    def _read(self) -> contextlib.AbstractAsyncContextManager[Tx]:
        """Reads: each statement by itself, seeing what was committed before it began."""
        return self._db.read()

    def _autocommit(self) -> contextlib.AbstractAsyncContextManager[Tx]:
        """Statements that are each atomic alone (one conditional UPDATE, an INSERT .. ON
        CONFLICT): no BEGIN/COMMIT around them."""
        return self._db.autocommit()

    def _write(self) -> contextlib.AbstractAsyncContextManager[Tx]:
        """A write transaction; committed when the block ends, rolled back if it raises."""
        return self._db.write()

    def _lock(self, *, skip_locked: bool = False, share: bool = False) -> str:
        """The `pg_suffix` that locks the selected rows on PostgreSQL (FOR UPDATE or
        FOR SHARE, optionally SKIP LOCKED). SQLite needs none: a write transaction
        already holds the database's write lock. Callers lock rows of one table in id
        order, so two lockers cannot deadlock."""
        if self._backend != "postgresql":
            return ""
        return (" FOR SHARE" if share else " FOR UPDATE") + (" SKIP LOCKED" if skip_locked else "")

    async def _conditional(
        self, sql: Sql, params: Mapping[str, Any], table: Table, what: str
    ) -> bool:
        """One conditional UPDATE of the row `params["id"]`, which is atomic by itself, so
        it runs without BEGIN/COMMIT (on PostgreSQL: one round trip, not three). True if it
        changed the row; False if the row exists but did not qualify; NotFound if not."""
        async with self._autocommit() as tx:
            if await tx.run(sql, params):
                return True
            await self._require(tx, table, params["id"], what)
            return False

    @staticmethod
    async def _require(tx: Tx, table: Table, row_id: str, what: str) -> None:
        """NotFound unless `table` has a row with this id (checked inside the transaction)."""
        if await tx.one(exists_sql(table), {"id": row_id}) is None:
            raise NotFound(f"{what} {row_id} not found")

    @staticmethod
    async def _one(tx: Tx, table: Table, row_id: str, what: str) -> Row:
        """The row with this id, or NotFound."""
        row = await tx.one(select_by_id_sql(table), {"id": row_id})
        if row is None:
            raise NotFound(f"{what} {row_id} not found")
        return row
