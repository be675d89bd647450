"""The benchmark's output: a plain-text table with the targets next to the measured values,
the target summary, the profile's hotspots, and one JSON document with everything."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

from bench.profile import SAMPLE_RATE, Profile
from bench.stats import RunMeasurement

# The product issue's targets: reported next to the measurements, never asserted.
TARGET_CPU_MS: Final = 3.5  # server CPU per issuance at concurrency 8, SQLite and PostgreSQL
TARGET_CPU_CONCURRENCY: Final = 8
TARGET_P99_MS: Final = 250.0  # p99 flow latency at concurrency 32
TARGET_P99_CONCURRENCY: Final = 32
TARGET_PG_SCALING: Final = 1.7  # --workers 2 / --workers 1 certs/s on PostgreSQL
GENERATOR_BOUND_BUSY: Final = 0.9  # a generator process busier than this sets the pace
MACHINE_BOUND_BUSY: Final = 0.95  # all CPUs this busy: nothing can go faster
NOISY_OTHER_CORES: Final = 0.25  # unrelated processes used this many cores: a noisy run

TARGETS: Final = {
    "server_cpu_ms_per_cert_max": {
        "value": TARGET_CPU_MS,
        "at_concurrency": TARGET_CPU_CONCURRENCY,
        "backends": ["sqlite", "postgresql"],
    },
    "p99_latency_ms_below": {"value": TARGET_P99_MS, "at_concurrency": TARGET_P99_CONCURRENCY},
    "postgresql_workers2_over_workers1_certs_per_s_min": {
        "value": TARGET_PG_SCALING,
        "condition": "the load generator is not the bottleneck",
    },
}


@dataclass(frozen=True, slots=True)
class TargetCheck:
    target: str
    run: str
    measured: float
    limit: float
    met: bool
    caveat: str = ""

    def line(self) -> str:
        verdict = "met" if self.met else "MISSED"
        caveat = f"  [{self.caveat}]" if self.caveat else ""
        return f"  {self.target:<44} {self.run:<26} {self.measured:>8.2f}  {verdict}{caveat}"

    def as_json(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "run": self.run,
            "measured": round(self.measured, 3),
            "limit": self.limit,
            "met": self.met,
            "caveat": self.caveat or None,
        }


def run_name(run: RunMeasurement) -> str:
    tls = " tls" if run.tls else ""
    return f"{run.backend} w{run.workers} c{run.concurrency}{tls}"


def generator_bound(run: RunMeasurement) -> str:
    """Why the load generator or the machine, not the server, may have set the pace ("")."""
    reasons = []
    if run.generator_busy >= GENERATOR_BOUND_BUSY:
        reasons.append(f"generator {100 * run.generator_busy:.0f}% of a core")
    if run.machine_busy >= MACHINE_BOUND_BUSY:
        reasons.append(f"all {run.cpus} CPUs {100 * run.machine_busy:.0f}% busy")
    return ", ".join(reasons)


def _join(*parts: str) -> str:
    return ", ".join(dict.fromkeys(p for p in parts if p))


def noisy(run: RunMeasurement) -> str:
    """Other processes' CPU during the run, when enough to disturb it ("")."""
    if run.other_cores >= NOISY_OTHER_CORES:
        return f"noisy: other processes used {run.other_cores:.2f} cores"
    return ""


def _noisy_pair(one: RunMeasurement, two: RunMeasurement) -> str:
    worst = max(one.other_cores, two.other_cores)
    if worst >= NOISY_OTHER_CORES:
        return f"noisy: other processes used up to {worst:.2f} cores"
    return ""


def _scaling_pairs(runs: Sequence[RunMeasurement]) -> list[tuple[RunMeasurement, RunMeasurement]]:
    """(workers 1, workers 2) PostgreSQL runs at the same concurrency and TLS setting."""
    main = [r for r in runs if not r.label and r.backend == "postgresql"]
    pairs = []
    for two in main:
        if two.workers != 2:
            continue
        for one in main:
            if one.workers == 1 and (one.concurrency, one.tls) == (two.concurrency, two.tls):
                pairs.append((one, two))
    return pairs


def target_checks(runs: Sequence[RunMeasurement]) -> list[TargetCheck]:
    checks: list[TargetCheck] = []
    main = [r for r in runs if not r.label and r.issued > 0]
    for run in main:
        if run.concurrency == TARGET_CPU_CONCURRENCY:
            value = run.server_cpu_ms_per_cert
            checks.append(
                TargetCheck(
                    f"server CPU/cert <= {TARGET_CPU_MS} ms @c{TARGET_CPU_CONCURRENCY}",
                    run_name(run),
                    value,
                    TARGET_CPU_MS,
                    value <= TARGET_CPU_MS,
                    _join(f"{run.polls_per_cert:.1f} polls/cert included", noisy(run)),
                )
            )
    for run in main:
        if run.concurrency == TARGET_P99_CONCURRENCY:
            value = run.latency_ms(99)
            checks.append(
                TargetCheck(
                    f"p99 flow latency < {TARGET_P99_MS:.0f} ms @c{TARGET_P99_CONCURRENCY}",
                    run_name(run),
                    value,
                    TARGET_P99_MS,
                    value < TARGET_P99_MS,
                    _join(generator_bound(run), noisy(run)),
                )
            )
    for one, two in _scaling_pairs(main):
        if one.certs_per_s <= 0:
            continue
        ratio = two.certs_per_s / one.certs_per_s
        bound = _join(generator_bound(one), generator_bound(two), _noisy_pair(one, two))
        checks.append(
            TargetCheck(
                f"PG w2/w1 certs/s >= {TARGET_PG_SCALING}x",
                f"postgresql c{two.concurrency}{' tls' if two.tls else ''}",
                ratio,
                TARGET_PG_SCALING,
                ratio >= TARGET_PG_SCALING,
                f"not a fair test: {bound}" if bound else "generator and machine not saturated",
            )
        )
    return checks


