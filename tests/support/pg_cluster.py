"""A PostgreSQL cluster of a test's own, on its own port in a temporary directory, that the
test may stop and start (the shared server on 5432 is never touched). Made with the
server's own initdb and pg_ctl; run as the `postgres` user when the test runs as root
(initdb refuses root). `available()` says why not when this machine has no binaries."""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from testkit.kms_process import free_port


def _bin_dir() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def available() -> str | None:
    """None if a cluster can be made here, else the reason it cannot."""
    if _bin_dir() is None:
        return "no PostgreSQL server binaries (initdb, pg_ctl) on this machine"
    if os.geteuid() == 0 and shutil.which("runuser") is None:
        return "running as root without runuser to become the postgres user"
    return None


@dataclass
class PgCluster:
    directory: Path
    port: int
    bin_dir: Path

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *args: str) -> None:
        command = [str(self.bin_dir / args[0]), *args[1:]]
        if os.geteuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=True, capture_output=True, timeout=120)

    def start(self) -> None:
        self._run(
            "pg_ctl",
            "-D",
            str(self.directory / "data"),
            "-l",
            str(self.directory / "server.log"),
            "-o",
            f"-p {self.port} -k {self.directory} -c listen_addresses=127.0.0.1 -c fsync=off",
            "-w",
            "start",
        )

    def stop(self, mode: str = "fast") -> None:
        self._run("pg_ctl", "-D", str(self.directory / "data"), "-m", mode, "-w", "stop")


@contextmanager
def pg_cluster() -> Iterator[PgCluster]:
    """A started cluster (trust auth, user postgres), stopped and deleted afterwards."""
    bin_dir = _bin_dir()
    assert bin_dir is not None, available()
    directory = Path(tempfile.mkdtemp(prefix="kms-pg-"))
    if os.geteuid() == 0:
        shutil.chown(directory, "postgres", "postgres")
    cluster = PgCluster(directory=directory, port=free_port(), bin_dir=bin_dir)
    try:
        cluster._run(
            "initdb", "-D", str(directory / "data"), "-U", "postgres", "-A", "trust", "--no-sync"
        )
        cluster.start()
        try:
            yield cluster
        finally:
            with contextlib.suppress(subprocess.CalledProcessError):  # already stopped
                cluster.stop("immediate")
    finally:
        shutil.rmtree(directory, ignore_errors=True)
