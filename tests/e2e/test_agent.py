"""`kms cert-manager agent`: a real agent process against a real `kms serve` process.

Certificates live seconds: the server backdates notBefore by a minute and counts the TTL
from there, so `ttl: 90s` leaves 30 s after issuance and `renew-before: 22s` makes the
agent renew about 8 s after each issuance. Every pair the agent leaves on disk is checked
with cryptography: the key signs for the certificate, the chain leads to the server's root.
"""

from __future__ import annotations

import itertools
import json
import os
import random
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

import pytest
import yaml
from cryptography import x509
from cryptography.x509.verification import PolicyBuilder
from cryptography.x509.verification import Store as TrustStore

from agent.keys import key_matches, load_key
from tests.acme.harness import BackgroundLoop
from tests.e2e.kms_process import KMS, RunningServer, free_port, kms, kms_json, running_server
from tests.support.dns_server import DNSServer

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


@pytest.fixture(scope="module")
def dns() -> Iterator[DNSServer]:
    loop = BackgroundLoop()
    server = loop.run(DNSServer().__aenter__())
    server.add(ACME_NAME, "A", "127.0.0.1")
    try:
        yield server
    finally:
        loop.run(server.__aexit__(None, None, None))
        loop.close()


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory, dns: DNSServer) -> Iterator[Env]:
    data_dir = tmp_path_factory.mktemp("agent-server") / "data"
    http01_port = free_port()
    flags = [
        "--http01-port", str(http01_port),
        "--dns-resolver", f"{dns.nameserver[0]}:{dns.nameserver[1]}",
        "--allow-private-validation",
    ]  # fmt: skip
    with running_server(data_dir, *flags) as server:
        identity = kms_json("identity", "create", "--name", "agent", "--data-dir", str(data_dir))
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


def check_pair(env: Env, files: dict[str, str], names: list[str]) -> x509.Certificate:
    """The key signs for the certificate, the full chain starts with it and verifies up to
    the server's root for each name, the key is 0600."""
    leaf = x509.load_pem_x509_certificate(Path(files["certificate"]).read_bytes())
    key = load_key(Path(files["private-key"]).read_text())
    assert key_matches(key, leaf), "the private key on disk does not belong to the certificate"
    chain = x509.load_pem_x509_certificates(Path(files["full-chain"]).read_bytes())
    assert chain[0] == leaf
    for name in names:
        verifier = (
            PolicyBuilder()
            .store(TrustStore([root_of(env)]))
            .time(datetime.now(UTC))
            .build_server_verifier(x509.DNSName(name))
        )
        verifier.verify(leaf, chain[1:])
    assert stat.S_IMODE(os.stat(files["private-key"]).st_mode) == 0o600
    return leaf


def serial_of(path: str) -> str:
    return format(x509.load_pem_x509_certificate(Path(path).read_bytes()).serial_number, "x")


def issued_serials(process: AgentProcess, name: str) -> list[str]:
    return [
        e["serial"]
        for e in process.events()
        if e["event"] in ("certificate.issued", "certificate.renewed")
        and e.get("certificate") == name
    ]


# --- REST enrollment -------------------------------------------------------------------------


