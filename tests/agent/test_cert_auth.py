"""The agent's client-certificate files: proofs, and finishing an interrupted rotation."""

from __future__ import annotations

import base64
import json
import os
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509.oid import NameOID

from agent.cert_auth import CertificateCredential, key_algorithm, sign_proof
from agent.config import ClientCertificateAuth
from agent.keys import PrivateKey, generate_key, key_matches, key_pem, load_key


def self_signed(key: PrivateKey, days: int = 1) -> x509.Certificate:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "machine.test")])
    now = datetime.now(UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + timedelta(days=days))
        .sign(key, hashes.SHA256())
    )


def files(
    tmp_path: Path, key: PrivateKey, rotate_before: timedelta | None = None
) -> CertificateCredential:
    cert_path, key_path = tmp_path / "id.pem", tmp_path / "id.key"
    cert_path.write_bytes(self_signed(key).public_bytes(serialization.Encoding.PEM))
    key_path.write_text(key_pem(key))
    return CertificateCredential(ClientCertificateAuth(cert_path, key_path, rotate_before))


@pytest.mark.parametrize("algorithm", ["EC_P256", "EC_P384", "RSA_2048"])
def test_a_proof_carries_the_chain_url_and_a_fresh_iat(algorithm: str) -> None:
    key = generate_key(algorithm)
    cert = self_signed(key)
    proof = sign_proof(key, [cert], "http://ca.test/login", {"csr": "x"})
    header = json.loads(base64.urlsafe_b64decode(proof["protected"] + "=="))
    assert header["alg"] == {"EC_P256": "ES256", "EC_P384": "ES384", "RSA_2048": "RS256"}[algorithm]
    assert x509.load_der_x509_certificate(base64.b64decode(header["x5c"][0])) == cert
    assert header["url"] == "http://ca.test/login"
    assert abs(header["iat"] - datetime.now(UTC).timestamp()) < 60
    assert proof != sign_proof(key, [cert], "http://ca.test/login", {"csr": "x"})  # jti
    assert key_algorithm(key) == algorithm


def test_a_rotation_is_staged_installed_and_finished_after_a_crash(tmp_path: Path) -> None:
    old = generate_key("EC_P256")
    credential = files(tmp_path, old)
    assert key_matches(credential.load()[0], credential.load()[1][0])

    new = credential.stage_key("EC_P256")
    assert stat.S_IMODE(os.stat(credential.next_key_path).st_mode) == 0o600
    # Crash after the certificate was replaced, before the key was: load finishes it.
    new_pem = self_signed(new).public_bytes(serialization.Encoding.PEM)
    credential.auth.certificate.write_bytes(new_pem)
    key, chain = credential.load()
    assert key_matches(key, chain[0]) and key_matches(
        load_key(credential.auth.key.read_text()), chain[0]
    )
    assert not credential.next_key_path.exists()

    newer = credential.stage_key("EC_P256")
    credential.install(self_signed(newer).public_bytes(serialization.Encoding.PEM).decode())
    key, chain = credential.load()
    assert key_matches(key, chain[0]) and key.public_key() == newer.public_key()
    assert not credential.next_key_path.exists()


def test_a_key_that_fits_nothing_is_an_error(tmp_path: Path) -> None:
    credential = files(tmp_path, generate_key("EC_P256"))
    credential.auth.key.write_text(key_pem(generate_key("EC_P256")))
    with pytest.raises(ValueError, match="does not fit the certificate"):
        credential.load()


def test_rotate_before_is_measured_against_not_after(tmp_path: Path) -> None:
    key = generate_key("EC_P256")
    leaf = self_signed(key)
    assert not files(tmp_path, key).due_locally(leaf)
    assert files(tmp_path, key, timedelta(days=2)).due_locally(leaf)
    assert not files(tmp_path, key, timedelta(hours=1)).due_locally(leaf)


def test_a_rotated_certificate_that_does_not_fit_is_not_installed(tmp_path: Path) -> None:
    old = generate_key("EC_P256")
    credential = files(tmp_path, old)
    before = (credential.auth.certificate.read_bytes(), credential.auth.key.read_bytes())
    credential.stage_key("EC_P256")
    stranger = self_signed(generate_key("EC_P256")).public_bytes(serialization.Encoding.PEM)
    with pytest.raises(ValueError, match="does not fit the key made for it"):
        credential.install(stranger.decode())
    with pytest.raises(ValueError, match="not a PEM certificate chain"):
        credential.install("<html>gateway error</html>")
    # The working credential is untouched.
    assert (credential.auth.certificate.read_bytes(), credential.auth.key.read_bytes()) == before
    assert credential.load()[0].public_key() == old.public_key()
