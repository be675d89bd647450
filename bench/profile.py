"""Profile the server with py-spy (a sampling profiler attached from outside, so the server
runs unmodified) during one measured run, and rank the hotspots.

py-spy samples with `--gil`: only the thread holding the GIL, i.e. the one running Python.
Without it, py-spy counted aiosqlite's worker threads, blocked in SimpleQueue.get(), as busy
(two thirds of all samples) while /proc showed those threads using almost no CPU; with it
the samples follow the main thread, which /proc shows doing nearly all the work. Time in C
code that releases the GIL (SQLite's own query execution) is therefore not in the profile;
`coverage` compares the sampled time with the server CPU /proc measured.

`--function` mode: each frame is `function (file:line)`, line being the function's first
line, so the samples of one function add up whatever line they were on. From the raw
(collapsed-stack) output:
- own time: samples whose innermost frame is the function (cProfile's tottime); a sample
  with no Python frame at all (the GIL held by uvloop's or httptools' C code) is
  "(no Python frame)";
- cumulative time: samples with the function anywhere on the stack, once per sample
  (cProfile's cumtime), ranked for the project's own functions only -- library entry frames
  (click, uvicorn.run, asyncio.Runner) sit under every sample and would fill the table.
  SQLAlchemy's asyncio layer runs the database work in greenlets whose stacks py-spy shows
  without the awaiting coroutine, so a handler's cumulative share leaves out most of its
  database time; the "SQLAlchemy in greenlets" phase measures how much that is.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import shutil
import signal
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Final

SAMPLE_RATE: Final = 250  # Hz
ATTACH_WAIT_S: Final = 1.0
STOP_TIMEOUT_S: Final = 30.0
PROJECT: Final = str(Path(__file__).resolve().parent.parent) + "/"
PROJECT_PACKAGES: Final = ("acme_server/", "store/", "ca_core/", "policy/")
NOT_RANKED: Final = ("acme_server/cli/",)  # `kms serve` itself: under every sample
NO_FRAME: Final = ("(no Python frame)", "-")
_STDLIB: Final = re.compile(r"/lib/python3\.\d+/(.*)$")
# Where a sample was, by a function on its stack (first match wins).
PHASES: Final = (
    ("HTTP requests (ASGI app)", ("RequestResponseCycle.run_asgi",)),
    ("validation worker", ("ValidationWorker.",)),
    ("aiosqlite threads", ("_connection_worker_thread",)),
)
GREENLET_PHASE: Final = "SQLAlchemy in greenlets (caller not visible)"
OTHER_PHASE: Final = "event loop and the rest"


def py_spy_path() -> str | None:
    beside = Path(sys.executable).parent / "py-spy"
    if beside.exists():
        return str(beside)
    return shutil.which("py-spy")


@dataclass(frozen=True, slots=True)
class Hotspot:
    function: str
    location: str  # file:line of the function's first line
    samples: int
    share: float  # of all samples

    def as_json(self) -> dict[str, object]:
        return {
            "function": self.function,
            "location": self.location,
            "samples": self.samples,
            "percent": round(100 * self.share, 1),
        }


@dataclass(frozen=True, slots=True)
class Profile:
    samples: int
    own: list[Hotspot]
    cumulative: list[Hotspot]
    by_package: list[tuple[str, float]]  # own time per top-level package or module
    phases: list[tuple[str, float]]
    raw_path: str
    sampled_s: float = 0.0  # samples / rate: GIL-held time py-spy saw
    server_cpu_s: float = 0.0  # what /proc measured over the same run

    def as_json(self) -> dict[str, object]:
        return {
            "samples": self.samples,
            "sample_rate_hz": SAMPLE_RATE,
            "sampled_gil_s": round(self.sampled_s, 2),
            "server_cpu_s": round(self.server_cpu_s, 2),
            "raw_stacks": self.raw_path,
            "own": [h.as_json() for h in self.own],
            "cumulative_project": [h.as_json() for h in self.cumulative],
            "own_by_package_percent": {k: round(100 * v, 1) for k, v in self.by_package},
            "phases_percent": {k: round(100 * v, 1) for k, v in self.phases},
        }


class PySpy:
    """`py-spy record` attached to a running process (and its subprocesses)."""

    def __init__(self, executable: str, pid: int, output: Path) -> None:
        self.executable = executable
        self.pid = pid
        self.output = output
        self.process: asyncio.subprocess.Process | None = None
        self.log = output.with_suffix(".log")

    async def start(self) -> None:
        with self.log.open("wb") as log:
            self.process = await asyncio.create_subprocess_exec(
                self.executable,
                "record",
                "--pid",
                str(self.pid),
                "--subprocesses",
                "--gil",
                "--function",
                "--format",
                "raw",
                "--rate",
                str(SAMPLE_RATE),
                "--output",
                str(self.output),
                stdin=asyncio.subprocess.DEVNULL,
                stdout=log,
                stderr=log,
            )
        await asyncio.sleep(ATTACH_WAIT_S)
        if self.process.returncode is not None:
            raise RuntimeError(f"py-spy exited at once: {self.log.read_text(errors='replace')}")

    async def stop(self) -> None:
        """SIGINT is py-spy's Ctrl-C: it stops sampling and writes the output."""
        if self.process is None or self.process.returncode is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            self.process.send_signal(signal.SIGINT)
        try:
            await asyncio.wait_for(self.process.wait(), STOP_TIMEOUT_S)
        except TimeoutError:
            self.process.kill()
            await self.process.wait()
        if not self.output.exists():
            raise RuntimeError(f"py-spy wrote no profile: {self.log.read_text(errors='replace')}")


