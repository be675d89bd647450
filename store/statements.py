"""A hook on every SQL statement the store sends, for counting and timing (the bench, metrics).

    def count(statement: Statement) -> None:
        counts[statement.sql] += 1            # or: histogram[statement.kind].observe(...)

    with statement_listener(count):           # or add_statement_listener / remove_...
        await store.get_certificate(cert_id)

A listener is called once per statement, after it ran (or failed), with a `Statement`: its
text, its kind, the backend and its wall time. On both backends that is every `one`, `all`,
`value`, `run` and `run_many` of a scope (one call each; the rows fetched are inside the
time) and every BEGIN, BEGIN IMMEDIATE, COMMIT and ROLLBACK a scope actually sends: a
`read()`/`autocommit()` scope sends none, so it adds none. Statements outside the scopes
(the PRAGMAs at connect, Alembic's migrations through SQLAlchemy) are not reported.

Listeners are process-wide, so a hook loaded before the server builds its store (the
bench's sitecustomize) sees every store the process opens. They are called on the event
loop's thread, inside the statement's scope: they must be quick and must not touch the
store. One that raises is logged and does not fail the statement.

Cheap when nobody listens: a scope checks once, when it opens, whether anyone listens; only
then does it hand out a timing wrapper around its transaction (a listener added while a
scope is open sees that scope's statements from its next one on).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from time import perf_counter
from types import TracebackType
from typing import TYPE_CHECKING, Any, TypeVar

from store.interface import Backend

if TYPE_CHECKING:
    from store.db import Params, Row, Sql, Tx

log = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Statement:
    """One statement the store sent.

    sql: the statement's text with `:name` parameters, as the store writes it (the same str
    object for every run of one statement, so it is a cheap dict key), or BEGIN, BEGIN
    IMMEDIATE, COMMIT, ROLLBACK. seconds: wall time, including the wait for PostgreSQL's
    answer (and, for SQLite's BEGIN IMMEDIATE, for another process's write lock).
    ok: False if it raised."""

    sql: str
    backend: Backend
    seconds: float
    ok: bool = True

    @property
    def kind(self) -> str:
        """The first keyword, upper-cased: SELECT, INSERT, UPDATE, DELETE, WITH, BEGIN,
        COMMIT, ROLLBACK."""
        first = self.sql.split(None, 1)
        return first[0].upper() if first else ""


StatementListener = Callable[[Statement], None]
L = TypeVar("L", bound=StatementListener)

_listeners: tuple[StatementListener, ...] = ()


def add_statement_listener(listener: StatementListener) -> None:
    """Call `listener` for every statement any store of this process sends from now on."""
    global _listeners
    _listeners = (*_listeners, listener)


def remove_statement_listener(listener: StatementListener) -> None:
    """Stop calling `listener` (once per add); a listener never added is ignored."""
    global _listeners
    listeners = list(_listeners)
    with contextlib.suppress(ValueError):
        listeners.remove(listener)
    _listeners = tuple(listeners)


@contextlib.contextmanager
def statement_listener(listener: L) -> Iterator[L]:
    """`listener` added for the block, removed after it."""
    add_statement_listener(listener)
    try:
        yield listener
    finally:
        remove_statement_listener(listener)


def listening() -> bool:
    return bool(_listeners)


def _report(sql: str, backend: Backend, started: float, ok: bool) -> None:
    statement = Statement(sql, backend, perf_counter() - started, ok)
    for listener in _listeners:
        try:
            listener(statement)
        except Exception:
            log.exception("statement listener failed", extra={"listener": repr(listener)})


class _Timed:
    """Times one control statement (BEGIN, COMMIT, ROLLBACK) of a scope."""

    __slots__ = ("_backend", "_sql", "_started")

    def __init__(self, backend: Backend, sql: str) -> None:
        self._backend = backend
        self._sql = sql
        self._started = 0.0

    def __enter__(self) -> None:
        self._started = perf_counter()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        _report(self._sql, self._backend, self._started, exc_type is None)


_UNTIMED = contextlib.nullcontext()


def timed(backend: Backend, sql: str) -> contextlib.AbstractContextManager[None]:
    """`with timed(backend, "COMMIT"): <send it>`: reported if anyone listens."""
    return _Timed(backend, sql) if _listeners else _UNTIMED


def listened(tx: Tx) -> Tx:
    """`tx`, or a wrapper reporting each of its statements if anyone listens."""
    return _ListenedTx(tx) if _listeners else tx


class _ListenedTx:
    """A scope's transaction whose every statement is timed and reported."""

    __slots__ = ("_tx", "backend")

    def __init__(self, tx: Tx) -> None:
        self._tx = tx
        self.backend: Backend = tx.backend

    async def _timed(self, sql: Sql, running: Awaitable[T]) -> T:
        started = perf_counter()
        ok = False
        try:
            result = await running
            ok = True
            return result
        finally:
            _report(sql.text, self.backend, started, ok)

    async def one(self, sql: Sql, params: Params = None) -> Row | None:
        return await self._timed(sql, self._tx.one(sql, params))

    async def all(self, sql: Sql, params: Params = None) -> list[Row]:
        return await self._timed(sql, self._tx.all(sql, params))

    async def value(self, sql: Sql, params: Params = None) -> Any:
        return await self._timed(sql, self._tx.value(sql, params))

    async def run(self, sql: Sql, params: Params = None) -> int:
        return await self._timed(sql, self._tx.run(sql, params))

    async def run_many(self, sql: Sql, rows: Sequence[Mapping[str, Any]]) -> None:
        if not rows:  # nothing is sent
            return await self._tx.run_many(sql, rows)
        await self._timed(sql, self._tx.run_many(sql, rows))
