"""The measurement window around one run: wall time, and CPU time read before and after
from /proc for the server's process tree, the PostgreSQL backends serving the bench's
database, this process (the load generator, the HTTP-01 responder and the DNS server) and
the whole machine."""

from __future__ import annotations

import time
from dataclasses import dataclass
from urllib.parse import urlsplit

from bench.procstat import (
    MachineSnapshot,
    TreeSnapshot,
    machine_busy_fraction,
    own_cpu_s,
    surviving_delta,
    tree_delta,
)
from bench.server import Server

PG_PROCESS_NAME = "postgres"


def database_name(server: Server) -> str | None:
    """The PostgreSQL database the server uses, None for SQLite."""
    url = server.config.database_url
    if url is None:
        return None
    return urlsplit(url).path.lstrip("/") or None


def _database_snapshot(database: str | None) -> TreeSnapshot | None:
    if database is None:
        return None
    return TreeSnapshot.take_matching(PG_PROCESS_NAME, f" {database} ")


@dataclass(frozen=True, slots=True)
class Measured:
    wall_s: float
    server_cpu_s: float
    server_split: dict[str, float]
    database_cpu_s: float | None  # PostgreSQL backends of the bench database; None: SQLite
    database_backends_exited: int  # their CPU after the first snapshot is not counted
    bench_cpu_s: float  # this process only; generator processes report their own
    machine_busy: float


@dataclass(frozen=True, slots=True)
class Window:
    server: Server
    server_cpu: TreeSnapshot
    database_cpu: TreeSnapshot | None
    machine: MachineSnapshot
    bench_cpu: float
    started: float

    @classmethod
    def open(cls, server: Server) -> Window:
        return cls(
            server=server,
            server_cpu=TreeSnapshot.take(server.pid),
            database_cpu=_database_snapshot(database_name(server)),
            machine=MachineSnapshot.take(),
            bench_cpu=own_cpu_s(),
            started=time.perf_counter(),
        )

    def close(self) -> Measured:
        ended = time.perf_counter()
        bench_cpu = own_cpu_s()
        server_cpu, split = tree_delta(self.server_cpu, TreeSnapshot.take(self.server.pid))
        database_cpu: float | None = None
        exited = 0
        if self.database_cpu is not None:
            after = _database_snapshot(database_name(self.server))
            assert after is not None
            database_cpu, exited = surviving_delta(self.database_cpu, after)
        return Measured(
            wall_s=ended - self.started,
            server_cpu_s=server_cpu,
            server_split=split,
            database_cpu_s=database_cpu,
            database_backends_exited=exited,
            bench_cpu_s=bench_cpu - self.bench_cpu,
            machine_busy=machine_busy_fraction(self.machine, MachineSnapshot.take()),
        )
