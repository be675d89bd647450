"""lego (go-acme, the Debian package) against `kms serve`: accounts with and without
External Account Binding, a two-name certificate by HTTP-01 (lego's own listener), renewal,
revocation by the account key, a second account, and TLS-ALPN-01 (RFC 8737)."""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID

from conformance.conftest import (
    CONTACT,
    KmsServer,
    check_issued,
    check_revoked,
    client_binary,
    load_chain,
    name,
    run_client,
)


@pytest.fixture(scope="module", autouse=True)
def lego_bin() -> str:
    """The client (autouse: skip, or fail under CI, before a server is started for nothing)."""
    return client_binary("lego")


@dataclass
class Lego:
    """One lego --path: one account per directory and e-mail, and its certificates.

    lego 4.9 refuses every command, renew and revoke too, on a directory that requires EAB
    unless --eab --kid --hmac are given, so an account's credential is passed each time."""

    binary: str
    path: Path
    server: KmsServer
    eab: dict[str, str] | None = None
    http: bool = True  # lego's own HTTP-01 listener; False: only the `options` solvers

    def __call__(
        self,
        names: list[str],
        *command: str,
        profile: str = "default",
        options: tuple[str, ...] = (),
        check: bool = True,
    ) -> subprocess.CompletedProcess[str]:
        domains = [arg for each in names for arg in ("-d", each)]
        eab = self.eab
        binding = ["--eab", f"--kid={eab['kid']}", f"--hmac={eab['hmacKey']}"] if eab else []
        argv = [
            self.binary,
            "--server",
            self.server.directory(profile),
            "--path",
            str(self.path),
            "--accept-tos",
            "--email",
            CONTACT,
            *(
                ["--http", "--http.port", f"127.0.0.1:{self.server.http01_port}"]
                if self.http
                else []
            ),
            *binding,
            *options,
            *domains,
            *command,
        ]
        return run_client(argv, {"LEGO_CA_CERTIFICATES": str(self.server.bundle)}, check=check)

    def chain(self, cert_name: str) -> list[x509.Certificate]:
        """The saved bundle: the leaf, then the intermediates."""
        return load_chain(self.path / "certificates" / f"{cert_name}.crt")

    def leaf(self, cert_name: str) -> x509.Certificate:
        return self.chain(cert_name)[0]

    def issuer(self, cert_name: str) -> x509.Certificate:
        return load_chain(self.path / "certificates" / f"{cert_name}.issuer.crt")[0]


@dataclass
class Lineage:
    lego: Lego
    names: list[str]
    first: x509.Certificate


@pytest.fixture(scope="module")
def eab_lineage(
    kms_server: KmsServer, lego_bin: str, tmp_path_factory: pytest.TempPathFactory
) -> Lineage:
    """An account bound by EAB on the EAB-required directory, and its two-name certificate."""
    lego = Lego(
        lego_bin, tmp_path_factory.mktemp("lego-first"), kms_server, kms_server.eab_key(cli=True)
    )
    names = [name("lego-www"), name("lego-api")]
    lego(names, "run")
    return Lineage(lego, names, lego.leaf(names[0]))


def test_directory_requires_eab_and_lego_will_not_register_without(
    kms_server: KmsServer, lego_bin: str, tmp_path: Path
) -> None:
    """RFC 8555 7.1.1 meta.externalAccountRequired, 7.3.4: no EAB, no account."""
    lego = Lego(lego_bin, tmp_path, kms_server)
    result = lego([name("lego-refused")], "run", check=False)
    assert result.returncode != 0
    assert "external account binding" in (result.stdout + result.stderr).lower()
    assert not (tmp_path / "certificates" / f"{name('lego-refused')}.crt").exists()