def test_api_managed_and_api_csr_issue_renew_and_run_the_hook_once_each(
    env: Env, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    hook_log = tmp_path / "hook.log"
    line = "$KMS_AGENT_CERTIFICATE $KMS_AGENT_EVENT $KMS_AGENT_SERIAL"
    hook = {
        "command": f'echo "{line}" >> {hook_log}',
        "timeout": "10s",
    }
    managed_files = outputs(out, "managed")
    csr_files = outputs(out, "csr") | {"chain": str(out / "csr-chain.pem")}
    managed: dict[str, Any] = {
        "name": "managed",
        "profile": "default",
        "enrollment": "api-managed",
        "common-name": "managed.agent.test",
        "alt-names": ["managed.agent.test"],
        "key-algorithm": "EC_P384",
        "ttl": "90s",
        "renew-before": "22s",
        "revoke-superseded": True,
        "metadata": {"owner": "agent-test"},
        "file-output": managed_files,
        "post-renewal": hook,
    }
    csr: dict[str, Any] = {
        "name": "csr",
        "profile": "default",
        "enrollment": "api-csr",
        "key-algorithm": "RSA_2048",
        "common-name": "csr.agent.test",
        "alt-names": ["csr.agent.test"],
        "ttl": "90s",
        "renew-before": "22s",
        "file-output": csr_files,
        "post-renewal": hook,
    }
    config = write_config(tmp_path / "agent.yaml", env, [managed, csr])
    with agent(config, env) as process:
        process.wait_for(
            lambda: all(len(issued_serials(process, n)) >= 3 for n in ("managed", "csr")),
            "two renewals of each certificate",
        )
        # SIGHUP: the new configuration asks for another name, which is issued at once
        managed["alt-names"] = ["managed.agent.test", "extra.agent.test"]
        write_config(config, env, [managed, csr])
        before = len(issued_serials(process, "managed"))
        process.process.send_signal(signal.SIGHUP)
        process.wait_for(
            lambda: len(issued_serials(process, "managed")) > before, "reissue after SIGHUP"
        )
        assert process.named("config.reloaded")
    assert process.process.returncode == 0, process.log_path.read_text()

    managed_leaf = check_pair(env, managed_files, ["managed.agent.test", "extra.agent.test"])
    csr_leaf = check_pair(env, csr_files, ["csr.agent.test"])
    assert managed_leaf.public_key().key_size == 384  # type: ignore[union-attr]
    chain = x509.load_pem_x509_certificates((out / "csr-chain.pem").read_bytes())
    assert chain and chain[0].subject == csr_leaf.issuer

    # the post-renewal command ran exactly once for every certificate installed
    lines = hook_log.read_text().splitlines()
    for name in ("managed", "csr"):
        serials = issued_serials(process, name)
        ran = [line.split()[2] for line in lines if line.split()[0] == name]
        assert sorted(ran) == sorted(serials), (name, ran, serials)
        assert len(set(serials)) == len(serials)
        events = [line.split()[1] for line in lines if line.split()[0] == name]
        assert events[0] == "issued" and set(events[1:]) == {"renewed"}
        assert serials[-1] == serial_of(f"{out}/{name}.crt")

    # api-csr: the server never saw the key; api-managed: superseded ones are revoked
    csr_record = env.record(serial_of(str(out / "csr.crt")))
    assert csr_record["hasPrivateKey"] is False and csr_record["requestMethod"] == "api_csr"
    managed_serials = issued_serials(process, "managed")
    for old in managed_serials[:-1]:
        record = env.record(old)
        assert (record["status"], record["revocationReason"]) == ("revoked", "SUPERSEDED")
    # renewals of an unchanged configuration go through the server's renew: linked records
    for older, newer in itertools.pairwise(managed_serials[:-1]):
        assert env.record(newer)["renewedFromId"] == env.record(older)["id"]
    assert env.record(managed_serials[-1])["renewedFromId"] is None  # new names: a new issue
    latest = env.record(managed_serials[-1])
    assert latest["status"] == "active" and latest["metadata"] == {"owner": "agent-test"}

    status = kms(
        "cert-manager", "agent", "status", "--config", str(config), "--json",
        env={"AGENT_TEST_SECRET": env.client_secret},
    )  # fmt: skip
    rows = {row["name"]: row for row in json.loads(status.stdout)}
    assert rows["managed"]["serialNumber"] == managed_serials[-1]
    assert rows["managed"]["notAfter"].startswith(
        managed_leaf.not_valid_after_utc.strftime("%Y-%m-%dT%H:%M:%S")
    )
    assert rows["csr"]["nextRenewal"] is not None
    text = kms("cert-manager", "agent", "status", "--config", str(config),
               env={"AGENT_TEST_SECRET": env.client_secret}).stdout  # fmt: skip
    assert "NEXT RENEWAL" in text and managed_serials[-1] in text


def test_api_managed_installs_the_renewal_the_server_made(env: Env, tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    files = outputs(out, "auto")
    cert = {
        "name": "auto",
        "profile": "default",
        "common-name": "auto.agent.test",
        "alt-names": ["auto.agent.test"],
        "ttl": "1h",
        "renew-before": "10m",
        "file-output": files,
    }
    config = write_config(tmp_path / "agent.yaml", env, [cert])
    with agent(config, env) as process:
        process.wait_for(lambda: bool(issued_serials(process, "auto")), "first issuance")
        first = issued_serials(process, "auto")[0]
        renewed = kms_json("cert", "renew", first, *env.cli())  # as the server's scheduler does
        process.wait_for(lambda: len(issued_serials(process, "auto")) >= 2, "the pick-up")
        event = process.named("certificate.renewing", "auto")[-1]
        assert "the server renewed it" in event["reason"]
        assert issued_serials(process, "auto") == [first, renewed["serialNumber"]]
        # one agent per state directory
        second = run_bad(config, env)
        assert f"is in use by another agent (pid {process.process.pid})" in second.stderr
    leaf = check_pair(env, files, ["auto.agent.test"])
    assert format(leaf.serial_number, "x") == renewed["serialNumber"]


def test_kill_9_during_renewals_leaves_a_consistent_pair(env: Env, tmp_path: Path) -> None:
    """RSA-4096 keys take a while to make, and the certificate is due a second after it
    arrives, so the agent is nearly always inside a renewal when it is killed."""
    out = tmp_path / "out"
    out.mkdir()
    files = outputs(out, "busy")
    cert = {
        "name": "busy",
        "profile": "default",
        "enrollment": "api-csr",
        "key-algorithm": "RSA_4096",
        "common-name": "busy.agent.test",
        "alt-names": ["busy.agent.test"],
        "ttl": "70s",
        "renew-before": "9s",
        "file-output": files,
    }
    config = write_config(tmp_path / "agent.yaml", env, [cert])
    rng = random.Random(5)
    serials: set[str] = set()
    for _ in range(4):
        process = AgentProcess(config, env)
        try:
            process.wait_for(lambda: Path(files["certificate"]).exists(), "a certificate")
            time.sleep(rng.uniform(0.5, 2.5))
        finally:
            process.process.send_signal(signal.SIGKILL)
            process.process.wait()
        leaf = check_pair(env, files, ["busy.agent.test"])
        serials.add(format(leaf.serial_number, "x"))
        serials.update(issued_serials(process, "busy"))
    # a last run finds the leftovers of the killed ones and carries on renewing (twice, so
    # that the count below does not hang on how many renewals a loaded machine fitted in
    # between the kills)
    with agent(config, env) as process:
        process.wait_for(lambda: len(issued_serials(process, "busy")) >= 2, "two renewals")
        serials.update(issued_serials(process, "busy"))
    leaf = check_pair(env, files, ["busy.agent.test"])
    serials.add(format(leaf.serial_number, "x"))
    assert len(serials) >= 3  # the agent kept renewing across the kills
    root = tmp_path / "state" / "certs" / "busy"
    assert not [p for p in root.iterdir() if p.name.startswith(".staging-")]


# --- the server goes away --------------------------------------------------------------------


def test_server_down_in_the_renew_window_keeps_the_old_files_then_renews(
    tmp_path: Path,
) -> None:
    data_dir = tmp_path / "data"
    port = free_port()
    out = tmp_path / "out"
    out.mkdir()
    hook_log = tmp_path / "hook.log"
    files = outputs(out, "web")
    cert = {
        "name": "web",
        "profile": "default",
        "common-name": "web.agent.test",
        "alt-names": ["web.agent.test"],
        "ttl": "90s",
        "renew-before": "22s",
        "file-output": files,
        "post-renewal": {"command": f'echo "$KMS_AGENT_SERIAL" >> {hook_log}'},
    }
    with running_server(data_dir, port=port) as server:
        identity = kms_json("identity", "create", "--name", "agent", "--data-dir", str(data_dir))
        env = Env(server, 0, identity["clientId"], identity["clientSecret"])
        config = write_config(tmp_path / "agent.yaml", env, [cert])
        process = AgentProcess(config, env)
        process.wait_for(lambda: bool(issued_serials(process, "web")), "first issuance")
    try:
        first = issued_serials(process, "web")[0]
        # the server is down; the renewal window opens about 8 s after issuance
        process.wait_for(
            lambda: len([e for e in process.named("certificate.failed") if e["transient"]]) >= 3,
            "failed renewal attempts",
        )
        assert serial_of(files["certificate"]) == first
        check_pair(env, files, ["web.agent.test"])
        failures = [e for e in process.named("certificate.failed") if e["transient"]]
        assert all(e["kept"] == first for e in failures)
        status = kms("cert-manager", "agent", "status", "--config", str(config), "--json",
                     env={"AGENT_TEST_SECRET": env.client_secret})  # fmt: skip
        (row,) = json.loads(status.stdout)
        assert row["serialNumber"] == first and row["state"] == "renewal due"
        assert "ConnectError" in row["lastError"]
        delays = [e["retryIn"] for e in failures]
        assert all(0.5 <= d <= 2.0 for d in delays), delays
        with running_server(data_dir, port=port) as server:
            env.server = server
            process.wait_for(lambda: len(issued_serials(process, "web")) >= 2, "the renewal")
            renewed = issued_serials(process, "web")[1]
            assert serial_of(files["certificate"]) == renewed
            check_pair(env, files, ["web.agent.test"])
            process.stop()
    finally:
        process.stop()
    ran = hook_log.read_text().split()
    assert sorted(ran) == sorted(issued_serials(process, "web"))  # once per certificate


# --- bad configurations ----------------------------------------------------------------------


def run_bad(config: Path, env: Env) -> subprocess.CompletedProcess[str]:
    result = kms("cert-manager", "agent", "--config", str(config), "--once", check=False,
                 env={"AGENT_TEST_SECRET": env.client_secret})  # fmt: skip
    assert result.returncode == 2, result
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    return result


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"profile": None}, "certificates[0].profile: is required"),
        ({"profile": "nope"}, "certificates[0].profile: the server has no certificate profile"),
        ({"key-algorithm": "DSA_1024"}, "certificates[0].key-algorithm: unknown key algorithm"),
        ({"file-output": {"certificate": "/sys/kms-agent.crt"}}, "is not writable"),
        ({"file-output": {"certificate": "/nonexistent/dir/a.crt"}}, "does not exist"),
    ],
)
def test_bad_configurations_exit_2_with_one_line(
    env: Env, tmp_path: Path, change: dict[str, Any], message: str
) -> None:
    cert: dict[str, Any] = {
        "name": "bad",
        "profile": "default",
        "enrollment": "api-csr",
        "common-name": "bad.agent.test",
        "file-output": outputs(tmp_path, "bad"),
    }
    for key, value in change.items():
        if value is None:
            cert.pop(key)
        else:
            cert[key] = value
    config = write_config(tmp_path / "agent.yaml", env, [cert])
    result = run_bad(config, env)
    assert message in result.stderr
    assert not (tmp_path / "bad.crt").exists()


