"""`make bench`: full ACME issuance flows against a `kms serve` the bench starts, on SQLite and
PostgreSQL, with 1 and 2 server processes, at concurrency 1, 8 and 32.

For each (backend, workers): start the server on a fresh data directory (and a fresh
PostgreSQL database), warm it up, then per concurrency level create that many accounts
(unmeasured) and time `count` full flows. Around the timed flows the bench reads the
server's CPU time (its process and all descendants, /proc/<pid>/stat), its own CPU time,
and the machine's busy time (/proc/stat). See bench/README.md for how to read the figures.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import itertools
import json
import os
import platform
import signal
import sys
import tempfile
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

from bench import sqlstats
from bench.dnsserver import WildcardDNS
from bench.flow import FlowResult
from bench.generator import ChildGenerators, Generator, LoadSpec
from bench.loop import run_loop
from bench.profile import Profile, PySpy, analyse, py_spy_path
from bench.report import TARGETS, profile_text, run_name, table, target_checks
from bench.responder import Responder
from bench.server import (
    PG_ADMIN_URLS,
    Server,
    ServerConfig,
    ServerStartError,
    find_pg_admin,
    fresh_pg_database,
    redact,
    start_server,
    stop_server,
)
from bench.stats import RunMeasurement
from bench.window import Window

BACKENDS: Final = ("sqlite", "postgresql")
PG_URL_ENV: Final = "KMS_BENCH_PG_URL"
WARMUP_CONCURRENCY: Final = 4
PROFILE_CONCURRENCY: Final = 8


@dataclass
class Options:
    backends: list[str]
    workers: list[int]
    concurrency: list[int]
    count: int
    count_serial: int
    warmup: int
    tls: bool
    poll_interval: float
    flow_timeout: float
    generator_procs: int
    pg_urls: list[str]
    server_env: dict[str, str]
    profile: str  # "off", "on" or "only"
    json_out: Path | None

    def count_for(self, concurrency: int) -> int:
        return self.count_serial if concurrency == 1 else self.count

    def as_json(self) -> dict[str, Any]:
        data = dict(vars(self))
        data["pg_urls"] = [redact(u) for u in self.pg_urls]
        data["json_out"] = str(self.json_out) if self.json_out else None
        return data


@dataclass
class Results:
    runs: list[RunMeasurement] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    failures: list[dict[str, Any]] = field(default_factory=list)
    profile: Profile | None = None
    profile_run: RunMeasurement | None = None
    profile_skipped: str | None = None
    profile_sql: dict[str, Any] = field(default_factory=dict)


def say(message: str) -> None:
    """Progress on stderr, so stdout holds only the table and the JSON document."""
    print(message, file=sys.stderr, flush=True)


def _names(run_id: int, count: int) -> list[str]:
    return [f"c{i}.r{run_id}.bench.test" for i in range(count)]


Hook = Callable[[], Awaitable[None]]


async def _noop() -> None:
    return None


@dataclass
class Bench:
    options: Options
    responder: Responder
    dns: WildcardDNS
    results: Results = field(default_factory=Results)
    _run_ids: itertools.count[int] = field(default_factory=itertools.count)

    def spec(self, server: Server, concurrency: int) -> LoadSpec:
        return LoadSpec(
            directory_url=server.directory_url,
            ca_bundle=str(server.data_dir / "ca-bundle.pem") if server.config.tls else None,
            concurrency=concurrency,
            poll_interval=self.options.poll_interval,
            flow_timeout=self.options.flow_timeout,
        )

    async def warm_up(self, server: Server) -> None:
        if self.options.warmup <= 0:
            return
        generator = Generator(
            self.spec(server, min(WARMUP_CONCURRENCY, self.options.warmup)),
            self.responder.publish,
        )
        try:
            await generator.setup()
            results = await generator.run(_names(next(self._run_ids), self.options.warmup))
        finally:
            await generator.close()
        failed = [r for r in results if not r.ok]
        if failed:
            say(f"  warm-up: {len(failed)}/{len(results)} flows failed, e.g. {failed[0].error}")

    async def measure(
        self,
        server: Server,
        backend: str,
        concurrency: int,
        count: int,
        *,
        label: str = "",
        before: Hook = _noop,
        after: Hook = _noop,
    ) -> RunMeasurement:
        spec = self.spec(server, concurrency)
        names = _names(next(self._run_ids), count)
        procs = min(self.options.generator_procs, concurrency)
        results: list[FlowResult]
        if procs > 1:
            children = ChildGenerators(spec, names, procs, self.responder.registration_port)
            try:
                await children.wait_ready()
                await before()
                start = Window.open(server)
                children.go()
                reports = await children.results()
                window = start.close()
                await after()
            finally:
                await children.close()
            results = [r for report in reports for r in report.results]
            bench_cpu = window.bench_cpu_s + sum(r.cpu_s for r in reports)
        else:
            generator = Generator(spec, self.responder.publish)
            try:
                await generator.setup()
                await before()
                start = Window.open(server)
                results = await generator.run(names)
                window = start.close()
                await after()
            finally:
                await generator.close()
            bench_cpu = window.bench_cpu_s
        run = RunMeasurement(
            backend=backend,
            workers=server.config.workers,
            concurrency=concurrency,
            tls=server.config.tls,
            requested=count,
            results=results,
            wall_s=window.wall_s,
            server_cpu_s=window.server_cpu_s,
            server_cpu_split=window.server_split,
            database_cpu_s=window.database_cpu_s,
            bench_cpu_s=bench_cpu,
            generator_procs=procs,
            machine_busy=window.machine_busy,
            cpus=os.cpu_count() or 1,
            label=label,
        )
        if server.process.returncode is not None:
            run.notes.append(f"the server exited during the run ({server.process.returncode})")
        if window.database_backends_exited:
            run.notes.append(
                f"{window.database_backends_exited} PostgreSQL backends exited during the run;"
                " their CPU after the first snapshot is not in database_cpu_s (a lower bound)"
            )
        return run

    async def configuration(self, backend: str, workers: int, database_url: str | None) -> None:
        """One server: warm-up, then each concurrency level."""
        config = ServerConfig(
            database_url=database_url,
            workers=workers,
            http01_port=self.responder.port,
            dns_resolver=self.dns.nameserver,
            tls=self.options.tls,
            extra_env=self.options.server_env,
        )
        say(f"{backend}, --workers {workers}: starting kms serve")
        try:
            server = await start_server(config)
        except ServerStartError as exc:
            say(f"  the server did not start: {exc}")
            self.results.failures.append(
                {"backend": backend, "workers": workers, "stage": "start", "detail": str(exc)}
            )
            return
        try:
            await self.warm_up(server)
            for concurrency in self.options.concurrency:
                count = self.options.count_for(concurrency)
                say(f"  concurrency {concurrency}: {count} certificates ...")
                run = await self.measure(server, backend, concurrency, count)
                self.results.runs.append(run)
                say(
                    f"    {run.issued} issued, {run.errors} errors"
                    + (
                        f", {run.certs_per_s:.1f}/s, p50 {run.latency_ms(50):.0f} ms,"
                        f" p99 {run.latency_ms(99):.0f} ms,"
                        f" server CPU {run.server_cpu_ms_per_cert:.2f} ms/cert"
                        if run.issued
                        else ""
                    )
                )
                for sample in run.error_samples():
                    say(f"    error: {sample}")
                if server.process.returncode is not None:
                    detail = f"exited with {server.process.returncode}: {server.log_tail()}"
                    self.results.failures.append(
                        {"backend": backend, "workers": workers, "stage": "run", "detail": detail}
                    )
                    say(f"  the server {detail}")
                    break
        finally:
            code = await stop_server(server)
            if code not in (0, -signal.SIGTERM, None):  # uvicorn re-raises the SIGTERM
                say(f"  kms serve stopped with exit status {code}")

    async def profile(self) -> None:
        """One SQLite, --workers 1, concurrency-8 run with py-spy attached to the server."""
        executable = py_spy_path()
        if executable is None:
            self.results.profile_skipped = (
                "py-spy not found (.venv/bin/pip install py-spy to profile)"
            )
            say(f"profile skipped: {self.results.profile_skipped}")
            return
        workdir = Path(tempfile.mkdtemp(prefix="kms-bench-profile-"))
        output = workdir / "server-pyspy.txt"
        config = ServerConfig(
            database_url=None,
            workers=1,
            http01_port=self.responder.port,
            dns_resolver=self.dns.nameserver,
            tls=self.options.tls,
            extra_env={
                **self.options.server_env,
                **sqlstats.server_env(workdir, self.options.server_env.get("PYTHONPATH")),
            },
        )
        say("profile: sqlite, --workers 1, concurrency 8 under py-spy")
        try:
            server = await start_server(config)
        except ServerStartError as exc:
            self.results.profile_skipped = f"the server did not start: {exc}"
            say(f"profile skipped: {self.results.profile_skipped}")
            return
        spy = PySpy(executable, server.pid, output)
        sql = sqlstats.SqlCounter(server.pid, workdir)
        sql_counts: list[Counter[str]] = []

        async def before() -> None:
            sql_counts.append(await sql.snapshot())
            await spy.start()

        async def after() -> None:
            await spy.stop()
            sql_counts.append(await sql.snapshot())

        try:
            await self.warm_up(server)
            run = await self.measure(
                server,
                "sqlite",
                PROFILE_CONCURRENCY,
                self.options.count,
                label="under py-spy + SQL counting (perturbed)",
                before=before,
                after=after,
            )
        except RuntimeError as exc:
            self.results.profile_skipped = f"py-spy failed: {exc}"
            say(f"profile skipped: {self.results.profile_skipped}")
            return
        finally:
            await spy.stop()
            await stop_server(server)
        self.results.profile_run = run
        self.results.profile = dataclasses.replace(analyse(output), server_cpu_s=run.server_cpu_s)
        if len(sql_counts) == 2:
            self.results.profile_sql = sqlstats.per_certificate(
                sql_counts[0], sql_counts[1], run.issued
            )

    async def all(self) -> Results:
        options = self.options
        if options.profile != "only":
            admin: str | None = None
            if "postgresql" in options.backends:
                admin, reason = await find_pg_admin(options.pg_urls)
                if admin is None:
                    message = f"PostgreSQL skipped: not reachable ({reason})"
                    self.results.skipped.append(message)
                    say(message)
            for backend in options.backends:
                if backend == "postgresql" and admin is None:
                    continue
                for workers in options.workers:
                    async with _database(backend, admin) as url:
                        await self.configuration(backend, workers, url)
        if options.profile != "off":
            await self.profile()
        return self.results


@contextlib.asynccontextmanager
async def _database(backend: str, admin_url: str | None) -> AsyncIterator[str | None]:
    if backend == "sqlite" or admin_url is None:
        yield None
        return
    async with fresh_pg_database(admin_url) as url:
        yield url


async def _main(options: Options) -> Results:
    async with Responder() as responder, WildcardDNS() as dns:
        bench = Bench(options, responder, dns)
        return await bench.all()


def document(options: Options, results: Results, started: datetime) -> dict[str, Any]:
    return {
        "benchmark": "kms ACME issuance (full flows, HTTP-01)",
        "started": started.isoformat(timespec="seconds"),
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
        },
        "options": options.as_json(),
        "targets": TARGETS,
        "runs": [r.as_json() for r in results.runs],
        "target_checks": [c.as_json() for c in target_checks(results.runs)],
        "skipped": results.skipped,
        "failures": results.failures,
        "profile": (
            {
                "run": results.profile_run.as_json() if results.profile_run else None,
                **results.profile.as_json(),
                "sql": results.profile_sql or None,
            }
            if results.profile is not None
            else {"skipped": results.profile_skipped or "not requested (--profile)"}
        ),
    }


def print_report(options: Options, results: Results, doc: dict[str, Any]) -> None:
    shown = list(results.runs)
    if results.profile_run is not None:
        shown.append(results.profile_run)
    print()
    print(
        "ACME issuance benchmark: full flows (newOrder .. certificate download), "
        f"{'TLS' if options.tls else 'plain HTTP'}, poll every "
        f"{1000 * options.poll_interval:.0f} ms, {os.cpu_count()} CPUs"
    )
    print()
    if shown:
        print(table(shown))
    notes = [f"  {run_name(run)}: {note}" for run in shown for note in run.notes]
    if notes:
        print("\nNotes:")
        print("\n".join(notes))
    for message in results.skipped:
        print(f"\n{message}")
    for failure in results.failures:
        print(
            f"\n{failure['backend']} --workers {failure['workers']} failed at {failure['stage']}:"
            f"\n{failure['detail']}"
        )
    checks = target_checks(results.runs)
    if checks:
        print("\nTargets (reported against, never asserted):")
        for check in checks:
            print(check.line())
    if results.profile is not None:
        print()
        print(profile_text(results.profile, results.profile_run, results.profile_sql))
    elif options.profile != "off":
        print(f"\nProfile skipped: {results.profile_skipped}")
    print("\nJSON:")
    print(json.dumps(doc, indent=2))


def _csv_ints(text: str) -> list[int]:
    try:
        values = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: expected numbers like 1,8,32") from None
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: expected positive numbers")
    return values


def _backends(text: str) -> list[str]:
    values = [v.strip() for v in text.split(",") if v.strip()]
    unknown = [v for v in values if v not in BACKENDS]
    if unknown or not values:
        raise argparse.ArgumentTypeError(f"backends are {', '.join(BACKENDS)}")
    return values


def _env_pair(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"{text!r}: expected KEY=VALUE")
    return key, value


def parse_args(argv: Sequence[str] | None = None) -> Options:
    parser = argparse.ArgumentParser(
        prog="make bench BENCH_ARGS=...",
        description="Benchmark full ACME issuance flows against a kms server it starts.",
    )
    parser.add_argument("--quick", action="store_true", help="40 certs per run (10 at c1)")
    parser.add_argument("--count", type=int, help="certificates per run at concurrency > 1 (200)")
    parser.add_argument("--count-serial", type=int, help="certificates at concurrency 1 (50)")
    parser.add_argument("--concurrency", type=_csv_ints, default=[1, 8, 32], help="1,8,32")
    parser.add_argument("--workers", type=_csv_ints, default=[1, 2], help="server processes: 1,2")
    parser.add_argument(
        "--backends", type=_backends, default=list(BACKENDS), help="sqlite,postgresql"
    )
    parser.add_argument("--warmup", type=int, help="unmeasured flows after start (16)")
    parser.add_argument("--tls", action="store_true", help="serve HTTPS (TLS in the figures)")
    parser.add_argument(
        "--poll-interval", type=float, default=0.01, help="seconds between polls (0.01)"
    )
    parser.add_argument(
        "--flow-timeout", type=float, default=60.0, help="seconds before a flow counts as failed"
    )
    parser.add_argument(
        "--generator-procs",
        type=int,
        default=1,
        help="load generator processes (1); more when one core cannot keep up with the server",
    )
    parser.add_argument(
        "--pg-url",
        action="append",
        default=None,
        help=f"admin URL to create the bench database with (also ${PG_URL_ENV}; default "
        "postgresql://postgres@127.0.0.1:5432/postgres, then .../test)",
    )
    parser.add_argument(
        "--server-env",
        type=_env_pair,
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="extra environment for kms serve, e.g. KMS_LOG_LEVEL=WARNING",
    )
    profile = parser.add_mutually_exclusive_group()
    profile.add_argument(
        "--profile", action="store_true", help="also profile a SQLite c8 run with py-spy"
    )
    profile.add_argument("--profile-only", action="store_true", help="only the profile run")
    parser.add_argument("--json-out", type=Path, help="also write the JSON document here")
    args = parser.parse_args(argv)
    count = args.count or (40 if args.quick else 200)
    count_serial = args.count_serial or (10 if args.quick else max(1, min(50, count // 4)))
    warmup = args.warmup if args.warmup is not None else (8 if args.quick else 16)
    pg_urls = args.pg_url or (
        [os.environ[PG_URL_ENV]] if os.environ.get(PG_URL_ENV) else list(PG_ADMIN_URLS)
    )
    return Options(
        backends=args.backends,
        workers=args.workers,
        concurrency=args.concurrency,
        count=count,
        count_serial=count_serial,
        warmup=warmup,
        tls=args.tls,
        poll_interval=args.poll_interval,
        flow_timeout=args.flow_timeout,
        generator_procs=max(1, args.generator_procs),
        pg_urls=pg_urls,
        server_env=dict(args.server_env),
        profile="only" if args.profile_only else ("on" if args.profile else "off"),
        json_out=args.json_out,
    )


def main(argv: Sequence[str] | None = None) -> int:
    options = parse_args(argv)
    started = datetime.now(UTC)
    results = run_loop(_main(options))
    doc = document(options, results, started)
    print_report(options, results, doc)
    if options.json_out is not None:
        options.json_out.parent.mkdir(parents=True, exist_ok=True)
        options.json_out.write_text(json.dumps(doc, indent=2) + "\n")
        say(f"JSON written to {options.json_out}")
    return 0
