"""The README's "Try it on one machine", run as it is written, so it cannot rot.

The fenced `sh` block after `<!-- trial: server -->` is started in the background, and the
blocks after `<!-- trial: client -->` are run in order in one bash (`set -euo pipefail`, so
their shell function and variables carry over and any failing command fails the test), both
in a fresh directory where `.venv` is this interpreter's virtualenv, as in the repository.
Two things differ from a reader's run, so that tests can run side by side: the server gets
free ports through KMS_PORT and KMS_HTTP01_PORT, and the client blocks get the same ports in
place of 8443 and 5002. Everything stays on loopback: the clients talk to
https://localhost:<port>, the server validates through the trial's DNS on 127.0.0.1.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import ssl
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from testkit.kms_process import free_port
from testkit.postgres import in_ci

README = Path(__file__).resolve().parents[2] / "README.md"
BLOCK = re.compile(r"<!-- trial: (server|client) -->\n```sh\n(.*?)\n```", re.DOTALL)
README_PORT = "localhost:8443"
README_HTTP01_PORT = re.compile(r"\b5002\b")
START_TIMEOUT = 60.0
CLIENTS_TIMEOUT = 150.0


def trial_blocks() -> tuple[str, list[str]]:
    """(the server command, the client blocks in README order)."""
    blocks = BLOCK.findall(README.read_text())
    servers = [text for kind, text in blocks if kind == "server"]
    clients = [text for kind, text in blocks if kind == "client"]
    assert len(servers) == 1, "README: exactly one <!-- trial: server --> block"
    assert clients, "README: no <!-- trial: client --> block"
    return servers[0], clients


def _require(program: str, path: str | None) -> str:
    if path is not None and os.access(path, os.X_OK):
        return path
    message = f"{program} not installed (the README's trial uses it)"
    if in_ci():
        pytest.fail(f"{message}; CI is set, so this fails instead of skipping", pytrace=False)
    pytest.skip(message)


def _environment(port: int, http01_port: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KMS_", "REQUESTS_CA"))}
    return {**env, "KMS_PORT": str(port), "KMS_HTTP01_PORT": str(http01_port)}


def _wait_ready(server: subprocess.Popen[bytes], workdir: Path, port: int, log: Path) -> None:
    bundle = workdir / "data" / "ca-bundle.pem"
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise AssertionError(f"the trial server exited {server.returncode}:\n{log.read_text()}")
        if bundle.exists():
            try:
                trust = ssl.create_default_context(cafile=str(bundle))
                url = f"https://localhost:{port}/healthz"
                if httpx.get(url, verify=trust, timeout=2).status_code == 200:
                    return
            except (httpx.HTTPError, ssl.SSLError, OSError):
                pass
        time.sleep(0.2)
    raise AssertionError(f"the trial server was not ready in {START_TIMEOUT}s:\n{log.read_text()}")


def _stop(server: subprocess.Popen[bytes]) -> None:
    """SIGINT (Ctrl-C, as the README says) to the process group this test started."""
    if server.poll() is None:
        os.killpg(server.pid, signal.SIGINT)
    try:
        server.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait(timeout=10)


def test_the_readme_trial_runs_as_written(tmp_path: Path) -> None:
    server_command, client_blocks = trial_blocks()
    venv = Path(sys.prefix)
    _require("certbot", str(venv / "bin" / "certbot"))
    for program in ("lego", "jq", "openssl"):
        _require(program, shutil.which(program))
    clients = "\n".join(client_blocks)
    assert README_PORT in clients and README_HTTP01_PORT.search(clients), (
        "the client blocks no longer name localhost:8443 and port 5002; update this test"
    )
    port, http01_port = free_port(), free_port()
    clients = README_HTTP01_PORT.sub(
        str(http01_port), clients.replace(README_PORT, f"localhost:{port}")
    )
    workdir = tmp_path / "kms"
    workdir.mkdir()
    (workdir / ".venv").symlink_to(venv, target_is_directory=True)
    env = _environment(port, http01_port)
    log = tmp_path / "server.log"
    with log.open("wb") as out:
        server = subprocess.Popen(
            ["bash", "-c", server_command],
            cwd=workdir,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, for _stop
        )
    try:
        _wait_ready(server, workdir, port, log)
        result = subprocess.run(
            ["bash", "-c", "set -euo pipefail\n" + clients],
            cwd=workdir,
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=CLIENTS_TIMEOUT,
        )
    finally:
        _stop(server)
    output = f"--- stdout\n{result.stdout}\n--- stderr\n{result.stderr}"
    assert result.returncode == 0, f"{output}\n--- server\n{log.read_text()}"
    assert result.stdout.count(": OK\n") == 2, output  # both openssl verify lines
    assert "Account registered" in result.stdout + result.stderr, output  # with EAB
    revoked = [line.split("\t") for line in result.stdout.splitlines() if "\trevoked\t" in line]
    assert [row[1] for row in revoked] == ["web.test"], output  # kms cert list: ID, CN, ...
    banner = log.read_text()
    assert "TRIAL MODE" in banner
    assert f"HTTP-01 validation connects to port {http01_port}" in banner
    assert "Default profile 'default': any name, no EAB, no max TTL" in banner
