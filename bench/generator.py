"""The load generator: `concurrency` workers, each an ACME account on its own keep-alive
connection, taking certificate names from one shared queue until it is empty.

It runs in the bench process (the default), or split over several processes
(`--generator-procs`) when one core cannot keep up with the server; those processes publish
HTTP-01 tokens to the bench's responder over UDP and report their results over a pipe.
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import ssl
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any, Final

from bench.flow import AcmeClient, FlowResult, Http, TokenSink
from bench.loop import run_loop
from bench.procstat import own_cpu_s
from bench.responder import UDPPublisher

REGISTER_CONCURRENCY: Final = 8
HTTP_TIMEOUT_S: Final = 30.0


@dataclass(frozen=True, slots=True)
class LoadSpec:
    directory_url: str
    ca_bundle: str | None  # the server's CA bundle with --tls, else None
    concurrency: int
    poll_interval: float
    flow_timeout: float


def _verify(spec: LoadSpec) -> ssl.SSLContext | bool:
    if spec.ca_bundle is None:
        return False
    return ssl.create_default_context(cafile=spec.ca_bundle)


class Generator:
    def __init__(self, spec: LoadSpec, publish: TokenSink) -> None:
        self.spec = spec
        self.publish = publish
        self.clients: list[AcmeClient] = []

    async def setup(self) -> None:
        """One HTTP client and one ACME account per worker (outside any measured window)."""
        verify = _verify(self.spec)
        for _ in range(self.spec.concurrency):
            http = Http(verify, HTTP_TIMEOUT_S)
            self.clients.append(
                AcmeClient(
                    http=http,
                    directory_url=self.spec.directory_url,
                    poll_interval=self.spec.poll_interval,
                    publish=self.publish,
                    flow_timeout=self.spec.flow_timeout,
                )
            )
        slots = asyncio.Semaphore(REGISTER_CONCURRENCY)

        async def register(client: AcmeClient) -> None:
            async with slots:
                await client.register()

        await asyncio.gather(*(register(c) for c in self.clients))

    async def run(self, names: list[str]) -> list[FlowResult]:
        queue = iter(names)
        results: list[FlowResult] = []

        async def worker(client: AcmeClient) -> None:
            for name in queue:  # one shared iterator: no await between taking names
                results.append(await client.issue(name))

        await asyncio.gather(*(worker(c) for c in self.clients))
        return results

    async def close(self) -> None:
        for client in self.clients:
            await client.http.aclose()


# -- generator processes ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ChildJob:
    spec: LoadSpec
    names: list[str]
    registration_port: int


@dataclass(frozen=True, slots=True)
class ChildReport:
    results: list[FlowResult]
    cpu_s: float


def _child_entry(conn: Connection, job: ChildJob) -> None:
    run_loop(_child(conn, job))


async def _child(conn: Connection, job: ChildJob) -> None:
    publisher = UDPPublisher(job.registration_port)
    generator = Generator(job.spec, publisher)
    try:
        try:
            await generator.setup()
        except Exception as exc:
            conn.send(("failed", f"{type(exc).__name__}: {exc}"))
            return
        conn.send(("ready", None))
        try:
            if await asyncio.to_thread(conn.recv) != "go":
                return
        except EOFError:  # the bench gave up on this run
            return
        cpu_before = own_cpu_s()
        results = await generator.run(job.names)
        conn.send(("done", ChildReport(results, own_cpu_s() - cpu_before)))
    finally:
        await generator.close()
        publisher.close()
        conn.close()


class ChildGenerators:
    """`procs` generator processes sharing the names and the concurrency between them."""

    def __init__(self, spec: LoadSpec, names: list[str], procs: int, registration_port: int):
        self.procs = max(1, min(procs, spec.concurrency))
        context = multiprocessing.get_context("spawn")
        self._conns: list[Connection] = []
        self._processes: list[Any] = []
        for index in range(self.procs):
            share = spec.concurrency // self.procs + (
                1 if index < spec.concurrency % self.procs else 0
            )
            job = ChildJob(
                spec=LoadSpec(
                    spec.directory_url,
                    spec.ca_bundle,
                    share,
                    spec.poll_interval,
                    spec.flow_timeout,
                ),
                names=names[index :: self.procs],
                registration_port=registration_port,
            )
            parent, child = context.Pipe()
            process = context.Process(
                target=_child_entry, args=(child, job), name=f"bench-gen-{index}"
            )
            process.start()
            child.close()
            self._conns.append(parent)
            self._processes.append(process)

    async def wait_ready(self) -> None:
        for conn in self._conns:
            kind, detail = await asyncio.to_thread(conn.recv)
            if kind != "ready":
                raise RuntimeError(f"a generator process failed to start: {detail}")

    def go(self) -> None:
        for conn in self._conns:
            conn.send("go")

    async def results(self) -> list[ChildReport]:
        reports: list[ChildReport] = []
        for conn in self._conns:
            kind, report = await asyncio.to_thread(conn.recv)
            if kind != "done" or not isinstance(report, ChildReport):
                raise RuntimeError(f"a generator process failed: {report}")
            reports.append(report)
        return reports

    async def close(self) -> None:
        for conn in self._conns:
            with contextlib.suppress(OSError):
                conn.close()
        for process in self._processes:
            await asyncio.to_thread(process.join, 10.0)
            if process.is_alive():
                process.terminate()
                await asyncio.to_thread(process.join, 5.0)
