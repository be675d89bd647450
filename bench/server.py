"""Start and stop `kms serve` for one benchmark configuration, and the throwaway PostgreSQL
database it may use.

The server runs as its own process (its own session, so stopping it reaches uvicorn's
worker processes too), with its log on a file in its temporary data directory, the bench's
rate limits raised through KMS_* variables, and KMS_* variables inherited from the caller's
environment dropped -- a run is configured by the bench's options alone (`--server-env`
adds variables on purpose).
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import os
import secrets
import shutil
import signal
import socket
import ssl
import sys
import tempfile
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import httpx

HOST: Final = "127.0.0.1"
READY_TIMEOUT_S: Final = 60.0
STOP_TIMEOUT_S: Final = 15.0
PG_CONNECT_TIMEOUT_S: Final = 3.0
LOG_TAIL_CHARS: Final = 1500
BENCH_ENV: Final = {
    "KMS_RATE_LIMIT_ORDERS_PER_HOUR": "1000000",
    "KMS_RATE_LIMIT_REQUESTS_PER_SECOND": "1000000",
    "KMS_RATE_LIMIT_FAILED_VALIDATIONS_PER_HOUR": "1000000",
}
PG_ADMIN_URLS: Final = (
    "postgresql://postgres@127.0.0.1:5432/postgres",
    "postgresql://postgres@127.0.0.1:5432/test",
)


class ServerStartError(RuntimeError):
    """The server did not come up; the message ends with the tail of its log."""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def kms_command() -> list[str]:
    """The `kms` entry point of the interpreter running the bench (the project's venv)."""
    script = Path(sys.executable).parent / "kms"
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "from acme_server.cli.main import main; main()"]


@dataclass
class ServerConfig:
    database_url: str | None  # None: SQLite in the data directory
    workers: int
    http01_port: int
    dns_resolver: str  # HOST:PORT
    tls: bool = False
    extra_env: Mapping[str, str] = field(default_factory=dict)


@dataclass
class Server:
    """A running `kms serve`."""

    config: ServerConfig
    process: asyncio.subprocess.Process
    data_dir: Path
    port: int
    log_path: Path

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def scheme(self) -> str:
        return "https" if self.config.tls else "http"

    @property
    def directory_url(self) -> str:
        return f"{self.scheme}://localhost:{self.port}/acme/default/directory"

    def ssl_context(self) -> ssl.SSLContext | bool:
        """What httpx verifies the server with: the CA bundle `kms serve` wrote (TLS)."""
        if not self.config.tls:
            return False
        return ssl.create_default_context(cafile=str(self.data_dir / "ca-bundle.pem"))

    def log_tail(self, chars: int = LOG_TAIL_CHARS) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return text[-chars:]

    def count_in_log(self, needle: str) -> int:
        try:
            return self.log_path.read_text(errors="replace").count(needle)
        except OSError:
            return 0


async def start_server(config: ServerConfig) -> Server:
    """Start `kms serve` and wait until every worker process reported `server ready` and
    /healthz answers."""
    data_dir = Path(tempfile.mkdtemp(prefix="kms-bench-"))
    port = free_port()
    command = [
        *kms_command(),
        "serve",
        "--data-dir",
        str(data_dir),
        "--host",
        HOST,
        "--port",
        str(port),
        "--http01-port",
        str(config.http01_port),
        "--dns-resolver",
        config.dns_resolver,
        "--allow-private-validation",
        "--workers",
        str(config.workers),
    ]
    if not config.tls:
        command.append("--plain-http")
    if config.database_url is not None:
        command += ["--database", config.database_url]
    env = {k: v for k, v in os.environ.items() if not k.startswith("KMS_")}
    env.update(BENCH_ENV)
    env.update(config.extra_env)
    log_path = data_dir / "server.log"
    with log_path.open("wb") as log:
        process = await asyncio.create_subprocess_exec(
            *command,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            env=env,
            start_new_session=True,
        )
    server = Server(config, process, data_dir, port, log_path)
    try:
        await _wait_ready(server)
    except BaseException:
        await stop_server(server)
        raise
    return server


async def _wait_ready(server: Server) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + READY_TIMEOUT_S
    health = f"{server.scheme}://localhost:{server.port}/healthz"
    while loop.time() < deadline:
        if server.process.returncode is not None:
            raise ServerStartError(
                f"kms serve exited with status {server.process.returncode}:\n" + server.log_tail()
            )
        ready = server.count_in_log('"server ready"')
        if ready >= server.config.workers:
            try:
                async with httpx.AsyncClient(
                    verify=server.ssl_context(), trust_env=False, timeout=2.0
                ) as client:
                    if (await client.get(health)).status_code == 200:
                        return
            except (httpx.HTTPError, OSError):
                pass
        await asyncio.sleep(0.1)
    raise ServerStartError(
        f"kms serve was not ready after {READY_TIMEOUT_S:.0f} s:\n" + server.log_tail()
    )


async def stop_server(server: Server, *, keep_data: bool = False) -> int | None:
    """SIGTERM (uvicorn stops its workers), SIGKILL to the server's session if it hangs."""
    process = server.process
    if process.returncode is None:
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(process.wait(), STOP_TIMEOUT_S)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            await process.wait()
    if not keep_data:
        shutil.rmtree(server.data_dir, ignore_errors=True)
    return process.returncode


# -- PostgreSQL --------------------------------------------------------------------------


def _is_loopback(host: str | None) -> bool:
    if host in (None, "", "localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _with_database(url: str, database: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + database, "", ""))


async def _connect(url: str) -> asyncpg.Connection:
    return await asyncpg.connect(url, timeout=PG_CONNECT_TIMEOUT_S)


async def find_pg_admin(candidates: Sequence[str]) -> tuple[str | None, str]:
    """The first admin URL (on a loopback host) that accepts a connection, or None and why
    none did."""
    reasons: list[str] = []
    for url in candidates:
        host = urlsplit(url).hostname
        if not _is_loopback(host):
            reasons.append(f"{host}: not a loopback address, not contacted")
            continue
        try:
            conn = await _connect(url)
        except (OSError, TimeoutError, asyncpg.PostgresError, ValueError) as exc:
            reasons.append(f"{redact(url)}: {type(exc).__name__}: {exc}".strip())
            continue
        await conn.close()
        return url, ""
    return None, "; ".join(reasons)


@contextlib.asynccontextmanager
async def fresh_pg_database(admin_url: str) -> AsyncIterator[str]:
    """CREATE DATABASE kms_bench_<hex>, yield its URL, DROP it afterwards."""
    name = f"kms_bench_{secrets.token_hex(6)}"
    conn = await _connect(admin_url)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    try:
        yield _with_database(admin_url, name)
    finally:
        conn = await _connect(admin_url)
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await conn.close()


def redact(url: str) -> str:
    """The URL without its password, for printing."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))
