"""Writing files that may hold a private key: owner-only (0600) from the first byte, and
atomic (temporary file in the same directory, fsync, rename), whatever was there before.
write_public does the same for certificates, with a mode others may read (0644)."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

PUBLIC_MODE = 0o644


def write_private(path: Path, data: bytes) -> None:
    """Replace `path` with `data`, mode 0600 even if an older file was more open."""
    _replace(path, data, None)


def write_public(path: Path, data: bytes, mode: int = PUBLIC_MODE) -> None:
    """Replace `path` with `data` (no secrets: certificates), mode `mode` whatever the umask."""
    _replace(path, data, mode)


def _replace(path: Path, data: bytes, mode: int | None) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")  # 0600
    try:
        with os.fdopen(fd, "wb") as fh:
            if mode is not None:
                os.fchmod(fh.fileno(), mode)
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
