"""The database drivers themselves, with no ORM between them and the queries.

Parameters: aware datetimes (naive ones raise ValueError), dicts and lists (bound as JSON:
the store never binds arrays; `in_list` expands IN lists), str, int, bytes, bool, None.

Three scopes, on both backends:

    write()       BEGIN .. COMMIT (rolled back if the body raises): several statements
                  that must land together or see one another.
    read()        no BEGIN: each statement runs (and commits) by itself and sees what was
    autocommit()  committed before it started (READ COMMITTED). For reads, and for a
                  write that is one statement (a conditional UPDATE, an INSERT .. ON
                  CONFLICT), which is atomic by itself. They are the same scope; the name
                  says which use is meant.

In a scope: `await tx.one(SQL, {...})`, `tx.all`, `tx.value`, `tx.run` (the row count).
SQL is written once with `:name` parameters (`Sql`); it runs as is on SQLite and is
rewritten to `$1, $2 ...` for PostgreSQL, once per statement.

SQLite: one `sqlite3` connection per process, used on the event loop's own thread. A
query there takes microseconds, far less than handing it to a thread would (aiosqlite
costs ~110 us per call, more than the query). Scopes are serialised by an asyncio.Lock
(a body that awaits nothing but the database never waits for it); write() starts with
BEGIN IMMEDIATE, so another process's writer makes this one wait (busy_timeout) instead
of failing half-way. A process blocked on another's write lock blocks its event loop for
that wait: the embedded backend is meant for one process (PostgreSQL for many).
Columns come back typed by their declared type (DATETIME,
JSON, BOOLEAN: `detect_types`); datetimes are stored as naive UTC text that sorts in time
order, in the same form SQLAlchemy wrote (migrations still run through SQLAlchemy).

PostgreSQL: store/db_postgres.py, the same Tx and Database over an asyncpg pool.

Driver errors become store errors here (store/errors.py), so no caller sees a driver.
Every statement a scope sends is reported to the statement listeners, if any
(store/statements.py: the bench's SQL counts, metrics).
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from types import TracebackType
from typing import Any, Protocol

import orjson

from store.columns import require_utc
from store.errors import translate_sqlite
from store.interface import Backend, StoreError
from store.statements import listened, timed

SQLITE_BUSY_TIMEOUT_MS = 5000

Row = Mapping[str, Any]
Params = Mapping[str, Any] | None

_PARAM = re.compile(r"(?<![:\w]):([A-Za-z_]\w*)")


class Sql:
    """One statement: `:name` parameters, and text that only PostgreSQL gets (`pg_suffix`,
    e.g. " FOR UPDATE SKIP LOCKED", which SQLite neither has nor needs: its writer holds
    the whole database)."""

    __slots__ = ("pg_names", "pg_text", "sqlite_text", "text")

    def __init__(self, text: str, *, pg_suffix: str = "") -> None:
        self.text = text
        self.sqlite_text = text
        names: list[str] = []

        def number(match: re.Match[str]) -> str:
            name = match.group(1)
            if name not in names:
                names.append(name)
            return f"${names.index(name) + 1}"

        self.pg_text = _PARAM.sub(number, text) + pg_suffix
        self.pg_names = tuple(names)

    def __repr__(self) -> str:
        return f"Sql({self.text!r})"


@lru_cache(maxsize=2048)
def dynamic(text: str, pg_suffix: str = "") -> Sql:
    """An `Sql` for text built at run time (IN lists, optional filters), cached by text."""
    return Sql(text, pg_suffix=pg_suffix)


def in_list(prefix: str, values: Iterable[Any]) -> tuple[str, dict[str, Any]]:
    """`(:p0, :p1, ...)` and its parameters, for `column IN <that>` on both backends."""
    params = {f"{prefix}{i}": value for i, value in enumerate(values)}
    if not params:
        return "(NULL)", {}  # IN (NULL) matches nothing
    return "(" + ", ".join(f":{name}" for name in params) + ")", params


class Tx(Protocol):
    """A transaction's statements; every method raises StoreError (or a subclass)."""

    backend: Backend

    async def one(self, sql: Sql, params: Params = None) -> Row | None: ...
    async def all(self, sql: Sql, params: Params = None) -> list[Row]: ...
    async def value(self, sql: Sql, params: Params = None) -> Any: ...
    async def run(self, sql: Sql, params: Params = None) -> int: ...
    async def run_many(self, sql: Sql, rows: Sequence[Mapping[str, Any]]) -> None: ...


