"""The bench's runs: per (backend, workers) a `kms serve` on a fresh data directory (and a
fresh PostgreSQL database), a warm-up, then timed full flows at each concurrency level with
the CPU windows around them; and the SQLite profile run under py-spy with SQL counting."""

from __future__ import annotations

import contextlib
import dataclasses
import itertools
import os
import signal
import sys
import tempfile
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from bench import sqlstats
from bench.dnsserver import WildcardDNS
from bench.flow import FlowResult
from bench.generator import ChildGenerators, Generator, LoadSpec
from bench.options import Options
from bench.profile import Profile, PySpy, analyse, py_spy_path
from bench.responder import Responder
from bench.server import (
    Server,
    ServerConfig,
    ServerStartError,
    find_pg_admin,
    fresh_pg_database,
    start_server,
    stop_server,
)
from bench.stats import RunMeasurement
from bench.window import Window

WARMUP_CONCURRENCY: Final = 4
PROFILE_CONCURRENCY: Final = 8


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


async def run_all(options: Options) -> Results:
    """Every run the options ask for, beside one HTTP-01 responder and one DNS server."""
    async with Responder() as responder, WildcardDNS() as dns:
        bench = Bench(options, responder, dns)
        return await bench.all()