def shorten(path: str) -> str:
    """A file path relative to site-packages, the project or the standard library."""
    for marker in ("/site-packages/", "/dist-packages/"):
        if marker in path:
            return path.split(marker, 1)[1]
    if path.startswith(PROJECT):
        return path[len(PROJECT) :]
    stdlib = _STDLIB.search(path)
    return stdlib.group(1) if stdlib else path


def package_of(location: str) -> str:
    """`sqlalchemy/engine/base.py:12` -> sqlalchemy; `uuid.py:3` -> uuid."""
    if location == NO_FRAME[1]:
        return NO_FRAME[0]
    head = location.rsplit(":", 1)[0].split("/", 1)[0]
    return head.removesuffix(".py")


def _split_frame(frame: str) -> tuple[str, str] | None:
    """`function (file:line)` -> (function, shortened file:line); None for other frames
    (py-spy's `process <pid>:"<command>"` label)."""
    if not frame.endswith(")") or " (" not in frame:
        return None
    function, _, location = frame[:-1].rpartition(" (")
    return function, shorten(location)


def _phase(frames: list[tuple[str, str]]) -> str:
    for name, markers in PHASES:
        if any(f[0].startswith(markers) for f in frames):
            return name
    # SQLAlchemy's asyncio layer runs its sync code in a greenlet; py-spy sees that stack
    # on its own, starting in SQLAlchemy, without the coroutine that awaited it.
    if frames and frames[0][1].startswith("sqlalchemy/"):
        return GREENLET_PHASE
    return OTHER_PHASE


def _ranked_in_project(location: str) -> bool:
    return location.startswith(PROJECT_PACKAGES) and not location.startswith(NOT_RANKED)


def analyse(raw_path: Path, top: int = 15) -> Profile:
    """Own and cumulative samples per function from py-spy's raw output."""
    own: Counter[tuple[str, str]] = Counter()
    cumulative: Counter[tuple[str, str]] = Counter()
    phases: Counter[str] = Counter()
    total = 0
    for line in raw_path.read_text(errors="replace").splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = [f for f in (_split_frame(x) for x in stack.split(";")) if f is not None]
        total += count
        own[frames[-1] if frames else NO_FRAME] += count
        for frame in set(frames):
            if _ranked_in_project(frame[1]):
                cumulative[frame] += count
        phases[_phase(frames)] += count

    def share(samples: int) -> float:
        return samples / total if total else 0.0

    def ranked(counter: Counter[tuple[str, str]]) -> list[Hotspot]:
        return [
            Hotspot(function, location, samples, share(samples))
            for (function, location), samples in counter.most_common(top)
        ]

    packages: Counter[str] = Counter()
    for (_, location), samples in own.items():
        packages[package_of(location)] += samples
    return Profile(
        samples=total,
        own=ranked(own),
        cumulative=ranked(cumulative),
        by_package=[(name, share(n)) for name, n in packages.most_common()],
        phases=[(name, share(n)) for name, n in phases.most_common()],
        raw_path=str(raw_path),
        sampled_s=total / SAMPLE_RATE,
    )
