"""The agent logging in with a client certificate and rotating it, against `kms serve`.

The server's credential periods are a day (warning) and an hour (expiry), so the agent's
first certificate (ttl 12h) is in its warning period from the start: the first run rotates
it, logs in with the new one (which revokes the old on the server) and still enrolls.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from agent.keys import key_matches, key_pem, load_key
from testkit.kms_process import RunningServer, kms, kms_json, running_server

PERIODS = {"KMS_IDENTITY_CERT_WARNING_PERIOD": "1d", "KMS_IDENTITY_CERT_EXPIRY_PERIOD": "1h"}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    data_dir = tmp_path_factory.mktemp("agent-cert-server") / "data"
    with running_server(data_dir, env=PERIODS) as running:
        yield running


def cli(server: RunningServer, *args: str) -> Any:
    return kms_json(*args, "--data-dir", str(server.data_dir), env=PERIODS)


def credential(server: RunningServer, directory: Path, ttl: str) -> tuple[str, Path, Path]:
    """A new identity with a client certificate issued to it: (id, cert path, key path)."""
    identity = cli(server, "identity", "create", "--name", "cert-agent", "--profile", "default")
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "agent.machine.test")])
    csr = x509.CertificateSigningRequestBuilder().subject_name(name).sign(key, hashes.SHA256())
    csr_path, cert_path, key_path = (directory / n for n in ("id.csr", "id.pem", "id.key"))
    csr_path.write_bytes(csr.public_bytes(serialization.Encoding.PEM))
    key_path.write_text(key_pem(key))
    key_path.chmod(0o600)
    kms("identity", "cert-issue", "--identity", identity["id"], "--profile", "default",
        "--csr-file", str(csr_path), "--out", str(cert_path), "--ttl", ttl,
        "--data-dir", str(server.data_dir), env=PERIODS)  # fmt: skip
    return identity["id"], cert_path, key_path


def write_config(path: Path, server: RunningServer, cert: Path, key: Path) -> Path:
    data: dict[str, Any] = {
        "server": {"url": server.base_url, "ca-bundle": str(server.ca_bundle)},
        "auth": {"client-certificate": {"certificate": str(cert), "key": str(key)}},
        "state-dir": str(path.parent / "state"),
        "retry": {"initial-delay": "1s", "max-delay": "2s", "attempts": 2},
        "certificates": [
            {
                "name": "web",
                "profile": "default",
                "enrollment": "api-csr",
                "common-name": "web.agent.test",
                "file-output": {
                    "certificate": str(path.parent / "web.crt"),
                    "private-key": str(path.parent / "web.key"),
                },
            }
        ],
    }
    path.write_text(yaml.safe_dump(data))
    return path


def leaf(path: Path) -> x509.Certificate:
    return x509.load_pem_x509_certificates(path.read_bytes())[0]


def test_the_agent_rotates_its_credential_and_keeps_working(
    server: RunningServer, tmp_path: Path
) -> None:
    identity_id, cert_path, key_path = credential(server, tmp_path, "12h")
    first = leaf(cert_path)
    config = write_config(tmp_path / "agent.yaml", server, cert_path, key_path)

    run = kms("cert-manager", "agent", "--config", str(config), "--once", check=False)

    assert run.returncode == 0, run.stderr
    assert "credential.rotated" in run.stderr
    rotated = leaf(cert_path)
    assert rotated.serial_number != first.serial_number
    assert key_matches(load_key(key_path.read_text()), rotated)
    assert stat.S_IMODE(os.stat(key_path).st_mode) == 0o600
    assert not key_path.with_name("id.key.next").exists()
    assert (tmp_path / "web.crt").is_file()
    shown = cli(server, "identity", "certs", identity_id)["certificates"]
    assert [(c["status"], c["credentialState"]) for c in shown] == [
        ("revoked", "warning"),
        ("active", "ok"),
    ]

    # The next run logs in with the rotated certificate and rotates nothing.
    (tmp_path / "web.crt").unlink()
    (tmp_path / "web.key").unlink()
    again = kms("cert-manager", "agent", "--config", str(config), "--once", check=False)
    assert again.returncode == 0, again.stderr
    assert "credential.rotated" not in again.stderr
    assert leaf(cert_path).serial_number == rotated.serial_number
    assert (tmp_path / "web.crt").is_file()


def test_an_expiring_credential_is_rotated_before_the_login(
    server: RunningServer, tmp_path: Path
) -> None:
    identity_id, cert_path, key_path = credential(server, tmp_path, "30m")
    config = write_config(tmp_path / "agent.yaml", server, cert_path, key_path)

    run = kms("cert-manager", "agent", "--config", str(config), "--once", check=False)

    assert run.returncode == 0, run.stderr
    assert "credential.rotated" in run.stderr
    states = [c["status"] for c in cli(server, "identity", "certs", identity_id)["certificates"]]
    assert states == ["revoked", "active"]


def test_a_key_that_does_not_fit_the_certificate_exits_2_with_one_line(
    server: RunningServer, tmp_path: Path
) -> None:
    _, cert_path, key_path = credential(server, tmp_path, "3d")
    other = ec.generate_private_key(ec.SECP256R1())
    key_path.write_text(key_pem(other))  # the key no longer fits the certificate
    config = write_config(tmp_path / "agent.yaml", server, cert_path, key_path)
    run = kms("cert-manager", "agent", "--config", str(config), "--once", check=False)
    assert run.returncode == 2, run.stderr
    assert len(run.stderr.strip().splitlines()) == 1, run.stderr
    assert f"auth.client-certificate.key: {key_path} does not fit the certificate" in run.stderr