class Database(Protocol):
    backend: Backend

    def read(self) -> contextlib.AbstractAsyncContextManager[Tx]: ...
    def autocommit(self) -> contextlib.AbstractAsyncContextManager[Tx]: ...
    def write(self) -> contextlib.AbstractAsyncContextManager[Tx]: ...
    async def close(self) -> None: ...


# -- SQLite -----------------------------------------------------------------------------


def sqlite_time(value: datetime) -> str:
    """Naive UTC text with microseconds, as SQLAlchemy's SQLite DateTime stores it."""
    v = require_utc(value)
    return (
        f"{v.year:04d}-{v.month:02d}-{v.day:02d} "
        f"{v.hour:02d}:{v.minute:02d}:{v.second:02d}.{v.microsecond:06d}"
    )


@lru_cache(maxsize=4096)
def _read_time(raw: bytes) -> datetime:
    """Cached: the same stored instants (an account's or order's timestamps) are read by
    request after request, and a datetime is immutable."""
    return datetime.fromisoformat(raw.decode()).replace(tzinfo=UTC)


def dump_json(value: Any) -> str:
    return orjson.dumps(value).decode()


def _read_bool(raw: bytes) -> bool:
    return raw not in (b"0", b"")


sqlite3.register_converter("DATETIME", _read_time)
sqlite3.register_converter("JSON", orjson.loads)
sqlite3.register_converter("BOOLEAN", _read_bool)


def _sqlite_param(value: Any) -> Any:
    if isinstance(value, datetime):
        return sqlite_time(value)
    if isinstance(value, dict | list):
        return dump_json(value)
    return value


_AS_IS = frozenset({str, int, float, bytes, bool, type(None)})


def _sqlite_params(params: Params) -> Mapping[str, Any]:
    """The parameters as sqlite3 binds them; most are bound as they are, and then the
    caller's mapping itself is passed on (sqlite3 only reads it)."""
    if not params:
        return {}
    as_is = _AS_IS
    for value in params.values():
        if type(value) not in as_is:
            return {name: _sqlite_param(value) for name, value in params.items()}
    return params


def _dict_row(cursor: sqlite3.Cursor, row: tuple[Any, ...]) -> dict[str, Any]:
    return {column[0]: value for column, value in zip(cursor.description, row, strict=True)}


class SqliteTx:
    backend: Backend = "sqlite"

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def _execute(self, sql: Sql, params: Params) -> sqlite3.Cursor:
        try:
            return self._conn.execute(sql.sqlite_text, _sqlite_params(params))
        except sqlite3.Error as exc:
            raise translate_sqlite(exc) from exc

    async def one(self, sql: Sql, params: Params = None) -> Row | None:
        cursor = self._execute(sql, params)
        try:
            row: Row | None = cursor.fetchone()
        except sqlite3.Error as exc:
            raise translate_sqlite(exc) from exc
        return row

    async def all(self, sql: Sql, params: Params = None) -> list[Row]:
        cursor = self._execute(sql, params)
        try:
            rows: list[Row] = cursor.fetchall()
        except sqlite3.Error as exc:
            raise translate_sqlite(exc) from exc
        return rows

    async def value(self, sql: Sql, params: Params = None) -> Any:
        cursor = self._execute(sql, params)
        row = cursor.fetchone()
        return None if row is None else next(iter(row.values()))

    async def run(self, sql: Sql, params: Params = None) -> int:
        return self._execute(sql, params).rowcount

    async def run_many(self, sql: Sql, rows: Sequence[Mapping[str, Any]]) -> None:
        if not rows:
            return
        try:
            self._conn.executemany(sql.sqlite_text, [_sqlite_params(r) for r in rows])
        except sqlite3.Error as exc:
            raise translate_sqlite(exc) from exc


