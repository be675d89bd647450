"""certbot (the EFF's client, from PyPI) against `kms serve`: accounts with and without
External Account Binding, a two-name certificate by HTTP-01 (standalone listener), renewal,
revocation by the account key and by the certificate key, and a second account."""

from __future__ import annotations

import ipaddress
import json
import os
import secrets
import shlex
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID

from acme_server.cli.main import cli
from acme_server.services import eab_credentials as eab
from conformance.certbot_cli import Certbot
from conformance.conftest import (
    CONTACT,
    KmsServer,
    check_issued,
    check_revoked,
    client_binary,
    load_chain,
    name,
    run_client,
    venv_script,
)
from testkit.kms_process import free_port


@pytest.fixture(scope="module", autouse=True)
def certbot_bin() -> str:
    """The client (autouse: skip, or fail under CI, before a server is started for nothing)."""
    return client_binary("certbot", venv_script("certbot"))


@dataclass
class Lineage:
    certbot: Certbot
    names: list[str]
    first: x509.Certificate


@pytest.fixture(scope="module")
def eab_lineage(
    kms_server: KmsServer, certbot_bin: str, tmp_path_factory: pytest.TempPathFactory
) -> Lineage:
    """An account bound by EAB on the EAB-required directory, and its two-name certificate."""
    certbot = Certbot(certbot_bin, tmp_path_factory.mktemp("certbot-first"), kms_server)
    names = [name("www"), name("api")]
    certbot.certonly(names, eab=kms_server.eab_key(cli=True))
    return Lineage(certbot, names, certbot.leaf(names[0]))


def test_directory_requires_eab_and_certbot_will_not_register_without(
    kms_server: KmsServer, certbot_bin: str, tmp_path: Path
) -> None:
    """RFC 8555 7.1.1 meta.externalAccountRequired, 7.3.4: no EAB, no account."""
    with kms_server.http() as http:
        meta = http.get(kms_server.directory()).json()["meta"]
    assert meta["externalAccountRequired"] is True
    certbot = Certbot(certbot_bin, tmp_path, kms_server)
    result = certbot.certonly([name("refused")], check=False)
    assert result.returncode != 0
    assert "external account binding" in (result.stdout + result.stderr).lower()
    assert not certbot.live(name("refused")).exists()


def test_eab_account_gets_a_two_name_certificate_by_http01(
    kms_server: KmsServer, eab_lineage: Lineage
) -> None:
    certbot = eab_lineage.certbot
    cert_name = eab_lineage.names[0]
    leaf = certbot.leaf(cert_name)
    check_issued(kms_server, leaf, certbot.chain(cert_name), eab_lineage.names)
    fullchain = load_chain(certbot.live(cert_name) / "fullchain.pem")
    assert fullchain[0] == leaf
    assert fullchain[1:] == certbot.chain(cert_name)
    record = kms_server.record(leaf.serial_number)
    assert record.status == "active"
    assert record.request_method == "acme"
    assert record.profile_id == kms_server.eab_profile.id
    assert {s["value"] for s in record.sans} == set(eab_lineage.names)


def test_forced_renewal_gets_a_new_certificate(kms_server: KmsServer, eab_lineage: Lineage) -> None:
    certbot = eab_lineage.certbot
    cert_name = eab_lineage.names[0]
    before = certbot.leaf(cert_name)
    certbot("renew", "--force-renewal", "--cert-name", cert_name, "--no-random-sleep-on-renew")
    after = certbot.leaf(cert_name)
    assert after.serial_number not in (before.serial_number, eab_lineage.first.serial_number)
    check_issued(kms_server, after, certbot.chain(cert_name), eab_lineage.names)
    assert kms_server.record(after.serial_number).status == "active"


def test_revocation_by_the_account_key_with_reason_key_compromise(
    kms_server: KmsServer, eab_lineage: Lineage
) -> None:
    """RFC 8555 7.6, signed with the account key (kid); the reason reaches the CRL."""
    certbot = eab_lineage.certbot
    cert_name = eab_lineage.names[0]
    leaf = certbot.leaf(cert_name)
    certbot(
        "revoke",
        "--server",
        kms_server.directory(),
        "--cert-path",
        str(certbot.live(cert_name) / "cert.pem"),
        "--reason",
        "keycompromise",
        "--no-delete-after-revoke",
    )
    check_revoked(
        kms_server,
        leaf,
        certbot.chain(cert_name)[0],
        reason="KEY_COMPROMISE",
        crl_reason=x509.ReasonFlags.key_compromise,
    )
    again = certbot(
        "revoke",
        "--server",
        kms_server.directory(),
        "--cert-path",
        str(certbot.live(cert_name) / "cert.pem"),
        "--no-delete-after-revoke",
        check=False,
    )
    assert again.returncode != 0
    assert "already revoked" in again.stdout + again.stderr  # urn:...:alreadyRevoked
    assert kms_server.record(leaf.serial_number).revocation_reason == "KEY_COMPROMISE"


