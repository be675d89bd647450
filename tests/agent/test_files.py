"""The directory swap: outputs are symlinks into the current version, keys 0600, a killed
run's leftovers removed, and a key never installed beside a certificate it does not sign."""

from __future__ import annotations

import dataclasses
import json
import os
import pwd
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID

from agent.config import CertificateConfig
from agent.config_file import parse_config
from agent.files import HOOK_PENDING, META, REVOKE_PENDING, CertificateFiles, Material, serial_text
from agent.keys import PrivateKey, generate_key, key_matches, key_pem, load_key


@pytest.mark.parametrize(
    ("n", "text"),
    [(1, "01"), (0x80, "80"), (256, "0100"), (0xE85DF, "0E85DF"), (0xE85DFF, "E85DFF")],
)
def test_serials_are_shown_as_openssl_prints_them(n: int, text: str) -> None:
    assert serial_text(n) == text


def config_for(tmp_path: Path, *, hook: bool = True) -> CertificateConfig:
    out = tmp_path / "out"
    out.mkdir(exist_ok=True)
    entry = {
        "name": "web",
        "profile": "default",
        "common-name": "web.test",
        "file-output": {
            "certificate": str(out / "web.crt"),
            "chain": str(out / "chain.pem"),
            "full-chain": str(out / "full.pem"),
            "private-key": str(out / "web.key"),
            "pkcs12": {"path": str(out / "web.p12"), "password": "pw"},
        },
    }
    if hook:
        entry["post-renewal"] = {"command": "true"}
    data = {
        "server": {"url": "https://localhost"},
        "auth": {"client-id": "a", "client-secret": "b"},
        "certificates": [entry],
    }
    return parse_config(data, tmp_path / "agent.yaml", env={}).certificates[0]


def issue(key: PrivateKey, name: str = "web.test") -> tuple[str, str]:
    """(leaf PEM, CA PEM): a leaf for `key` signed by a throwaway CA."""
    ca_key = generate_key("EC_P256")
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Test CA")])
    now = datetime.now(UTC)
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=1))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    leaf = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=1))
        .not_valid_after(now + timedelta(hours=1))
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    from cryptography.hazmat.primitives.serialization import Encoding

    return leaf.public_bytes(Encoding.PEM).decode(), ca.public_bytes(Encoding.PEM).decode()


def material() -> Material:
    key = generate_key("EC_P256")
    leaf, ca = issue(key)
    return Material(certificate_pem=leaf, chain_pem=ca, private_key_pem=key_pem(key))


def test_install_writes_every_output_as_a_link_into_the_current_version(tmp_path: Path) -> None:
    cert = config_for(tmp_path)
    files = CertificateFiles(tmp_path / "state", cert)
    first = files.install(
        material(), digest="d", previous=None, revoke_previous=False, event="issued"
    )
    out = tmp_path / "out"
    for name in ("web.crt", "chain.pem", "full.pem", "web.key", "web.p12"):
        assert (out / name).is_symlink()
        assert os.readlink(out / name).startswith(str(files.root / "current"))
    assert stat.S_IMODE(os.stat(out / "web.key").st_mode) == 0o600
    assert stat.S_IMODE(os.stat(out / "web.p12").st_mode) == 0o600
    assert stat.S_IMODE(os.stat(out / "web.crt").st_mode) == 0o644
    leaf = x509.load_pem_x509_certificate((out / "web.crt").read_bytes())
    assert key_matches(load_key((out / "web.key").read_text()), leaf)
    full = x509.load_pem_x509_certificates((out / "full.pem").read_bytes())
    assert full[0] == leaf and len(full) == 2
    p12 = pkcs12.load_pkcs12((out / "web.p12").read_bytes(), b"pw")
    assert p12.cert is not None and p12.cert.certificate == leaf
    assert first.has(HOOK_PENDING) and not first.has(REVOKE_PENDING)

    second = files.install(
        material(), digest="d", previous=first, revoke_previous=True, event="renewed"
    )
    assert second.version == first.version + 1
    assert second.marker(REVOKE_PENDING)["serialNumber"] == first.serial_hex
    # openssl's form (upper case, even length), as the server shows it
    assert first.serial_hex == serial_text(leaf.serial_number)
    assert json.loads((first.directory / META).read_text())["serialNumber"] == first.serial_hex
    leaf2 = x509.load_pem_x509_certificate((out / "web.crt").read_bytes())
    assert leaf2.serial_number != leaf.serial_number
    assert key_matches(load_key((out / "web.key").read_text()), leaf2)
    files.clear(second, REVOKE_PENDING)
    third = files.install(
        material(), digest="d", previous=second, revoke_previous=False, event="renewed"
    )
    assert files.versions() == [second.version, third.version]  # the oldest one is gone


def test_a_key_that_does_not_match_is_refused(tmp_path: Path) -> None:
    files = CertificateFiles(tmp_path / "state", config_for(tmp_path))
    good = material()
    wrong = Material(good.certificate_pem, good.chain_pem, key_pem(generate_key("EC_P256")))
    with pytest.raises(ValueError, match="does not belong"):
        files.install(wrong, digest="d", previous=None, revoke_previous=False, event="issued")
    assert files.current() is None and not (tmp_path / "out" / "web.crt").exists()


def test_leftovers_of_a_killed_run_are_removed(tmp_path: Path) -> None:
    files = CertificateFiles(tmp_path / "state", config_for(tmp_path, hook=False))
    installed = files.install(
        material(), digest="d", previous=None, revoke_previous=False, event="issued"
    )
    assert not installed.has(HOOK_PENDING)  # no command configured, nothing pending
    (files.root / ".staging-deadbeef").mkdir()
    (files.root / ".staging-deadbeef" / "cert.pem").write_text("half")
    (files.root / f"v{installed.version + 1}").mkdir()  # written, never switched to
    files.prepare()
    assert sorted(p.name for p in files.root.iterdir()) == ["current", f"v{installed.version}"]
    assert files.current() == installed


@pytest.mark.skipif(os.geteuid() != 0, reason="chown needs root")
def test_owner_and_group_are_applied(tmp_path: Path) -> None:
    cert = config_for(tmp_path, hook=False)
    files_config = dataclasses.replace(cert.files, owner="nobody", group="0")
    cert = dataclasses.replace(cert, files=files_config)
    files = CertificateFiles(tmp_path / "state", cert)
    files.install(material(), digest="d", previous=None, revoke_previous=False, event="issued")
    nobody = pwd.getpwnam("nobody").pw_uid
    for name in ("web.crt", "web.key", "web.p12"):
        path = tmp_path / "out" / name
        assert (os.stat(path).st_uid, os.stat(path).st_gid) == (nobody, 0)
        assert os.lstat(path).st_uid == nobody  # the link too
