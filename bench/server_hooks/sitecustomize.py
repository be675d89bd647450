"""Counts the SQL a `kms serve` process runs, for the bench's profile run only.

The bench puts this directory on the server's PYTHONPATH (with BENCH_SQL_COUNTS_DIR set), so
Python imports it at start-up: it adds a statement listener to the store
(`store.add_statement_listener`, store/statements.py), which counts every statement a
transaction runs (`one`, `all`, `value`, `run`, `run_many`: one count each, by its `:name`
text) and every BEGIN, BEGIN IMMEDIATE, COMMIT or ROLLBACK a transaction sends, and on
SIGUSR1 writes the counts so far to BENCH_SQL_COUNTS_DIR/<pid>.json. Only what reaches the
database is counted: a read (on either backend) runs without BEGIN/COMMIT, so it adds none.
Alembic's migrations at start-up run through SQLAlchemy and are not counted. Nothing in the
server's code changes; without BENCH_SQL_COUNTS_DIR it does nothing.
"""

from __future__ import annotations

import json
import os
import re
import signal
from collections import Counter
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from store import Statement

_DIR = os.environ.get("BENCH_SQL_COUNTS_DIR")
_SPACES = re.compile(r"\s+")
_counts: Counter[str] = Counter()
_dumps = 0


def _count(statement: Statement) -> None:
    # Statement.sql is a str made once per statement (its hash cached): one dict update.
    _counts[statement.sql] += 1


def _install() -> None:
    from store import add_statement_listener

    add_statement_listener(_count)


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
