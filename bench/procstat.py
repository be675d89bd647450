"""CPU time from /proc (proc(5)): per process tree and for the whole machine.

The server's CPU is utime+stime (fields 14-15 of /proc/<pid>/stat, in clock ticks) summed
over the server process and every live descendant -- `uvicorn --workers N` serves from child
processes, so the parent alone would read nearly zero. cutime+cstime (fields 16-17) are added
too: they hold the CPU of descendants that exited and were reaped, so a worker that dies
mid-run still counts. Live children are not in their parent's cutime, so nothing counts twice.
Threads (aiosqlite runs one per connection) are inside their process's utime/stime.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

PROC: Final = Path("/proc")
CLOCK_TICKS: Final = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True, slots=True)
class ProcCPU:
    pid: int
    ppid: int
    name: str
    own_s: float  # utime + stime
    reaped_children_s: float  # cutime + cstime


def read_stat(pid: int) -> ProcCPU | None:
    """One process's CPU, or None if it is gone."""
    try:
        text = (PROC / str(pid) / "stat").read_text()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    # The command name (field 2) is in parentheses and may itself hold spaces or ')'.
    name = text[text.index("(") + 1 : text.rindex(")")]
    rest = text[text.rindex(")") + 2 :].split()
    # rest[0] is field 3 (state): field n is rest[n - 3].
    ppid = int(rest[1])
    utime, stime, cutime, cstime = (int(v) for v in rest[11:15])
    return ProcCPU(
        pid=pid,
        ppid=ppid,
        name=name,
        own_s=(utime + stime) / CLOCK_TICKS,
        reaped_children_s=(cutime + cstime) / CLOCK_TICKS,
    )


def process_tree(root: int) -> list[ProcCPU]:
    """`root` and all its live descendants (found by walking every /proc/<pid>/stat)."""
    stats: dict[int, ProcCPU] = {}
    for entry in PROC.iterdir():
        if entry.name.isdigit():
            stat = read_stat(int(entry.name))
            if stat is not None:
                stats[stat.pid] = stat
    if root not in stats:
        return []
    children: dict[int, list[int]] = {}
    for stat in stats.values():
        children.setdefault(stat.ppid, []).append(stat.pid)
    tree: list[ProcCPU] = []
    pending = [root]
    while pending:
        pid = pending.pop()
        tree.append(stats[pid])
        pending.extend(children.get(pid, []))
    return tree


def matching_processes(name: str, needle: str) -> list[ProcCPU]:
    """Processes called `name` whose command line holds `needle`: the PostgreSQL backends
    serving one database show it in their process title ("postgres: ... user db host")."""
    found: list[ProcCPU] = []
    for entry in PROC.iterdir():
        if not entry.name.isdigit():
            continue
        stat = read_stat(int(entry.name))
        if stat is None or stat.name != name:
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if needle in cmdline:
            found.append(stat)
    return found


@dataclass(frozen=True, slots=True)
class TreeSnapshot:
    """CPU seconds of a process tree at one moment, per pid."""

    per_pid: dict[int, ProcCPU] = field(default_factory=dict)

    @classmethod
    def take(cls, root: int) -> TreeSnapshot:
        return cls({p.pid: p for p in process_tree(root)})

    @classmethod
    def take_matching(cls, name: str, needle: str) -> TreeSnapshot:
        return cls({p.pid: p for p in matching_processes(name, needle)})

    @property
    def total_s(self) -> float:
        return sum(p.own_s + p.reaped_children_s for p in self.per_pid.values())


def tree_delta(before: TreeSnapshot, after: TreeSnapshot) -> tuple[float, dict[str, float]]:
    """Total CPU seconds the tree spent between two snapshots, and the split per process
    ("pid name": seconds, own time only) for processes that were alive at the end."""
    split: dict[str, float] = {}
    for pid, now in after.per_pid.items():
        then = before.per_pid.get(pid)
        spent = now.own_s - (then.own_s if then is not None else 0.0)
        split[f"{pid} {now.name}"] = round(spent, 3)
    return after.total_s - before.total_s, split


def surviving_delta(before: TreeSnapshot, after: TreeSnapshot) -> tuple[float, int]:
    """CPU seconds spent between the snapshots by processes alive at the end (new ones
    counted whole), and how many processes of `before` exited -- their last CPU is lost.
    For process sets whose parent is not in the set (PostgreSQL backends: the postmaster
    reaps them), where tree_delta's totals would go negative when one exits."""
    spent = 0.0
    for pid, now in after.per_pid.items():
        then = before.per_pid.get(pid)
        spent += now.own_s - (then.own_s if then is not None else 0.0)
    exited = sum(1 for pid in before.per_pid if pid not in after.per_pid)
    return spent, exited


@dataclass(frozen=True, slots=True)
class MachineSnapshot:
    """The first line of /proc/stat: busy and total jiffies over all CPUs."""

    busy: int
    total: int

    @classmethod
    def take(cls) -> MachineSnapshot:
        with (PROC / "stat").open() as fh:
            fields = [int(v) for v in fh.readline().split()[1:]]
        # user nice system idle iowait irq softirq steal (guest is inside user already)
        idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
        total = sum(fields[:8])
        return cls(busy=total - idle, total=total)


def machine_busy_fraction(before: MachineSnapshot, after: MachineSnapshot) -> float:
    """The share of all CPUs' time that was busy between the snapshots (0..1)."""
    total = after.total - before.total
    return (after.busy - before.busy) / total if total > 0 else 0.0


def own_cpu_s() -> float:
    """This process's CPU seconds so far (all threads), as /proc counts them."""
    times = os.times()
    return times.user + times.system
