"""`kms cert renew|metadata|delete`: the same services as the REST API, from a shell."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID

from testkit.kms_process import kms, kms_json


@pytest.fixture(scope="module")
def common(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    path = tmp_path_factory.mktemp("cli-certs") / "data"
    kms("init", "--data-dir", str(path))
    return ["--data-dir", str(path)]


def test_renew_metadata_and_delete(common: list[str], tmp_path: Path) -> None:
    issued = kms_json(
        "cert", "issue", "--cn", "renew.test", "--san", "dns:renew.test", "--meta", "team=web",
        "--key-algorithm", "EC_P384", "--ttl", "15d", "-O", "Acme", "-C", "de",
        "--signature-algorithm", "ECDSA-SHA384", "--eku", "client_auth", *common,
    )  # fmt: skip
    assert "O=Acme" in issued["subject"] and "C=DE" in issued["subject"]
    assert issued["hashAlgorithm"] == "SHA384"
    assert issued["certificateRequestId"]
    updated = kms_json("cert", "metadata", issued["id"], "team=ops", "env=prod", *common)
    assert updated["metadata"] == {"env": "prod", "team": "ops"}

    bundle = tmp_path / "renewed.pem"
    renewed = kms_json("cert", "renew", issued["serialNumber"], "--out", str(bundle), *common)
    assert renewed["renewedFromId"] == issued["id"]
    assert renewed["metadata"] == {"env": "prod", "team": "ops"}
    assert renewed["keyAlgorithm"] == "EC_P384"
    assert (renewed["subject"], renewed["hashAlgorithm"]) == (issued["subject"], "SHA384")
    assert "PRIVATE KEY" not in bundle.read_text()  # --out: the certificate alone
    leaf = x509.load_pem_x509_certificates(bundle.read_bytes())[0]
    assert leaf.serial_number == int(renewed["serialNumber"], 16)
    assert (leaf.not_valid_after_utc - leaf.not_valid_before_utc).days == 15
    eku = leaf.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(eku) == [ExtendedKeyUsageOID.CLIENT_AUTH]
    assert kms_json("cert", "show", issued["id"], *common)["renewedById"] == renewed["id"]
    again = kms("cert", "renew", issued["id"], *common, check=False)
    assert again.returncode == 2 and "already renewed" in again.stderr

    assert "Deleted" in kms("cert", "delete", issued["id"], "--yes", *common).stdout
    gone = kms("cert", "show", issued["id"], *common, check=False)
    assert gone.returncode == 2 and "no certificate" in gone.stderr

    kms("cert", "revoke", renewed["id"], *common)
    kept = kms("cert", "delete", renewed["id"], "--yes", *common, check=False)
    assert kept.returncode == 2 and "CRL" in kept.stderr


def test_renew_refused_for_a_csr_certificate(common: list[str], tmp_path: Path) -> None:
    key, csr = tmp_path / "k.pem", tmp_path / "r.csr"
    subprocess.run(
        ["openssl", "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
         "-nodes", "-keyout", str(key), "-out", str(csr), "-subj", "/CN=csr-renew.test"],
        check=True, capture_output=True,
    )  # fmt: skip
    issued = kms_json("cert", "issue", "--csr", str(csr), *common)
    result = kms("cert", "renew", issued["id"], *common, check=False)
    assert result.returncode == 2
    assert "cannot renew: the server does not hold this certificate's private key" in result.stderr
    wrong = kms("cert", "metadata", issued["id"], *common, check=False)
    assert wrong.returncode == 2 and "key=value" in wrong.stderr
