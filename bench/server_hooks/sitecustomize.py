"""Counts the SQL a `kms serve` process runs, for the bench's profile run only.

The bench puts this directory on the server's PYTHONPATH (with BENCH_SQL_COUNTS_DIR set), so
Python imports it at start-up: it listens to every SQLAlchemy Engine's statements, commits
and rollbacks, and on SIGUSR1 writes the counts so far to BENCH_SQL_COUNTS_DIR/<pid>.json.
Nothing in the server's code changes; without BENCH_SQL_COUNTS_DIR it does nothing.
"""

from __future__ import annotations

import json
import os
import re
import signal
from collections import Counter
from pathlib import Path
from types import FrameType
from typing import Any

_DIR = os.environ.get("BENCH_SQL_COUNTS_DIR")
_SPACES = re.compile(r"\s+")
_counts: Counter[str] = Counter()
_dumps = 0


def _install() -> None:
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    def statement(
        conn: Any, cursor: Any, sql: str, params: Any, context: Any, executemany: bool
    ) -> None:
        # Compiled statements are cached str objects whose hash is cached too: this is one
        # dict update per statement; the text is tidied when dumped.
        _counts[sql] += 1

    def commit(conn: Any) -> None:
        _counts["COMMIT"] += 1

    def rollback(conn: Any) -> None:
        _counts["ROLLBACK"] += 1

    event.listen(Engine, "before_cursor_execute", statement)
    event.listen(Engine, "commit", commit)
    event.listen(Engine, "rollback", rollback)


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
