"""SQL statement counts from a server started with bench/server_hooks on its PYTHONPATH
(the profile run; the hook is a store statement listener, store/statements.py): ask for a
dump with SIGUSR1, read it, subtract two dumps."""

from __future__ import annotations

import asyncio
import json
import os
import signal
from collections import Counter
from pathlib import Path
from typing import Final

HOOKS_DIR: Final = Path(__file__).resolve().parent / "server_hooks"
DIR_ENV: Final = "BENCH_SQL_COUNTS_DIR"
DUMP_WAIT_S: Final = 5.0


def server_env(counts_dir: Path, inherited_pythonpath: str | None) -> dict[str, str]:
    """The variables that load the hook into `kms serve`."""
    path = str(HOOKS_DIR) + (os.pathsep + inherited_pythonpath if inherited_pythonpath else "")
    return {"PYTHONPATH": path, DIR_ENV: str(counts_dir)}


class SqlCounter:
    def __init__(self, pid: int, counts_dir: Path) -> None:
        self.pid = pid
        self.file = counts_dir / f"{pid}.json"
        self._last_dump = 0

    async def snapshot(self) -> Counter[str]:
        """Signal the server and wait for its next dump (empty if none comes)."""
        os.kill(self.pid, signal.SIGUSR1)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + DUMP_WAIT_S
        while loop.time() < deadline:
            try:
                data = json.loads(self.file.read_text())
            except (OSError, ValueError):
                data = None
            if isinstance(data, dict) and data.get("dump", 0) > self._last_dump:
                self._last_dump = int(data["dump"])
                return Counter({str(k): int(v) for k, v in data["counts"].items()})
            await asyncio.sleep(0.02)
        return Counter()


def per_certificate(
    before: Counter[str], after: Counter[str], certificates: int, top: int = 12
) -> dict[str, object]:
    """Statements, transactions and the most frequent statements, per certificate."""
    delta = after - before
    if certificates <= 0 or not delta:
        return {}
    statements = sum(v for k, v in delta.items() if k not in ("COMMIT", "ROLLBACK"))
    begins = sum(v for k, v in delta.items() if k.startswith("BEGIN"))
    return {
        "statements_per_cert": round(statements / certificates, 1),
        "transactions_per_cert": round(begins / certificates, 1),
        "commits_per_cert": round(delta["COMMIT"] / certificates, 1),
        "rollbacks_per_cert": round(delta["ROLLBACK"] / certificates, 1),
        "top_statements_per_cert": {
            sql: round(n / certificates, 1) for sql, n in delta.most_common(top)
        },
    }
