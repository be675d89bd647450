"""Run the real `kms` command and server process, for end-to-end tests, bench and conformance."""

from __future__ import annotations

import json
import os
import signal
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

KMS = str(Path(sys.executable).with_name("kms"))
START_TIMEOUT = 60.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def kms(
    *args: str, env: dict[str, str] | None = None, check: bool = True
) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [KMS, *args], capture_output=True, text=True, env={**os.environ, **(env or {})}, timeout=120
    )
    if check and result.returncode != 0:
        raise AssertionError(f"kms {' '.join(args)} exited {result.returncode}: {result.stderr}")
    return result


def kms_json(*args: str, env: dict[str, str] | None = None) -> Any:
    return json.loads(kms(*args, "--json", env=env).stdout)


@dataclass
class RunningServer:
    base_url: str
    data_dir: Path
    ca_bundle: Path | None
    process: subprocess.Popen[str]
    log_path: Path

    def client(self) -> httpx.Client:
        if self.ca_bundle is None:
            return httpx.Client(base_url=self.base_url)
        trust = ssl.create_default_context(cafile=str(self.ca_bundle))
        return httpx.Client(base_url=self.base_url, verify=trust)

    def log(self) -> str:
        return self.log_path.read_text()


@contextmanager
def running_server(
    data_dir: Path,
    *extra: str,
    database: str | None = None,
    port: int | None = None,
    env: dict[str, str] | None = None,
) -> Iterator[RunningServer]:
    port = port or free_port()
    plain = "--plain-http" in extra
    args = [
        KMS,
        "serve",
        "--data-dir",
        str(data_dir),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        *extra,
    ]
    if database:
        args += ["--database", database]
    log_path = data_dir.parent / f"server-{port}.log"
    with log_path.open("w") as log_file:
        process = subprocess.Popen(
            args,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            text=True,
            env={**os.environ, **(env or {})},
        )
    scheme = "http" if plain else "https"
    server = RunningServer(
        base_url=f"{scheme}://localhost:{port}",
        data_dir=data_dir,
        ca_bundle=None if plain else data_dir / "ca-bundle.pem",
        process=process,
        log_path=log_path,
    )
    try:
        _wait_ready(server)
        yield server
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_ready(server: RunningServer) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    last_error = ""
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise AssertionError(f"server exited {server.process.returncode}:\n{server.log()}")
        if server.ca_bundle is None or server.ca_bundle.exists():
            try:
                with server.client() as client:
                    if client.get("/healthz", timeout=2).status_code == 200:
                        return
            except httpx.HTTPError as exc:
                last_error = repr(exc)
        time.sleep(0.2)
    raise AssertionError(f"server not ready after {START_TIMEOUT}s ({last_error}):\n{server.log()}")
