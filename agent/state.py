"""What the agent keeps beside the certificates: a lock (one agent per state directory) and,
per certificate, `agent-state.json` (next check, consecutive failures, last error) for
`status` to show."""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from agent.config import ConfigError

STATE_FILE = "agent-state.json"
LOCK_FILE = "agent.lock"


@contextlib.contextmanager
def state_lock(state_dir: Path) -> Iterator[None]:
    """One agent per state directory: two would interleave their versions. ConfigError
    naming the holder's pid when another agent (daemon or --once) has it."""
    state_dir.mkdir(parents=True, exist_ok=True, mode=0o755)
    fd = os.open(state_dir / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode("ascii", "replace").strip() or "unknown"
            raise ConfigError(
                f"state-dir: {state_dir} is in use by another agent (pid {holder})"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        yield
    finally:
        os.close(fd)


def state_of(root: Path) -> dict[str, Any]:
    try:
        data: dict[str, Any] = json.loads((root / STATE_FILE).read_text())
    except (OSError, ValueError):
        return {}
    return data


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def save_state(root: Path, *, next_check: datetime, failures: int, last_error: str | None) -> None:
    if not root.is_dir():
        return
    data = {
        "nextCheck": _iso(next_check),
        "failures": failures,
        "lastError": last_error,
        "updatedAt": _iso(datetime.now(UTC)),
    }
    temporary = root / f".{STATE_FILE}.{os.getpid()}"
    temporary.write_text(json.dumps(data))
    os.replace(temporary, root / STATE_FILE)