class SqliteDatabase:
    """One connection, used on the event loop thread (see the module docstring)."""

    backend: Backend = "sqlite"

    def __init__(self, path: str) -> None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        try:
            conn = sqlite3.connect(
                path,
                timeout=SQLITE_BUSY_TIMEOUT_MS / 1000,
                isolation_level=None,  # we say BEGIN and COMMIT ourselves
                detect_types=sqlite3.PARSE_DECLTYPES,
                check_same_thread=False,  # opened and closed on different loops in tests
            )
            conn.row_factory = _dict_row
            conn.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
            conn.execute("PRAGMA foreign_keys=ON")
            conn.execute("PRAGMA synchronous=NORMAL")
            cursor = conn.cursor()
            try:
                use_wal(cursor)
            finally:
                cursor.close()
        except sqlite3.Error as exc:
            raise translate_sqlite(exc) from exc
        self._conn: sqlite3.Connection | None = conn
        self._lock = asyncio.Lock()
        self._tx = SqliteTx(conn)

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            raise StoreError("the store is closed")
        return self._conn

    def read(self) -> contextlib.AbstractAsyncContextManager[Tx]:
        return _SqliteScope(self, None)

    def autocommit(self) -> contextlib.AbstractAsyncContextManager[Tx]:
        return _SqliteScope(self, None)

    def write(self) -> contextlib.AbstractAsyncContextManager[Tx]:
        return _SqliteScope(self, "BEGIN IMMEDIATE")

    async def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


class _SqliteScope:
    """The connection for one `read`/`autocommit` (each statement commits by itself) or
    one `write` (BEGIN IMMEDIATE .. COMMIT, rolled back if the body raises). The lock keeps
    a statement of one coroutine out of another's open transaction on the shared
    connection; uncontended, taking it never yields."""

    __slots__ = ("_begin", "_db")

    def __init__(self, db: SqliteDatabase, begin: str | None) -> None:
        self._db = db
        self._begin = begin

    async def __aenter__(self) -> Tx:
        db = self._db
        await db._lock.acquire()
        try:
            conn = db._connection()
            if self._begin is not None:
                with timed("sqlite", self._begin):
                    conn.execute(self._begin)
        except sqlite3.Error as exc:
            db._lock.release()
            raise translate_sqlite(exc) from exc
        except BaseException:
            db._lock.release()
            raise
        return listened(db._tx)

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        db = self._db
        try:
            conn = db._conn
            if self._begin is None or conn is None:
                return
            if exc_type is not None:
                if conn.in_transaction:
                    with timed("sqlite", "ROLLBACK"):
                        conn.execute("ROLLBACK")
                return
            try:
                with timed("sqlite", "COMMIT"):
                    conn.execute("COMMIT")
            except sqlite3.Error as error:
                if conn.in_transaction:
                    with timed("sqlite", "ROLLBACK"):
                        conn.execute("ROLLBACK")
                raise translate_sqlite(error) from error
        finally:
            db._lock.release()


def use_wal(cursor: Any) -> None:
    """Switch the file to WAL (a persistent setting, so usually already done).

    For both SQLite paths: a `sqlite3` cursor here (rows are dicts) and the DB-API cursor
    of SQLAlchemy's aiosqlite adapter in `store.engine` (rows are tuples). Switching needs
    an exclusive lock and SQLite does not wait for it, so two first connections to a new
    file can race. The loser may go on: a connection that holds the lock ran this earlier
    and switched the file, and every connection follows the file.
    """
    cursor.execute("PRAGMA journal_mode")
    row = cursor.fetchone()
    mode = next(iter(row.values())) if isinstance(row, Mapping) else row[0]
    if str(mode).lower() == "wal":
        return
    try:
        cursor.execute("PRAGMA journal_mode=WAL")
    except Exception as exc:  # sqlite3.OperationalError, which the async adapter raises too
        if "locked" not in str(exc):
            raise