def test_eab_account_gets_a_two_name_certificate_by_http01(
    kms_server: KmsServer, eab_lineage: Lineage
) -> None:
    lego = eab_lineage.lego
    cert_name = eab_lineage.names[0]
    leaf, *intermediates = lego.chain(cert_name)
    check_issued(kms_server, leaf, intermediates, eab_lineage.names)
    assert intermediates == [lego.issuer(cert_name)]
    record = kms_server.record(leaf.serial_number)
    assert record.status == "active"
    assert record.request_method == "acme"
    assert record.profile_id == kms_server.eab_profile.id
    assert {s["value"] for s in record.sans} == set(eab_lineage.names)


def test_renewal_gets_a_new_certificate(kms_server: KmsServer, eab_lineage: Lineage) -> None:
    lego = eab_lineage.lego
    cert_name = eab_lineage.names[0]
    before = lego.leaf(cert_name)
    renewed = lego(eab_lineage.names, "renew", "--days", "9999", "--no-random-sleep")
    # The account's valid authorizations are reused (RFC 8555 7.1.3): no new challenge.
    assert renewed.stderr.count("authorization already valid; skipping challenge") == 2, (
        renewed.stderr
    )
    after, *intermediates = lego.chain(cert_name)
    assert after.serial_number not in (before.serial_number, eab_lineage.first.serial_number)
    check_issued(kms_server, after, intermediates, eab_lineage.names)
    assert kms_server.record(after.serial_number).status == "active"


def test_revocation_by_the_account_key_with_reason_key_compromise(
    kms_server: KmsServer, eab_lineage: Lineage
) -> None:
    """RFC 8555 7.6, signed with the account key (kid); the reason reaches the CRL."""
    lego = eab_lineage.lego
    cert_name = eab_lineage.names[0]
    leaf = lego.leaf(cert_name)
    issuer = lego.issuer(cert_name)
    lego(eab_lineage.names, "revoke", "--reason", "1", "--keep")
    check_revoked(
        kms_server,
        leaf,
        issuer,
        reason="KEY_COMPROMISE",
        crl_reason=x509.ReasonFlags.key_compromise,
    )


def test_second_account_gets_its_own_certificate(
    kms_server: KmsServer, eab_lineage: Lineage, lego_bin: str, tmp_path: Path
) -> None:
    lego = Lego(lego_bin, tmp_path, kms_server, kms_server.eab_key())
    cert_name = name("lego-second")
    lego([cert_name], "run")
    leaf, *intermediates = lego.chain(cert_name)
    check_issued(kms_server, leaf, intermediates, [cert_name])
    mine = kms_server.record(leaf.serial_number).metadata["acme.account"]
    first = kms_server.record(eab_lineage.first.serial_number).metadata["acme.account"]
    assert mine != first
    lego([cert_name], "revoke", "--reason", "5", "--keep")
    check_revoked(
        kms_server,
        leaf,
        intermediates[0],
        reason="CESSATION_OF_OPERATION",
        crl_reason=x509.ReasonFlags.cessation_of_operation,
    )


def test_single_use_eab_key_binds_only_one_account(
    kms_server: KmsServer, lego_bin: str, tmp_path: Path
) -> None:
    """A used single-use EAB key is refused for a new account key (RFC 8555 7.3.4)."""
    credential = kms_server.eab_key()
    Lego(lego_bin, tmp_path / "a", kms_server, credential)([name("lego-reused")], "run")
    again = Lego(lego_bin, tmp_path / "b", kms_server, credential)
    result = again([name("lego-reused")], "run", check=False)
    assert result.returncode != 0
    assert "single-use key has already been used" in result.stdout + result.stderr
    assert not (tmp_path / "b" / "certificates").exists()


def test_account_without_eab_on_a_directory_that_does_not_require_it(
    kms_server: KmsServer, lego_bin: str, tmp_path: Path
) -> None:
    lego = Lego(lego_bin, tmp_path, kms_server)
    cert_name = name("lego-open")
    lego([cert_name], "run", profile="open")
    leaf, *intermediates = lego.chain(cert_name)
    check_issued(kms_server, leaf, intermediates, [cert_name])
    assert kms_server.record(leaf.serial_number).profile_id == kms_server.open_profile.id


