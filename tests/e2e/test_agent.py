"""`kms cert-manager agent`: a real agent process against a real `kms serve` process.

Certificates live seconds: the TTL counts from issuance and the server backdates notBefore
by a minute on top, so `ttl: 30s` leaves 30 s after issuance (a 90 s lifetime) and
`renew-before: 22s` makes the agent renew about 8 s after each issuance. Every pair the
agent leaves on disk is checked with cryptography: the key signs for the certificate, the
chain leads to the server's root.
"""

from __future__ import annotations

import itertools
import json
import os
import random
import signal
import stat
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509

from agent.files import serial_text
from testkit.dns_server import DNSServer
from testkit.kms_process import free_port, kms, kms_json
from tests.e2e.agent_support import (
    ACME_NAME,
    AgentProcess,
    Env,
    agent,
    check_pair,
    dns_server,
    issued_serials,
    outputs,
    run_bad,
    serial_of,
    server_env,
    write_config,
)


@pytest.fixture(scope="module")
def dns() -> Iterator[DNSServer]:
    with dns_server() as server:
        yield server


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory, dns: DNSServer) -> Iterator[Env]:
    with server_env(tmp_path_factory.mktemp("agent-server") / "data", dns) as running:
        yield running


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
        "ttl": "30s",
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
        "ttl": "30s",
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
    assert serial_text(leaf.serial_number) == renewed["serialNumber"]


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
        "ttl": "10s",
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
        # 10 s certificates (70 s lifetimes with the backdated minute): the one a killed
        # agent left (it may have died before its renewal finished) can be expired by now;
        # the pair must be consistent
        leaf = check_pair(env, files, ["busy.agent.test"], now=False)
        serials.add(serial_text(leaf.serial_number))
        serials.update(issued_serials(process, "busy"))
    # a last run finds the leftovers of the killed ones and carries on renewing (twice, so
    # that the count below does not hang on how many renewals a loaded machine fitted in
    # between the kills)
    with agent(config, env) as process:
        process.wait_for(lambda: len(issued_serials(process, "busy")) >= 2, "two renewals")
        serials.update(issued_serials(process, "busy"))
    leaf = check_pair(env, files, ["busy.agent.test"])
    serials.add(serial_text(leaf.serial_number))
    assert len(serials) >= 3  # the agent kept renewing across the kills
    root = tmp_path / "state" / "certs" / "busy"
    assert not [p for p in root.iterdir() if p.name.startswith(".staging-")]


# --- bad configurations ----------------------------------------------------------------------


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
    ca_id = next(ca["id"] for ca in cas if ca["type"] == "intermediate")
    kms_json("profile", "create", "--slug", "agent-acme", "--policy", "default", "--ca", ca_id,
             "--ttl", "30s", "--eab-required", *cli)  # fmt: skip
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
