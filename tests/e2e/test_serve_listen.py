"""`kms serve` binds its port before it prints or prepares anything: a port another process
holds is one plain line naming it and exit code 2, with no "Serving", "Try" or "ready"."""

from __future__ import annotations

import socket
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from testkit.kms_process import KMS, running_server


@contextmanager
def taken_port() -> Iterator[int]:
    """A loopback port another process (this one) listens on."""
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port: int = holder.getsockname()[1]
        yield port


@pytest.mark.parametrize("workers", ["1", "2"])
def test_a_taken_port_is_one_line_and_exit_code_2(tmp_path: Path, workers: str) -> None:
    data_dir = tmp_path / "data"
    with taken_port() as port:
        result = subprocess.run(
            [KMS, "serve", "--data-dir", str(data_dir), "--port", str(port), "--workers", workers],
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert result.returncode == 2, result.stderr
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert f"cannot listen on 127.0.0.1:{port}: address already in use" in lines[0]
    for never in ("Serving", "Try:", "server ready", "Traceback", "Errno"):
        assert never not in result.stderr
    assert not data_dir.exists()  # refused before anything was set up


def test_ready_follows_the_bound_port(tmp_path: Path) -> None:
    """The lines that say the server serves come once its port is its own, and it answers."""
    with running_server(tmp_path / "data") as server, server.client() as client:
        assert client.get("/healthz").status_code == 200
        log = server.log()
    assert log.index("Serving https://localhost:") < log.index('"server ready"')
