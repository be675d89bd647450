"""Counts the SQL a `kms serve` process runs, for the bench's profile run only.

The bench puts this directory on the server's PYTHONPATH (with BENCH_SQL_COUNTS_DIR set), so
Python imports it at start-up: it wraps the store's driver layer (store/db.py) so that every
statement a transaction runs (`one`, `all`, `value`, `run`, `run_many`: one count each, by
its `:name` text) and every transaction's BEGIN, COMMIT or ROLLBACK is counted, and on
SIGUSR1 writes the counts so far to BENCH_SQL_COUNTS_DIR/<pid>.json. Only what reaches the
database is counted: a PostgreSQL read runs without BEGIN/COMMIT, so it adds none.
Alembic's migrations at start-up run through SQLAlchemy and are not counted. Nothing in the
server's code changes; without BENCH_SQL_COUNTS_DIR it does nothing.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import re
import signal
from collections import Counter
from collections.abc import AsyncIterator, Callable, Coroutine
from pathlib import Path
from types import FrameType
from typing import Any

_DIR = os.environ.get("BENCH_SQL_COUNTS_DIR")
_SPACES = re.compile(r"\s+")
_counts: Counter[str] = Counter()
_dumps = 0

_STATEMENT_METHODS = ("one", "all", "value", "run", "run_many")

TxMethod = Callable[..., Coroutine[Any, Any, Any]]
Transaction = Callable[[Any], contextlib.AbstractAsyncContextManager[Any]]


def _counted_statement(original: TxMethod) -> TxMethod:
    @functools.wraps(original)
    async def method(self: Any, sql: Any, *args: Any, **kwargs: Any) -> Any:
        # Sql.text is a str made once per statement (its hash cached): one dict update.
        _counts[sql.text] += 1
        return await original(self, sql, *args, **kwargs)

    return method


def _counted_transaction(original: Transaction, begin: str) -> Transaction:
    @functools.wraps(original)
    @contextlib.asynccontextmanager
    async def transaction(self: Any) -> AsyncIterator[Any]:
        async with original(self) as tx:
            _counts[begin] += 1
            try:
                yield tx
            except BaseException:
                _counts["ROLLBACK"] += 1
                raise
            _counts["COMMIT"] += 1  # sent as the block exits

    return transaction


def _install() -> None:
    from store import db, db_postgres

    for tx_class in (db.SqliteTx, db_postgres.PostgresTx):
        for name in _STATEMENT_METHODS:
            setattr(tx_class, name, _counted_statement(getattr(tx_class, name)))
    # What each transaction sends first; PostgresDatabase.read sends no BEGIN at all.
    for db_class, name, begin in (
        (db.SqliteDatabase, "read", "BEGIN"),
        (db.SqliteDatabase, "write", "BEGIN IMMEDIATE"),
        (db_postgres.PostgresDatabase, "write", "BEGIN"),
    ):
        setattr(db_class, name, _counted_transaction(getattr(db_class, name), begin))


def _dump(signum: int, frame: FrameType | None) -> None:
    global _dumps
    assert _DIR is not None
    _dumps += 1
    target = Path(_DIR) / f"{os.getpid()}.json"
    tmp = target.with_suffix(".tmp")
    tidy: Counter[str] = Counter()
    for sql, count in list(_counts.items()):
        tidy[_SPACES.sub(" ", sql.strip())[:120]] += count
    tmp.write_text(json.dumps({"dump": _dumps, "counts": dict(tidy)}))
    tmp.replace(target)


if _DIR:
    _install()
    signal.signal(signal.SIGUSR1, _dump)