def test_refused_credentials_exit_2_and_an_unreachable_server_fails_once(
    env: Env, tmp_path: Path
) -> None:
    cert = {
        "name": "x",
        "profile": "default",
        "common-name": "x.agent.test",
        "file-output": outputs(tmp_path, "x"),
    }
    config = write_config(tmp_path / "agent.yaml", env, [cert])
    refused = kms("cert-manager", "agent", "--config", str(config), "--once", check=False,
                  env={"AGENT_TEST_SECRET": "wrong"})  # fmt: skip
    assert refused.returncode == 2, refused
    assert "auth.client-id: login refused: invalid client credentials" in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1

    config = write_config(
        tmp_path / "agent.yaml",
        env,
        [cert],
        server={"url": f"https://127.0.0.1:{free_port()}", "ca-bundle": str(env.server.ca_bundle)},
        retry={"initial-delay": "1s", "max-delay": "1s", "attempts": 2},
    )
    down = kms("cert-manager", "agent", "--config", str(config), "--once", check=False,
               env={"AGENT_TEST_SECRET": env.client_secret})  # fmt: skip
    assert down.returncode == 1, down
    events = [json.loads(line) for line in down.stderr.splitlines() if line.startswith("{")]
    failed = [e for e in events if e["event"] == "certificate.failed"]
    assert len(failed) == 2 and all(e["transient"] for e in failed)
    assert not (tmp_path / "x.crt").exists()


