"""`kms cert issue|renew` outputs (issue 15): the certificate, the chain, the full chain and
the private key each in their own file (the key 0600 from creation), no key on stdout
unless `--key-out -` asks, warnings on stderr; and the ttl counted from issuance."""

from __future__ import annotations

import json
import os
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from testkit.kms_process import kms, kms_json


@pytest.fixture(scope="module")
def common(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    path = tmp_path_factory.mktemp("cli-out") / "data"
    kms("init", "--data-dir", str(path))
    return ["--data-dir", str(path)]


def _mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def _count(common: list[str]) -> int:
    return int(kms_json("cert", "list", *common)["totalCount"])


def _check_files(out: Path, chain: Path, full: Path, key: Path) -> x509.Certificate:
    """Each file holds its part only; the key belongs to the certificate and is 0600."""
    assert "PRIVATE KEY" not in out.read_text()
    [leaf] = x509.load_pem_x509_certificates(out.read_bytes())
    chain_certs = x509.load_pem_x509_certificates(chain.read_bytes())
    assert len(chain_certs) == 2  # the issuing intermediate, then the root
    leaf.verify_directly_issued_by(chain_certs[0])
    chain_certs[0].verify_directly_issued_by(chain_certs[1])
    assert x509.load_pem_x509_certificates(full.read_bytes()) == [leaf, *chain_certs]
    assert "PRIVATE KEY" not in chain.read_text() + full.read_text()
    private_key = serialization.load_pem_private_key(key.read_bytes(), password=None)
    assert private_key.public_key() == leaf.public_key()
    assert "CERTIFICATE" not in key.read_text()
    assert _mode(key) == 0o600
    assert _mode(out) == _mode(chain) == _mode(full) == 0o644
    return leaf


def _outputs(tmp_path: Path, stem: str) -> tuple[list[str], tuple[Path, Path, Path, Path]]:
    paths = tuple(tmp_path / f"{stem}.{ext}" for ext in ("crt", "chain.pem", "full.pem", "key"))
    out, chain, full, key = paths
    args = ["--out", str(out), "--chain-out", str(chain), "--fullchain-out", str(full)]
    return [*args, "--key-out", str(key)], (out, chain, full, key)


def test_issue_writes_each_part_to_its_own_file(common: list[str], tmp_path: Path) -> None:
    args, files = _outputs(tmp_path, "web")
    key = files[3]
    key.write_text("an older, more open file")
    key.chmod(0o644)
    result = kms("cert", "issue", "--cn", "web.test", "--san", "dns:web.test", *args, *common)
    leaf = _check_files(*files)
    assert result.stdout.startswith("Issued ") and "-----BEGIN" not in result.stdout
    assert f"Wrote {key} (private key, 0600)" in result.stderr
    assert leaf.subject.rfc4514_string() == "CN=web.test"
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(p.name for p in files)


def test_without_key_out_only_the_certificate_reaches_stdout(common: list[str]) -> None:
    result = kms("cert", "issue", "--cn", "stdout.test", *common)
    assert "PRIVATE KEY" not in result.stdout
    [leaf] = x509.load_pem_x509_certificates(result.stdout.encode())
    assert result.stdout.startswith("-----BEGIN CERTIFICATE-----")  # the summary is on stderr
    assert "Issued " in result.stderr
    assert "the private key was not printed" in result.stderr
    assert "--key-out" in result.stderr and "kms cert export" in result.stderr
    assert leaf.subject.rfc4514_string() == "CN=stdout.test"


def test_key_out_dash_prints_the_key_after_the_certificate(common: list[str]) -> None:
    result = kms("cert", "issue", "--cn", "dash.test", "--key-out", "-", *common)
    [leaf] = x509.load_pem_x509_certificates(result.stdout.encode())
    key_pem = result.stdout[result.stdout.index("-----BEGIN PRIVATE KEY-----") :]
    key = serialization.load_pem_private_key(key_pem.encode(), password=None)
    assert key.public_key() == leaf.public_key()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--out", "{d}/web.pem", "--key-out", "{d}/web.pem"], "--out and --key-out name the same"),
        (["--chain-out", "{d}/a.pem", "--fullchain-out", "{d}/a.pem"], "name the same file"),
        (["--key-out", "-", "--json"], "--key-out -: stdout carries the --json output"),
        (["--csr", "{d}/r.csr", "--key-out", "{d}/k.pem"], "with --csr the private key is yours"),
    ],
)
def test_outputs_that_cannot_be_honoured_are_refused_before_issuing(
    common: list[str], tmp_path: Path, args: list[str], message: str
) -> None:
    (tmp_path / "r.csr").write_text("not read: refused first")
    before = _count(common)
    filled = [a.replace("{d}", str(tmp_path)) for a in args]
    result = kms("cert", "issue", "--cn", "refused.test", *filled, *common, check=False)
    assert result.returncode == 2, result.stderr
    assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert _count(common) == before
    assert not [p for p in tmp_path.iterdir() if p.name != "r.csr"]


def test_a_ttl_past_the_intermediate_is_cut_with_a_warning(common: list[str]) -> None:
    result = kms("cert", "issue", "--cn", "long.test", "--ttl", "5000d", "--json", *common)
    issued = json.loads(result.stdout)
    [warning] = issued["warnings"]
    assert "notAfter was cut to the issuing CA's notAfter" in warning
    assert "the requested ttl 5000d reaches past it" in warning
    assert f"warning: {warning}" in result.stderr
    issuing = next(ca for ca in kms_json("ca", "list", *common) if ca["id"] == issued["caId"])
    ca_end = x509.load_pem_x509_certificate(issuing["certificate"].encode()).not_valid_after_utc
    assert datetime.fromisoformat(issued["notAfter"]) == ca_end
    plain = kms("cert", "issue", "--cn", "short.test", "--ttl", "30d", "--json", *common)
    assert json.loads(plain.stdout)["warnings"] == [] and "warning" not in plain.stderr


def test_the_ttl_counts_from_issuance(common: list[str], tmp_path: Path) -> None:
    out = tmp_path / "ttl.crt"
    before = datetime.now(UTC)
    kms("cert", "issue", "--cn", "ttl.test", "--ttl", "3m", "--out", str(out), *common)
    after = datetime.now(UTC)
    leaf = x509.load_pem_x509_certificate(out.read_bytes())
    three, second = timedelta(minutes=3), timedelta(seconds=1)
    assert before + three - second <= leaf.not_valid_after_utc <= after + three
    assert leaf.not_valid_after_utc - leaf.not_valid_before_utc == timedelta(minutes=4)


def test_renew_writes_each_part_to_its_own_file(common: list[str], tmp_path: Path) -> None:
    issued = kms_json("cert", "issue", "--cn", "again.test", "--ttl", "3m", *common)
    args, files = _outputs(tmp_path, "again")
    before = datetime.now(UTC)
    result = kms("cert", "renew", issued["id"], *args, *common)
    after = datetime.now(UTC)
    leaf = _check_files(*files)
    assert result.stdout.startswith("Renewed ") and "-----BEGIN" not in result.stdout
    assert before + timedelta(minutes=3, seconds=-1) <= leaf.not_valid_after_utc
    assert leaf.not_valid_after_utc <= after + timedelta(minutes=3)
    renewed = kms_json(
        "cert", "show", kms_json("cert", "show", issued["id"], *common)["renewedById"], *common
    )
    assert int(renewed["serialNumber"], 16) == leaf.serial_number