def test_second_account_gets_its_own_certificate_and_revokes_it_by_its_key(
    kms_server: KmsServer, eab_lineage: Lineage, certbot_bin: str, tmp_path: Path
) -> None:
    """Another account (its own EAB key and account key) orders its own certificate; it is
    then revoked with a JWS signed by the certificate's private key (RFC 8555 7.6, jwk)."""
    certbot = Certbot(certbot_bin, tmp_path, kms_server)
    cert_name = name("second")
    certbot.certonly([cert_name], eab=kms_server.eab_key())
    leaf = certbot.leaf(cert_name)
    check_issued(kms_server, leaf, certbot.chain(cert_name), [cert_name])
    mine = kms_server.record(leaf.serial_number).metadata["acme.account"]
    first = kms_server.record(eab_lineage.first.serial_number).metadata["acme.account"]
    assert mine != first
    # Given --key-path, certbot signs revokeCert with that key (a jwk JWS), not the account's.
    certbot(
        "revoke",
        "--server",
        kms_server.directory(),
        "--cert-path",
        str(certbot.live(cert_name) / "cert.pem"),
        "--key-path",
        str(certbot.live(cert_name) / "privkey.pem"),
        "--reason",
        "superseded",
        "--no-delete-after-revoke",
    )
    check_revoked(
        kms_server,
        leaf,
        certbot.chain(cert_name)[0],
        reason="SUPERSEDED",
        crl_reason=x509.ReasonFlags.superseded,
    )


def test_single_use_eab_key_binds_only_one_account(
    kms_server: KmsServer, certbot_bin: str, tmp_path: Path
) -> None:
    """A used single-use EAB key is refused for a new account key (RFC 8555 7.3.4)."""
    credential = kms_server.eab_key()
    Certbot(certbot_bin, tmp_path / "a", kms_server).register(eab=credential)
    again = Certbot(certbot_bin, tmp_path / "b", kms_server)
    result = again.certonly([name("reused")], eab=credential, check=False)
    assert result.returncode != 0
    assert "single-use key has already been used" in result.stdout + result.stderr
    assert not again.live(name("reused")).exists()


def test_account_without_eab_on_a_directory_that_does_not_require_it(
    kms_server: KmsServer, certbot_bin: str, tmp_path: Path
) -> None:
    with kms_server.http() as http:
        meta = http.get(kms_server.directory("open")).json()["meta"]
    assert meta["externalAccountRequired"] is False
    certbot = Certbot(certbot_bin, tmp_path, kms_server)
    cert_name = name("open")
    certbot.certonly([cert_name], profile="open")
    leaf = certbot.leaf(cert_name)
    check_issued(kms_server, leaf, certbot.chain(cert_name), [cert_name])
    assert kms_server.record(leaf.serial_number).profile_id == kms_server.open_profile.id


def test_rsa_3072_certificate_key(kms_server: KmsServer, certbot_bin: str, tmp_path: Path) -> None:
    """--key-type rsa (certbot's account key is RSA too: RS256 JWS). lego covers P-384."""
    certbot = Certbot(certbot_bin, tmp_path, kms_server)
    cert_name = name("rsa")
    certbot.certonly(
        [cert_name], profile="open", extra=["--key-type", "rsa", "--rsa-key-size", "3072"]
    )
    leaf = certbot.leaf(cert_name)
    key = leaf.public_key()
    assert isinstance(key, rsa.RSAPublicKey)
    assert key.key_size == 3072
    check_issued(kms_server, leaf, certbot.chain(cert_name), [cert_name])


