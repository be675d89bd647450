"""`kms` as a script or a person uses it: JSON for scripts, one-line errors with exit code 2."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import pkcs12

from store.migrate import head_revision
from testkit.kms_process import KMS, kms, kms_json


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("cli") / "data"
    kms("init", "--data-dir", str(path))
    return path


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["ca", "show", "no-such-ca"], "no certificate authority with id or name 'no-such-ca'"),
        (["cert", "show", "zz-not-a-serial"], "no certificate with id or serial"),
        (["cert", "issue", "--cn", "a.test", "--ttl", "ninety days"], 'invalid TTL "ninety days"'),
        (
            ["cert", "issue", "--cn", "a.test", "--key-algorithm", "DSA_1024"],
            "unknown key algorithm",
        ),
        (["cert", "issue", "--profile", "nope", "--cn", "a.test"], "no certificate profile"),
        (["ca", "create-root", "--name", "X", "--country", "USA"], "country"),
        (
            ["ca", "create-intermediate", "--name", "Y", "--parent", "missing"],
            "no certificate authority",
        ),
        (["cert", "list", "--meta", "novalue"], "use key=value"),
        (["cert", "export", "whatever", "--format", "pkcs12"], "needs --password"),
        (["cert", "revoke", "x", "--reason", "BORED"], "Invalid value for '--reason'"),
        # click's usage errors too (issue 15, first hour 12): the command, the error, --help
        (
            ["ca", "show"],
            "Error: kms ca show: Missing argument 'CA_REF'. (see 'kms ca show --help')",
        ),
        (["cert", "list", "--bogus"], "Error: kms cert list: No such option '--bogus'."),
        (["nope"], "Error: kms: No such command 'nope'. (see 'kms --help')"),
    ],
)
def test_wrong_input_is_one_line_and_exit_2(data_dir: Path, args: list[str], message: str) -> None:
    result = kms(*args, "--data-dir", str(data_dir), check=False)
    assert result.returncode == 2, result.stderr
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().count("\n") == 0, result.stderr  # one line


def test_a_reader_that_goes_away_stops_the_command_quietly(data_dir: Path) -> None:
    """`kms cert list | head -1`: a closed pipe is no user error (no 'Error:', no exit 2)
    and no traceback; exit 1, as click's own commands do."""
    process = subprocess.Popen(
        [KMS, "cert", "list", "--json", "--data-dir", str(data_dir)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert process.stdout is not None
    process.stdout.close()  # long before the command writes (it takes a second to start)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 1, stderr
    assert stderr == b""


def test_bad_port_for_serve_exits_2(tmp_path: Path) -> None:
    result = kms("serve", "--data-dir", str(tmp_path / "d"), "--port", "70000", check=False)
    assert result.returncode == 2
    assert "not a TCP port" in result.stderr


def test_init_is_idempotent(data_dir: Path) -> None:
    again = kms_json("init", "--data-dir", str(data_dir))
    assert again == {
        "created": [],
        "defaultProfile": "default",
        "open": ["any name", "no EAB", "no max TTL"],  # README "Open and secure defaults"
    }


def test_create_root_and_intermediate_with_rsa_and_sha512(data_dir: Path, tmp_path: Path) -> None:
    root = kms_json(
        "ca", "create-root", "--name", "Ops Root", "-O", "Ops", "-C", "DE",
        "--key-algorithm", "RSA_3072",
        "--hash-algorithm", "SHA512", "--ttl", "3650d", "--data-dir", str(data_dir),
    )  # fmt: skip
    inter = kms_json(
        "ca", "create-intermediate", "--parent", "Ops Root", "--name", "Ops Issuing", "--ou", "PKI",
        "--key-algorithm", "EC_P384", "--ttl", "20000d", "--data-dir", str(data_dir),
    )  # fmt: skip
    assert inter["parentCaId"] == root["id"]
    root_cert = x509.load_pem_x509_certificate(root["certificate"].encode())
    inter_cert = x509.load_pem_x509_certificate(inter["certificate"].encode())
    inter_cert.verify_directly_issued_by(root_cert)
    assert inter_cert.not_valid_after_utc <= root_cert.not_valid_after_utc  # clamped to the parent
    assert "O=Ops" in root["subject"] and "C=DE" in root["subject"]
    assert (
        kms(
            "ca", "create-root", "--name", "Ops Root", "--data-dir", str(data_dir), check=False
        ).returncode
        == 2
    )
    shown = kms("ca", "show", "Ops Issuing", "--data-dir", str(data_dir)).stdout
    assert "Ops Issuing" in shown and "BEGIN CERTIFICATE" in shown


def test_issue_list_show_export_and_revoke(data_dir: Path, tmp_path: Path) -> None:
    common = ["--data-dir", str(data_dir)]
    issued = kms_json(
        "cert", "issue", "--cn", "api.test", "--san", "dns:api.test", "--san", "ip:10.1.2.3",
        "--meta", "team=payments", "--meta", "env=prod", "--ttl", "30d", *common,
    )  # fmt: skip
    assert issued["hasPrivateKey"] is True
    listed = kms_json("cert", "list", "--meta", "team=payments", "--meta", "env=prod", *common)
    assert [c["id"] for c in listed["certificates"]] == [issued["id"]]
    assert kms_json("cert", "list", "--meta", "team=other", *common)["totalCount"] == 0
    # piped (not a terminal): a tab-separated header and one unwrapped line per row
    piped = kms("cert", "list", "--meta", "team=payments", *common).stdout.splitlines()
    assert piped[0].split("\t") == ["ID", "Common name", "Serial", "Status", "Not after (UTC)"]
    assert [line.split("\t")[:4] for line in piped[1:]] == [
        [issued["id"], "api.test", issued["serialNumber"], "active"]
    ]

    shown = kms_json("cert", "show", issued["serialNumber"], *common)
    cert = x509.load_pem_x509_certificate(shown["certificate"].encode())
    assert cert.serial_number == int(issued["serialNumber"], 16)
    assert "api.test" in kms("cert", "show", issued["id"], *common).stdout

    pem = kms("cert", "export", issued["id"], *common).stdout
    assert pem.count("BEGIN CERTIFICATE") == 3 and "BEGIN PRIVATE KEY" in pem
    assert "PRIVATE KEY" not in kms("cert", "export", issued["id"], "--no-key", *common).stdout

    p12 = tmp_path / "api.p12"
    kms("cert", "export", issued["id"], "--format", "pkcs12", "--password", "pw-123",
        "--alias", "api", "--out", str(p12), *common)  # fmt: skip
    assert p12.stat().st_mode & 0o077 == 0
    loaded = pkcs12.load_pkcs12(p12.read_bytes(), b"pw-123")
    assert loaded.cert is not None and loaded.cert.friendly_name == b"api"
    out = subprocess.run(
        ["openssl", "pkcs12", "-in", str(p12), "-nokeys", "-clcerts", "-passin", "pass:pw-123"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert "friendlyName: api" in out.stdout

    revoked = kms_json("cert", "revoke", issued["id"], "--reason", "superseded", *common)
    assert revoked["revocationReason"] == "SUPERSEDED"
    again = kms("cert", "revoke", issued["id"], *common, check=False)
    assert again.returncode == 2 and "already revoked" in again.stderr


def test_issue_from_an_openssl_csr(data_dir: Path, tmp_path: Path) -> None:
    key, csr = tmp_path / "k.pem", tmp_path / "r.csr"
    subprocess.run(
        ["openssl", "req", "-new", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key),
         "-out", str(csr), "-subj", "/CN=csr.test/O=Acme/C=US",
         "-addext", "subjectAltName=DNS:csr.test,DNS:www.csr.test"],
        check=True, capture_output=True,
    )  # fmt: skip
    issued = kms_json("cert", "issue", "--csr", str(csr), "--data-dir", str(data_dir))
    assert issued["hasPrivateKey"] is False
    assert issued["requestMethod"] == "api_csr"
    assert [s["value"] for s in issued["altNames"]] == ["csr.test", "www.csr.test"]
    assert issued["keyAlgorithm"] == "RSA_2048"
    garbage = tmp_path / "garbage.csr"
    garbage.write_text("hello")
    result = kms("cert", "issue", "--csr", str(garbage), "--data-dir", str(data_dir), check=False)
    assert result.returncode == 2
    assert "-----BEGIN CERTIFICATE REQUEST-----" in result.stderr


def test_db_upgrade_reports_the_revision(data_dir: Path) -> None:
    result = kms("db", "upgrade", "--data-dir", str(data_dir))
    assert f"Database is at schema revision {head_revision()}." in result.stdout
    assert kms("db", "upgrade", "--data-dir", str(data_dir)).returncode == 0  # idempotent


def test_the_database_never_holds_a_plaintext_private_key(data_dir: Path) -> None:
    """CA keys and managed keys are stored only under the KEK (AES-256-GCM)."""
    issued = kms_json("cert", "issue", "--cn", "secret.test", "--data-dir", str(data_dir))
    pem = kms("cert", "export", issued["id"], "--data-dir", str(data_dir)).stdout
    key = serialization.load_pem_private_key(
        pem[pem.index("-----BEGIN PRIVATE KEY") :].encode(), None
    )
    der = key.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    scalar = key.private_numbers().private_value.to_bytes(32, "big")
    database = b"".join(p.read_bytes() for p in data_dir.glob("kms.db*"))
    assert database, "no database files found"
    for secret in (der, scalar, b"PRIVATE KEY"):
        assert secret not in database


def test_export_over_an_existing_open_file_leaves_it_owner_only(
    data_dir: Path, tmp_path: Path
) -> None:
    """--out replaces the file: a key never lands in a file that was 0644 before."""
    issued = kms_json("cert", "issue", "--cn", "overwrite.test", "--data-dir", str(data_dir))
    out = tmp_path / "bundle.pem"
    out.write_text("old")
    out.chmod(0o644)
    kms("cert", "export", issued["id"], "--out", str(out), "--data-dir", str(data_dir))
    assert out.stat().st_mode & 0o777 == 0o600
    assert "PRIVATE KEY" in out.read_text()
    assert [p.name for p in tmp_path.iterdir()] == ["bundle.pem"]  # no temporary file left
    missing = kms("cert", "export", issued["id"], "--out", str(tmp_path / "no" / "x.pem"),
                  "--data-dir", str(data_dir), check=False)  # fmt: skip
    assert missing.returncode == 2 and "cannot write" in missing.stderr
