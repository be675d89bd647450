"""One measured run: what was measured, and the figures derived from it."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from bench.flow import FlowResult

ERROR_SAMPLES = 5


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0-100), linear between closest ranks (numpy's default)."""
    if not values:
        return math.nan
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


@dataclass
class RunMeasurement:
    backend: str  # "sqlite" or "postgresql"
    workers: int
    concurrency: int
    tls: bool
    requested: int
    results: list[FlowResult]
    wall_s: float
    server_cpu_s: float
    server_cpu_split: dict[str, float]
    database_cpu_s: float | None  # PostgreSQL backends of the bench database; None: SQLite
    bench_cpu_s: float  # the load generator, the HTTP-01 responder and the DNS server
    generator_procs: int
    machine_busy: float  # 0..1 over all CPUs
    cpus: int
    label: str = ""  # e.g. "profiled with py-spy"
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> list[FlowResult]:
        return [r for r in self.results if r.ok]

    @property
    def issued(self) -> int:
        return len(self.ok)

    @property
    def errors(self) -> int:
        return len(self.results) - self.issued

    @property
    def certs_per_s(self) -> float:
        return self.issued / self.wall_s if self.wall_s > 0 else 0.0

    def latency_ms(self, q: float) -> float:
        return 1000 * percentile([r.latency_s for r in self.ok], q)

    @property
    def server_cpu_ms_per_cert(self) -> float:
        return 1000 * self.server_cpu_s / self.issued if self.issued else math.nan

    @property
    def database_cpu_ms_per_cert(self) -> float:
        if self.database_cpu_s is None or not self.issued:
            return math.nan
        return 1000 * self.database_cpu_s / self.issued

    @property
    def other_cores(self) -> float:
        """Cores busy with processes that are neither the server, its database backends nor
        the bench: other work on the machine (or PostgreSQL's background processes)."""
        if self.wall_s <= 0:
            return 0.0
        ours = self.server_cpu_s + (self.database_cpu_s or 0.0) + self.bench_cpu_s
        return max(0.0, self.machine_busy * self.cpus - ours / self.wall_s)

    @property
    def bench_cpu_ms_per_cert(self) -> float:
        return 1000 * self.bench_cpu_s / self.issued if self.issued else math.nan

    @property
    def requests(self) -> int:
        return sum(r.requests for r in self.results)

    @property
    def requests_per_cert(self) -> float:
        return sum(r.requests for r in self.ok) / self.issued if self.issued else math.nan

    @property
    def polls_per_cert(self) -> float:
        return sum(r.polls for r in self.ok) / self.issued if self.issued else math.nan

    @property
    def server_cpu_us_per_request(self) -> float:
        return 1e6 * self.server_cpu_s / self.requests if self.requests else math.nan

    @property
    def generator_busy(self) -> float:
        """Mean share of one core each generator process used (1.0: a generator was busy all
        the time, so it, not the server, may have set the pace)."""
        if self.wall_s <= 0:
            return 0.0
        return self.bench_cpu_s / self.wall_s / self.generator_procs

    @property
    def server_cores(self) -> float:
        """Cores the server kept busy on average."""
        return self.server_cpu_s / self.wall_s if self.wall_s > 0 else 0.0

    def error_samples(self) -> list[str]:
        seen: dict[str, int] = {}
        for result in self.results:
            if result.error is not None:
                seen[result.error] = seen.get(result.error, 0) + 1
        ranked = sorted(seen.items(), key=lambda item: -item[1])[:ERROR_SAMPLES]
        return [f"{count}x {error}" for error, count in ranked]

    def as_json(self) -> dict[str, Any]:
        def num(value: float, digits: int = 2) -> float | None:
            return None if math.isnan(value) else round(value, digits)

        return {
            "backend": self.backend,
            "workers": self.workers,
            "concurrency": self.concurrency,
            "tls": self.tls,
            "label": self.label or None,
            "certificates_requested": self.requested,
            "certificates_issued": self.issued,
            "errors": self.errors,
            "error_samples": self.error_samples(),
            "wall_s": num(self.wall_s, 3),
            "certs_per_s": num(self.certs_per_s),
            "latency_ms": {
                "p50": num(self.latency_ms(50)),
                "p90": num(self.latency_ms(90)),
                "p99": num(self.latency_ms(99)),
                "max": num(self.latency_ms(100)),
            },
            "server_cpu_s": num(self.server_cpu_s, 3),
            "server_cpu_ms_per_cert": num(self.server_cpu_ms_per_cert, 3),
            "server_cpu_us_per_request": num(self.server_cpu_us_per_request, 1),
            "server_cpu_per_process_s": self.server_cpu_split,
            "server_cores_busy": num(self.server_cores),
            "database_cpu_s": None if self.database_cpu_s is None else num(self.database_cpu_s, 3),
            "database_cpu_ms_per_cert": num(self.database_cpu_ms_per_cert, 3),
            "requests_per_cert": num(self.requests_per_cert),
            "polls_per_cert": num(self.polls_per_cert),
            "bench_cpu_ms_per_cert": num(self.bench_cpu_ms_per_cert, 3),
            "generator_procs": self.generator_procs,
            "generator_busy": num(self.generator_busy),
            "machine_busy": num(self.machine_busy),
            "other_cores_busy": num(self.other_cores),
            "cpus": self.cpus,
            "notes": self.notes,
        }
