"""What the agent end-to-end tests (test_agent.py) share: the environment a module's tests
run in, the agent's config file, an agent process and the checks of what it leaves on disk."""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml
from cryptography import x509
from cryptography.x509.verification import PolicyBuilder
from cryptography.x509.verification import Store as TrustStore

from agent.keys import key_matches, load_key
from testkit.dns_server import DNSServer
from testkit.event_loop import BackgroundLoop
from testkit.kms_process import KMS, RunningServer, free_port, kms, kms_json, running_server

ACME_NAME = "acme.agent.test"
WAIT = 40.0  # seconds any one expected event may take


@dataclass
class Env:
    server: RunningServer
    http01_port: int
    client_id: str
    client_secret: str
    # An admin identity that inspects the inventory: the agent's own identity (a member)
    # reads only the certificates it issued over REST, not its ACME ones.
    admin_id: str = ""
    admin_secret: str = ""

    def cli(self) -> list[str]:
        return ["--data-dir", str(self.server.data_dir)]

    def record(self, serial: str) -> dict[str, Any]:
        """The server's inventory record of a certificate, over REST (as the admin)."""
        with self.server.client() as http:
            login = http.post(
                "/api/v1/auth/universal-auth/login",
                json={"clientId": self.admin_id, "clientSecret": self.admin_secret},
            )
            token = login.json()["accessToken"]
            response = http.get(
                f"/api/v1/cert-manager/certificates/{serial}",
                headers={"Authorization": f"Bearer {token}"},
            )
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body


def write_config(path: Path, env: Env, certificates: list[dict[str, Any]], **top: Any) -> Path:
    data: dict[str, Any] = {
        "server": {"url": env.server.base_url, "ca-bundle": str(env.server.ca_bundle)},
        "auth": {"client-id": env.client_id, "client-secret-env": "AGENT_TEST_SECRET"},
        "state-dir": str(path.parent / "state"),
        "check-interval": "1s",
        "retry": {"initial-delay": "1s", "max-delay": "2s", "attempts": 3},
        "certificates": certificates,
    }
    data.update(top)
    path.write_text(yaml.safe_dump(data))
    return path


def outputs(directory: Path, name: str) -> dict[str, str]:
    return {
        "certificate": str(directory / f"{name}.crt"),
        "full-chain": str(directory / f"{name}-full.pem"),
        "private-key": str(directory / f"{name}.key"),
    }


class AgentProcess:
    def __init__(
        self, config: Path, env: Env, *extra: str, environment: dict[str, str] | None = None
    ) -> None:
        self.log_path = config.with_name(f"agent-{time.monotonic_ns()}.log")
        with self.log_path.open("w") as log:
            self.process = subprocess.Popen(
                [KMS, "cert-manager", "agent", "--config", str(config), *extra],
                stdout=log,
                stderr=subprocess.STDOUT,
                text=True,
                env={**os.environ, "AGENT_TEST_SECRET": env.client_secret, **(environment or {})},
            )

    def events(self) -> list[dict[str, Any]]:
        lines = self.log_path.read_text().splitlines()
        return [json.loads(line) for line in lines if line.startswith("{")]

    def named(self, event: str, certificate: str | None = None) -> list[dict[str, Any]]:
        return [
            e
            for e in self.events()
            if e["event"] == event and certificate in (None, e.get("certificate"))
        ]

    def wait_for(self, check: Callable[[], bool], what: str, timeout: float = WAIT) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if check():
                return
            if self.process.poll() is not None:
                break
            time.sleep(0.2)
        raise AssertionError(f"agent: no {what} within {timeout}s:\n{self.log_path.read_text()}")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@contextmanager
def agent(config: Path, env: Env, *extra: str) -> Iterator[AgentProcess]:
    process = AgentProcess(config, env, *extra)
    try:
        yield process
    finally:
        process.stop()


def root_of(env: Env) -> x509.Certificate:
    assert env.server.ca_bundle is not None
    return x509.load_pem_x509_certificate(env.server.ca_bundle.read_bytes())


def check_pair(
    env: Env, files: dict[str, str], names: list[str], *, now: bool = True
) -> x509.Certificate:
    """The key signs for the certificate, the full chain starts with it and verifies up to
    the server's root for each name (now; or, with now=False, within the leaf's own
    validity: a pair left by a killed agent may have expired meanwhile), the key is 0600."""
    leaf = x509.load_pem_x509_certificate(Path(files["certificate"]).read_bytes())
    start, end = leaf.not_valid_before_utc, leaf.not_valid_after_utc
    at = datetime.now(UTC) if now else start + (end - start) / 2
    key = load_key(Path(files["private-key"]).read_text())
    assert key_matches(key, leaf), "the private key on disk does not belong to the certificate"
    chain = x509.load_pem_x509_certificates(Path(files["full-chain"]).read_bytes())
    assert chain[0] == leaf
    for name in names:
        verifier = (
            PolicyBuilder()
            .store(TrustStore([root_of(env)]))
            .time(at)
            .build_server_verifier(x509.DNSName(name))
        )
        verifier.verify(leaf, chain[1:])
    assert stat.S_IMODE(os.stat(files["private-key"]).st_mode) == 0o600
    return leaf


def serial_of(path: str) -> str:
    """The certificate's serial as `openssl x509 -noout -serial` prints it, which is how
    the agent's events and status and the server show it."""
    shown = subprocess.run(
        ["openssl", "x509", "-noout", "-serial", "-in", path],
        capture_output=True, text=True, check=True, timeout=60,
    ).stdout.strip()  # fmt: skip
    assert shown.startswith("serial="), shown
    return shown.removeprefix("serial=")


def issued_serials(process: AgentProcess, name: str) -> list[str]:
    return [
        e["serial"]
        for e in process.events()
        if e["event"] in ("certificate.issued", "certificate.renewed")
        and e.get("certificate") == name
    ]


def run_bad(config: Path, env: Env) -> subprocess.CompletedProcess[str]:
    result = kms("cert-manager", "agent", "--config", str(config), "--once", check=False,
                 env={"AGENT_TEST_SECRET": env.client_secret})  # fmt: skip
    assert result.returncode == 2, result
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    return result


@contextmanager
def dns_server() -> Iterator[DNSServer]:
    """A DNS server on loopback that answers ACME_NAME with 127.0.0.1."""
    loop = BackgroundLoop()
    server = loop.run(DNSServer().__aenter__())
    server.add(ACME_NAME, "A", "127.0.0.1")
    try:
        yield server
    finally:
        loop.run(server.__aexit__(None, None, None))
        loop.close()


@contextmanager
def server_env(data_dir: Path, dns: DNSServer) -> Iterator[Env]:
    """A `kms serve` validating through `dns`, with an agent identity and an admin."""
    http01_port = free_port()
    flags = [
        "--http01-port", str(http01_port),
        "--dns-resolver", f"{dns.nameserver[0]}:{dns.nameserver[1]}",
        "--allow-private-validation",
    ]  # fmt: skip
    with running_server(data_dir, *flags) as server:
        identity = kms_json(
            "identity", "create", "--name", "agent", "--all-profiles", "--data-dir", str(data_dir)
        )
        admin = kms_json(
            "identity", "create", "--name", "ops", "--role", "admin", "--data-dir", str(data_dir)
        )
        yield Env(
            server,
            http01_port,
            identity["clientId"],
            identity["clientSecret"],
            admin["clientId"],
            admin["clientSecret"],
        )