def test_certificate_for_a_csr_of_its_own_with_an_ip_address(
    kms_server: KmsServer, certbot_bin: str, tmp_path: Path
) -> None:
    """certbot --csr: the operator's own key and CSR, the identifiers taken from it, one of
    them an IP address (RFC 8738 "ip" identifier, validated by HTTP-01 at the address)."""
    names = [name("csr"), name("csr-alt")]
    ip = "127.0.0.1"
    sans: list[x509.GeneralName] = [x509.DNSName(n) for n in names]
    sans.append(x509.IPAddress(ipaddress.ip_address(ip)))
    key = ec.generate_private_key(ec.SECP256R1())
    csr = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])]))
        .add_extension(x509.SubjectAlternativeName(sans), False)
        .sign(key, hashes.SHA256())
    )
    csr_path = tmp_path / "request.pem"
    csr_path.write_bytes(csr.public_bytes(Encoding.PEM))
    out = tmp_path / "out"
    out.mkdir()
    certbot = Certbot(certbot_bin, tmp_path / "certbot", kms_server)
    certbot.certonly(
        [],
        profile="open",
        extra=[
            "--csr",
            str(csr_path),
            "--cert-path",
            str(out / "cert.pem"),
            "--chain-path",
            str(out / "chain.pem"),
            "--fullchain-path",
            str(out / "fullchain.pem"),
        ],
    )
    leaf = load_chain(out / "cert.pem")[0]
    assert leaf.public_key() == key.public_key()
    check_issued(kms_server, leaf, load_chain(out / "chain.pem"), names, (ip,))


def test_account_contact_update_and_deactivation(
    kms_server: KmsServer, certbot_bin: str, tmp_path: Path
) -> None:
    """RFC 8555 7.3.2 (contact update) and 7.3.6 (deactivation), as certbot does them."""
    certbot = Certbot(certbot_bin, tmp_path, kms_server)
    directory = kms_server.directory("open")
    certbot.register(profile="open")
    (regr,) = (tmp_path / "config" / "accounts").rglob("regr.json")
    account_url = json.loads(regr.read_text())["uri"]
    assert kms_server.account(account_url).contact == [f"mailto:{CONTACT}"]
    certbot("update_account", "--server", directory, "-m", "pki@example.com")
    shown = certbot("show_account", "--server", directory)
    assert "pki@example.com" in shown.stdout + shown.stderr
    assert account_url in shown.stdout + shown.stderr
    assert kms_server.account(account_url).contact == ["mailto:pki@example.com"]
    certbot("unregister", "--server", directory)
    assert kms_server.account(account_url).status == "deactivated"


class _FirstKeyDashed:
    """`secrets` for acme_server.acme.eab whose first HMAC key encodes to base64url text that
    begins with "-" (first byte 0b111110xx: index 62), as about one key in 64 does."""

    def __init__(self) -> None:
        self.dashed = False

    def token_bytes(self, n: int) -> bytes:
        data = secrets.token_bytes(n)
        if n == eab.HMAC_KEY_BYTES and not self.dashed:
            self.dashed = True
            return b"\xf8" + data[1:]
        return data

    def token_urlsafe(self, n: int) -> str:
        return secrets.token_urlsafe(n)


def test_eab_create_certbot_hint_works_for_every_key(
    certbot_bin: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The certbot command line `kms eab create` prints must parse whatever the key is."""
    # Only this data directory (no KMS_* from the caller's shell); a port nothing listens on.
    env: dict[str, str | None] = {key: None for key in os.environ if key.startswith("KMS_")}
    runner = CliRunner(env={**env, "KMS_PORT": str(free_port())})
    data_dir = str(tmp_path / "data")
    assert runner.invoke(cli, ["init", "--data-dir", data_dir]).exit_code == 0
    monkeypatch.setattr(eab, "secrets", _FirstKeyDashed())
    created = runner.invoke(cli, ["eab", "create", "--data-dir", data_dir])
    assert created.exit_code == 0, created.output
    (hint,) = [line for line in created.output.splitlines() if line.startswith("certbot:")]
    dirs = [f"--{kind}-dir={tmp_path / 'certbot' / kind}" for kind in ("config", "work", "logs")]
    result = run_client(
        [
            certbot_bin,
            "register",
            *shlex.split(hint.removeprefix("certbot:")),
            *("--agree-tos", "-m", CONTACT, "--no-eff-email", "--non-interactive", *dirs),
        ],
        {},
        check=False,
    )
    # Parsed, certbot goes on to the (closed) port and fails there, not on its arguments.
    assert "expected one argument" not in result.stderr, result.stderr
    assert result.returncode == 1, result.stderr