def _target_cell(run: RunMeasurement, runs: Sequence[RunMeasurement]) -> str:
    cells = []
    if run.label:
        return run.label
    if run.issued == 0:
        return "no certificate issued"
    if run.concurrency == TARGET_CPU_CONCURRENCY:
        ok = run.server_cpu_ms_per_cert <= TARGET_CPU_MS
        cells.append(f"CPU<={TARGET_CPU_MS}ms:{'met' if ok else 'MISSED'}")
    if run.concurrency == TARGET_P99_CONCURRENCY:
        ok = run.latency_ms(99) < TARGET_P99_MS
        cells.append(f"p99<{TARGET_P99_MS:.0f}ms:{'met' if ok else 'MISSED'}")
    for one, two in _scaling_pairs(runs):
        if two is run and one.certs_per_s > 0:
            ratio = run.certs_per_s / one.certs_per_s
            cells.append(f"{ratio:.2f}x w1 (>= {TARGET_PG_SCALING}x)")
    bound = generator_bound(run)
    if bound:
        cells.append(f"bound: {bound}")
    if noisy(run):
        cells.append(noisy(run))
    return "; ".join(cells)


COLUMNS: Final = (
    ("run", "<"),
    ("certs", ">"),
    ("err", ">"),
    ("certs/s", ">"),
    ("p50 ms", ">"),
    ("p99 ms", ">"),
    ("srv CPU ms/cert", ">"),
    ("db CPU ms/cert", ">"),
    ("srv us/req", ">"),
    ("req/cert", ">"),
    ("polls/cert", ">"),
    ("srv cores", ">"),
    ("gen CPU ms/cert", ">"),
    ("gen busy", ">"),
    ("machine", ">"),
    ("other cores", ">"),
    ("targets (reported, not asserted)", "<"),
)


def _fmt(value: float, digits: int = 1) -> str:
    return "-" if math.isnan(value) else f"{value:.{digits}f}"


def table(runs: Sequence[RunMeasurement]) -> str:
    rows: list[list[str]] = []
    for run in runs:
        rows.append(
            [
                run_name(run),
                f"{run.issued}/{run.requested}",
                str(run.errors),
                _fmt(run.certs_per_s),
                _fmt(run.latency_ms(50)),
                _fmt(run.latency_ms(99)),
                _fmt(run.server_cpu_ms_per_cert, 2),
                _fmt(run.database_cpu_ms_per_cert, 2),
                _fmt(run.server_cpu_us_per_request, 0),
                _fmt(run.requests_per_cert),
                _fmt(run.polls_per_cert),
                _fmt(run.server_cores, 2),
                _fmt(run.bench_cpu_ms_per_cert, 2),
                f"{100 * run.generator_busy:.0f}%",
                f"{100 * run.machine_busy:.0f}%",
                _fmt(run.other_cores, 2),
                _target_cell(run, runs),
            ]
        )
    headers = [name for name, _ in COLUMNS]
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]

    def line(cells: Sequence[str]) -> str:
        parts = []
        for (_, align), width, cell in zip(COLUMNS, widths, cells, strict=True):
            parts.append(cell.ljust(width) if align == "<" else cell.rjust(width))
        return "  ".join(parts).rstrip()

    out = [line(headers), line(["-" * w for w in widths])]
    out += [line(r) for r in rows]
    return "\n".join(out)


def profile_text(
    profile: Profile, run: RunMeasurement | None, sql: dict[str, Any] | None = None
) -> str:
    out = [
        f"Server profile: py-spy --gil, {profile.samples} samples at {SAMPLE_RATE} Hz"
        + (f" during {run_name(run)} ({run.issued} certificates)" if run else "")
        + f"; raw stacks in {profile.raw_path}",
        f"  sampled GIL-held time {profile.sampled_s:.2f} s"
        + (
            f" of {profile.server_cpu_s:.2f} s server CPU (/proc);"
            " the rest is C code without the GIL (SQLite queries, syscalls) and sampling gaps"
            if profile.server_cpu_s
            else ""
        ),
        "  where: " + ", ".join(f"{name} {100 * share:.1f}%" for name, share in profile.phases),
        "  own time by package (innermost frame): "
        + ", ".join(f"{name} {100 * share:.1f}%" for name, share in profile.by_package[:12]),
    ]
    if sql:
        out.append(
            f"  SQL per certificate (store statements): {sql['statements_per_cert']} statements,"
            f" {sql['transactions_per_cert']} transactions (BEGIN), {sql['commits_per_cert']}"
            f" commits, {sql['rollbacks_per_cert']} rollbacks; most frequent:"
        )
        for statement, per_cert in sql["top_statements_per_cert"].items():
            out.append(f"  {per_cert:>8}  {statement}")
    for title, spots in (
        ("own time (innermost frame, any code)", profile.own),
        ("cumulative time (on the stack; project functions only)", profile.cumulative),
    ):
        out.append(f"  top {len(spots)} by {title}:")
        width = max((len(spot.function) for spot in spots), default=0)
        for rank, spot in enumerate(spots, 1):
            out.append(
                f"  {rank:>4}. {100 * spot.share:5.1f}%  {spot.function:<{width}}  {spot.location}"
            )
    return "\n".join(out)