# --- ACME ------------------------------------------------------------------------------------


def test_acme_with_eab_and_http01_issues_and_renews(env: Env, tmp_path: Path) -> None:
    cli = env.cli()
    cas = kms_json("ca", "list", *cli)
    ca_id = next(ca["id"] for ca in cas if ca["kind"] == "intermediate")
    kms_json("profile", "create", "--slug", "agent-acme", "--policy", "default", "--ca", ca_id,
             "--ttl", "90s", "--eab-required", *cli)  # fmt: skip
    eab = kms_json("eab", "create", "--profile", "agent-acme", *cli)  # single use
    out = tmp_path / "out"
    out.mkdir()
    files = outputs(out, "acme")
    cert = {
        "name": "acme",
        "profile": "agent-acme",
        "enrollment": "acme",
        "key-algorithm": "EC_P256",
        "alt-names": [ACME_NAME],
        "renew-before": "22s",
        "revoke-superseded": True,
        "file-output": files,
        "acme": {
            "eab-kid": eab["kid"],
            "eab-hmac-key-env": "AGENT_TEST_EAB",
            "http01-address": "127.0.0.1",
            "http01-port": env.http01_port,
            "contact": "ops@agent.test",
        },
    }
    config = write_config(tmp_path / "agent.yaml", env, [cert], auth=None)
    environment = {"AGENT_TEST_EAB": eab["hmacKey"], "AGENT_TEST_SECRET": ""}
    once = kms("cert-manager", "agent", "--config", str(config), "--once", env=environment)
    assert once.returncode == 0
    first = check_pair(env, files, [ACME_NAME])
    assert env.record(format(first.serial_number, "x"))["requestMethod"] == "acme"
    account = json.loads((tmp_path / "state" / "certs" / "acme" / "acme-account.json").read_text())
    assert account["account"]["uri"]
    assert stat.S_IMODE(os.stat(tmp_path / "state/certs/acme/acme-account.json").st_mode) == 0o600

    # the daemon renews with the same account (the single-use EAB key is not needed again)
    process = AgentProcess(config, env, environment=environment)
    try:
        process.wait_for(lambda: bool(issued_serials(process, "acme")), "an ACME renewal")
    finally:
        process.stop()
    renewed = check_pair(env, files, [ACME_NAME])
    assert renewed.serial_number != first.serial_number
    old = env.record(format(first.serial_number, "x"))
    assert (old["status"], old["revocationReason"]) == ("revoked", "SUPERSEDED")