def test_rsa_and_p384_certificate_keys(
    kms_server: KmsServer, lego_bin: str, tmp_path: Path
) -> None:
    """lego's --key-type rsa2048 and ec384 certificate keys."""
    lego = Lego(lego_bin, tmp_path, kms_server)
    rsa_name, p384_name = name("lego-rsa"), name("lego-p384")
    lego([rsa_name], "run", profile="open", options=("--key-type", "rsa2048"))
    lego([p384_name], "run", profile="open", options=("--key-type", "ec384"))
    rsa_leaf, *rsa_chain = lego.chain(rsa_name)
    rsa_key = rsa_leaf.public_key()
    assert isinstance(rsa_key, rsa.RSAPublicKey)
    assert rsa_key.key_size == 2048
    check_issued(kms_server, rsa_leaf, rsa_chain, [rsa_name])
    p384_leaf, *p384_chain = lego.chain(p384_name)
    p384_key = p384_leaf.public_key()
    assert isinstance(p384_key, ec.EllipticCurvePublicKey)
    assert p384_key.curve.name == "secp384r1"
    check_issued(kms_server, p384_leaf, p384_chain, [p384_name])


def test_certificate_for_a_csr_of_its_own(
    kms_server: KmsServer, lego_bin: str, tmp_path: Path
) -> None:
    """lego --csr: the operator's own key and CSR, the names taken from the CSR."""
    names = [name("lego-csr"), name("lego-csr-alt")]
    key = ec.generate_private_key(ec.SECP256R1())
    csr = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])]))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(n) for n in names]), False)
        .sign(key, hashes.SHA256())
    )
    csr_path = tmp_path / "request.pem"
    csr_path.write_bytes(csr.public_bytes(Encoding.PEM))
    lego = Lego(lego_bin, tmp_path / "lego", kms_server)
    lego([], "run", profile="open", options=("--csr", str(csr_path)))
    leaf, *intermediates = lego.chain(names[0])
    assert leaf.public_key() == key.public_key()
    check_issued(kms_server, leaf, intermediates, names)


def test_deactivated_authorizations_are_not_reused(
    kms_server: KmsServer, lego_bin: str, tmp_path: Path
) -> None:
    """RFC 8555 7.5.2: lego relinquishes its authorizations after issuance; the next order
    for the same name must be validated again."""
    lego = Lego(lego_bin, tmp_path, kms_server)
    names = [name("lego-deactivate")]
    first = lego(names, "run", "--always-deactivate-authorizations", "true", profile="open")
    assert "Unable to deactivate" not in first.stderr, first.stderr
    deactivated = re.findall(r"Deactivating auth: (\S+)", first.stderr)
    assert len(deactivated) == 1, first.stderr
    assert kms_server.authorization(deactivated[0]).status == "deactivated"
    again = lego(names, "renew", "--days", "9999", "--no-random-sleep", profile="open")
    assert "authorization already valid" not in again.stderr, again.stderr
    assert "The server validated our request" in again.stderr, again.stderr


def test_tls_alpn01_certificate(kms_server: KmsServer, lego_bin: str, tmp_path: Path) -> None:
    """RFC 8737 with lego's own TLS-ALPN-01 listener (--tls) and no HTTP-01 solver: the
    server connects with ALPN acme-tls/1 and checks the acmeIdentifier certificate."""
    lego = Lego(lego_bin, tmp_path, kms_server, http=False)
    cert_name = name("lego-tls-alpn")
    listener = ("--tls", "--tls.port", f"127.0.0.1:{kms_server.tlsalpn01_port}")
    result = lego([cert_name], "run", profile="open", options=listener)
    assert "Trying to solve TLS-ALPN-01" in result.stderr, result.stderr
    assert "The server validated our request" in result.stderr, result.stderr
    leaf, *intermediates = lego.chain(cert_name)
    check_issued(kms_server, leaf, intermediates, [cert_name])
