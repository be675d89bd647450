"""`make chaos` (python -m tests.chaos): kill -9 and database restarts under ACME load.

Phase 1, PostgreSQL (a cluster of its own on a free port, never the shared server):
`kms serve --workers 2` under `--threads` flows at once; a worker is killed with SIGKILL
`--kills` times (uvicorn starts a new one), and PostgreSQL is restarted `--pg-restarts`
times on the way. Phase 2, SQLite: the one server process is killed `--sqlite-kills` times
and started again. After each phase the load stops, the run waits out the finalize
timeout, and prints the census: orders by status, active certificates per order, orders
still processing, validation jobs nobody finishes, duplicated and lost certificates, the
answers 5xx (503 while PostgreSQL was down is the expected answer and counted apart),
dropped connections (a killed worker's), and how long the server took to answer again
after PostgreSQL returned. Exit status 1 if anything is stuck, doubled, lost, or a 500.
Loopback only; every wait is bounded.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

from acme_server.services.bootstrap import initialise
from acme_server.services.context import Services
from acme_server.settings import Settings
from testkit.dns_server import DNSServer
from testkit.event_loop import BackgroundLoop
from testkit.http01_responder import HTTP01Responder
from testkit.in_process_server import server_settings
from testkit.kms_process import KMS, free_port
from tests.chaos.census import Census, take_postgres, take_sqlite
from tests.chaos.load import Load
from tests.support.pg_cluster import pg_cluster

KILL_INTERVAL_S = 1.0
START_TIMEOUT_S = 60.0


def _healthy(settings: Settings) -> bool:
    with contextlib.suppress(httpx.HTTPError):
        return httpx.get(f"{settings.base_url}/healthz", timeout=2).status_code == 200
    return False


def _wait_healthy(settings: Settings, timeout: float = START_TIMEOUT_S) -> float:
    started = time.monotonic()
    while not _healthy(settings):
        if time.monotonic() - started > timeout:
            raise SystemExit(f"the server did not answer /healthz within {timeout:.0f} s")
        time.sleep(0.05)
    return time.monotonic() - started


@contextlib.contextmanager
def _server(settings: Settings, log: Path) -> Iterator[subprocess.Popen[bytes]]:
    with log.open("ab") as out:
        process = subprocess.Popen(
            [KMS, "serve"], env={**os.environ, **settings.to_env()}, stdout=out, stderr=out
        )
    try:
        _wait_healthy(settings)
        yield process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _workers(pid: int) -> list[int]:
    children = Path(f"/proc/{pid}/task/{pid}/children")
    with contextlib.suppress(OSError):
        return [int(p) for p in children.read_text().split()]
    return []


async def _initialise(settings: Settings) -> None:
    services = await Services.open(settings)
    try:
        await initialise(services)
    finally:
        await services.close()


def _settle(settings: Settings, take: object, timeout: float) -> tuple[Census, float]:
    """Wait (bounded) until no order is processing; the census then, and the wait."""
    started = time.monotonic()
    while True:
        census = take()  # type: ignore[operator]
        if census.processing == 0 or time.monotonic() - started > timeout:
            return census, time.monotonic() - started
        time.sleep(1)


def _report(name: str, load: Load, census: Census, extra: dict[str, str]) -> bool:
    tally = load.tally
    outage = tally.statuses.get(503, 0)
    five_xx = sum(n for status, n in tally.statuses.items() if status >= 500) - outage
    print(f"\n== {name}")
    for key, value in extra.items():
        print(f"  {key}: {value}")
    print(f"  flows completed: {tally.flows_done}; requests: {sum(tally.statuses.values())}")
    print(f"  orders by status: {dict(sorted(census.by_status.items()))}")
    print(f"  orders by active certificates: {dict(sorted(census.certificates_per_order.items()))}")
    print(
        f"  stuck processing orders: {census.processing}; "
        f"stuck validation jobs: {census.stuck_jobs}"
    )
    print(f"  duplicated: {census.duplicated}; lost: {census.lost}")
    print(f"  5xx other than 503: {five_xx}; 503 during outages: {outage}")
    print(f"  connections dropped by a killed process: {tally.dropped}")
    print(f"  connections refused while no server ran: {tally.refused}")
    for line in tally.server_errors[:10]:
        print(f"    {line}")
    return census.clean and five_xx == 0


def _postgres_phase(
    args: argparse.Namespace,
    base: Path,
    responder: HTTP01Responder,
    dns: DNSServer,
    loop: BackgroundLoop,
) -> bool:
    with pg_cluster() as cluster:
        settings = server_settings(
            base / "pg-data", cluster.url, free_port(), responder.port, dns.nameserver,
            workers=2, finalize_timeout_seconds=args.finalize_timeout,
        )  # fmt: skip
        loop.run(_initialise(settings))
        load = Load(f"{settings.base_url}/acme/default/directory", responder, dns, loop.loop)
        recoveries: list[float] = []
        with _server(settings, base / "pg-server.log") as server:
            threads = load.run(args.threads)
            restarts_at = {
                args.kills * (n + 1) // (args.pg_restarts + 1) for n in range(args.pg_restarts)
            }
            started = time.monotonic()
            for kill in range(args.kills):
                if kill in restarts_at:
                    cluster.stop("fast")
                    time.sleep(1.0)  # the load meets the outage
                    cluster.start()
                    recoveries.append(_wait_healthy(settings))
                workers = _workers(server.pid)
                if workers:
                    os.kill(random.choice(workers), signal.SIGKILL)
                time.sleep(KILL_INTERVAL_S)
            load_seconds = time.monotonic() - started
            load.stop.set()
            for thread in threads:
                thread.join(60)
            census, settled = _settle(
                settings,
                lambda: asyncio.run(take_postgres(cluster.url)),
                args.finalize_timeout + 30,
            )
        return _report(
            "PostgreSQL, kms serve --workers 2",
            load,
            census,
            {
                "worker kills (SIGKILL)": f"{args.kills} in {load_seconds:.0f} s",
                "PostgreSQL restarts": str(args.pg_restarts),
                "answering again after PostgreSQL returned": ", ".join(
                    f"{r:.2f} s" for r in recoveries
                ),
                "processing orders settled after the load": f"{settled:.1f} s",
            },
        )


def _sqlite_phase(
    args: argparse.Namespace,
    base: Path,
    responder: HTTP01Responder,
    dns: DNSServer,
    loop: BackgroundLoop,
) -> bool:
    settings = server_settings(
        base / "sqlite-data", "", free_port(), responder.port, dns.nameserver,
        finalize_timeout_seconds=args.finalize_timeout,
    )  # fmt: skip
    loop.run(_initialise(settings))
    load = Load(f"{settings.base_url}/acme/default/directory", responder, dns, loop.loop)
    threads = load.run(args.threads)
    for _ in range(args.sqlite_kills):
        with _server(settings, base / "sqlite-server.log") as server:
            time.sleep(3.0)
            os.kill(server.pid, signal.SIGKILL)
            server.wait()
    with _server(settings, base / "sqlite-server.log"):
        time.sleep(3.0)
        load.stop.set()
        for thread in threads:
            thread.join(60)
        path = str(settings.data_dir.resolve() / "kms.db")
        census, settled = _settle(settings, lambda: take_sqlite(path), args.finalize_timeout + 30)
    return _report(
        "SQLite, kms serve (one process)",
        load,
        census,
        {
            "server kills (SIGKILL) and restarts": str(args.sqlite_kills),
            "processing orders settled after the load": f"{settled:.1f} s",
        },
    )


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.chaos", description=__doc__)
    parser.add_argument("--kills", type=int, default=100)
    parser.add_argument("--pg-restarts", type=int, default=2)
    parser.add_argument("--sqlite-kills", type=int, default=10)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--finalize-timeout", type=int, default=10)
    parser.add_argument("--only", choices=("postgresql", "sqlite"), help="run one phase")
    parser.add_argument("--keep", action="store_true", help="keep the data and server logs")
    args = parser.parse_args()
    loop = BackgroundLoop()
    responder = loop.run(HTTP01Responder().__aenter__())
    dns = loop.run(DNSServer().__aenter__())
    print(f"chaos: {args.threads} flows at once; finalize timeout {args.finalize_timeout} s")
    tmp = tempfile.mkdtemp(prefix="kms-chaos-")
    try:
        ok = True
        if args.only in (None, "postgresql"):
            ok = _postgres_phase(args, Path(tmp), responder, dns, loop)
        if args.only in (None, "sqlite"):
            ok = _sqlite_phase(args, Path(tmp), responder, dns, loop) and ok
    finally:
        if args.keep:
            print(f"data and server logs kept in {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    loop.run(responder.__aexit__(None, None, None))
    loop.run(dns.__aexit__(None, None, None))
    loop.close()
    print("\nchaos:", "clean" if ok else "FAILED")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
