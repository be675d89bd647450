"""CSRs (RFC 2986) from the openssl binary and from cryptography: load, verify, facts."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
from cryptography.x509.oid import NameOID

from ca_core.csr import PEM_FORMAT_HINT, csr_facts, load_csr
from ca_core.errors import BadCSR, BadKey
from ca_core.issuer import LeafRequest, issue_leaf
from ca_core.keys import PrivateKey
from ca_core.serials import new_serial
from pki_types.model import (
    ExtendedKeyUsage,
    HashAlgorithm,
    KeyAlgorithm,
    KeyUsage,
    SanType,
    SubjectAltName,
    SubjectAttributes,
)
from tests.ca_core.helpers import cached_key, default_hierarchy, now, openssl, openssl_verify

FULL_SUBJECT = "/C=US/ST=California/L=San Francisco/O=Example Corp/OU=Ops/CN=www.example.test"
SAN_EXT = (
    "subjectAltName=DNS:www.example.test,DNS:example.test,IP:192.0.2.1,"
    "email:ops@example.test,URI:https://example.test/"
)


def openssl_csr(tmp_path: Path, newkey: list[str], *extra: str) -> bytes:
    """A CSR made by `openssl req -new` with a fresh key; returns the PEM."""
    out = tmp_path / "req.pem"
    result = openssl(
        "req", "-new", "-nodes", *newkey, "-keyout", tmp_path / "key.pem", "-out", out, *extra
    )
    assert result.returncode == 0, result.stdout
    return out.read_bytes()


@pytest.fixture(scope="module")
def csr_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("csr")


@pytest.fixture(scope="module")
def rsa_full_csr(csr_dir: Path) -> bytes:
    return openssl_csr(
        csr_dir,
        ["-newkey", "rsa:2048"],
        "-subj",
        FULL_SUBJECT,
        "-addext",
        SAN_EXT,
        "-addext",
        "keyUsage=critical,digitalSignature,keyEncipherment",
        "-addext",
        "extendedKeyUsage=serverAuth,clientAuth",
    )


def _builder_csr(
    key: PrivateKey | ed25519.Ed25519PrivateKey,
    algorithm: hashes.SHA224 | hashes.SHA256 | None = None,
    names: list[x509.NameAttribute[str]] | None = None,
) -> x509.CertificateSigningRequest:
    builder = x509.CertificateSigningRequestBuilder().subject_name(
        x509.Name(names or [x509.NameAttribute(NameOID.COMMON_NAME, "app.example.test")])
    )
    builder = builder.add_extension(
        x509.SubjectAlternativeName([x509.DNSName("app.example.test")]), critical=False
    )
    return builder.sign(key, algorithm)


def test_openssl_rsa_csr_with_full_subject_sans_and_usages(rsa_full_csr: bytes) -> None:
    facts = csr_facts(load_csr(rsa_full_csr))
    assert facts.subject == SubjectAttributes(
        common_name="www.example.test",
        organization="Example Corp",
        organizational_unit="Ops",
        country="US",
        state="California",
        locality="San Francisco",
    )
    assert facts.sans == (
        SubjectAltName(SanType.DNS, "www.example.test"),
        SubjectAltName(SanType.DNS, "example.test"),
        SubjectAltName(SanType.IP, "192.0.2.1"),
        SubjectAltName(SanType.EMAIL, "ops@example.test"),
        SubjectAltName(SanType.URI, "https://example.test/"),
    )
    assert facts.key_algorithm is KeyAlgorithm.RSA_2048
    assert facts.signature_hash is HashAlgorithm.SHA256
    assert facts.key_usages == {KeyUsage.DIGITAL_SIGNATURE, KeyUsage.KEY_ENCIPHERMENT}
    assert facts.extended_key_usages == {ExtendedKeyUsage.SERVER_AUTH, ExtendedKeyUsage.CLIENT_AUTH}


@pytest.mark.parametrize(
    ("curve", "alg", "digest", "hash_alg"),
    [
        ("P-256", KeyAlgorithm.EC_P256, "-sha256", HashAlgorithm.SHA256),
        ("P-384", KeyAlgorithm.EC_P384, "-sha384", HashAlgorithm.SHA384),
        ("P-521", KeyAlgorithm.EC_P521, "-sha512", HashAlgorithm.SHA512),
    ],
)
def test_openssl_ec_csr_without_sans(
    curve: str, alg: KeyAlgorithm, digest: str, hash_alg: HashAlgorithm, tmp_path: Path
) -> None:
    pem = openssl_csr(
        tmp_path,
        ["-newkey", "ec", "-pkeyopt", f"ec_paramgen_curve:{curve}"],
        digest,
        "-subj",
        "/CN=device-42/O=Example",
    )
    facts = csr_facts(load_csr(pem))
    assert facts.key_algorithm is alg
    assert facts.signature_hash is hash_alg
    assert facts.sans == ()
    assert facts.subject == SubjectAttributes(common_name="device-42", organization="Example")
    assert facts.key_usages == frozenset() and facts.extended_key_usages == frozenset()


def test_a_certificate_issued_from_csr_facts_verifies(rsa_full_csr: bytes, tmp_path: Path) -> None:
    root, inter = default_hierarchy()
    facts = csr_facts(load_csr(rsa_full_csr))
    request = LeafRequest(
        subject=facts.subject,
        sans=facts.sans,
        public_key=facts.public_key,
        key_usages=facts.key_usages,
        extended_key_usages=facts.extended_key_usages,
        validity=timedelta(days=30),
        hash_alg=HashAlgorithm.SHA256,
        serial=new_serial(),
        not_before=now(),
    )
    cert = issue_leaf(request, inter)
    result = openssl_verify(
        tmp_path,
        cert,
        root.certificate,
        inter.certificate,
        extra=("-purpose", "sslserver", "-verify_ip", "192.0.2.1"),
    )
    assert result.returncode == 0, result.stdout


def _forms(pem: bytes) -> dict[str, Callable[[], str | bytes]]:
    der = x509.load_pem_x509_csr(pem).public_bytes(serialization.Encoding.DER)
    text = pem.decode()
    return {
        "pem-bytes": lambda: pem,
        "pem-str": lambda: text,
        "pem-literal-backslash-n": lambda: text.replace("\n", "\\n"),
        "pem-literal-backslash-r-n": lambda: text.replace("\n", "\\r\\n"),
        "pem-crlf": lambda: text.replace("\n", "\r\n"),
        "pem-padded": lambda: "\n  " + text + "\n\n",
        "pem-old-new-certificate-request-label": lambda: text.replace(
            "CERTIFICATE REQUEST", "NEW CERTIFICATE REQUEST"
        ),
        "pem-after-other-text": lambda: "Here is my CSR:\n" + text,
        "der": lambda: der,
    }


@pytest.mark.parametrize(
    "form",
    [
        "pem-bytes",
        "pem-str",
        "pem-literal-backslash-n",
        "pem-literal-backslash-r-n",
        "pem-crlf",
        "pem-padded",
        "pem-old-new-certificate-request-label",
        "pem-after-other-text",
        "der",
    ],
)
def test_load_csr_accepts_pem_in_its_usual_disguises_and_der(
    form: str, rsa_full_csr: bytes
) -> None:
    expected = x509.load_pem_x509_csr(rsa_full_csr)
    assert load_csr(_forms(rsa_full_csr)[form]()) == expected


@pytest.mark.parametrize("data", ["", b"", "   \n\t", b"\n"])
def test_an_empty_csr_is_refused(data: str | bytes) -> None:
    with pytest.raises(BadCSR) as caught:
        load_csr(data)
    assert str(caught.value) == "CSR cannot be empty"


@pytest.mark.parametrize(
    "data",
    [
        "hello",
        b"\x30\x03\x02\x01\x00",
        "-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n",
        "-----BEGIN CERTIFICATE REQUEST-----\n",
        "ünïcödé",
    ],
)
def test_unparseable_csrs_name_the_expected_format(data: str | bytes) -> None:
    with pytest.raises(BadCSR) as caught:
        load_csr(data)
    assert str(caught.value) == (
        'Invalid CSR format: expected a PEM block between "-----BEGIN CERTIFICATE REQUEST-----" '
        'and "-----END CERTIFICATE REQUEST-----"'
    )
    assert str(caught.value) == PEM_FORMAT_HINT


def test_a_certificate_is_not_a_csr() -> None:
    root, _ = default_hierarchy()
    with pytest.raises(BadCSR, match=r"^Invalid CSR format"):
        load_csr(root.certificate.public_bytes(serialization.Encoding.PEM))


def test_a_huge_csr_is_refused() -> None:
    with pytest.raises(BadCSR, match="CSR is too large"):
        load_csr(b"-----BEGIN CERTIFICATE REQUEST-----\n" + b"A" * 70_000)


@pytest.mark.parametrize("alg", [KeyAlgorithm.RSA_2048, KeyAlgorithm.EC_P256])
@pytest.mark.parametrize("where", ["signature", "subject"])
def test_a_tampered_csr_is_refused(alg: KeyAlgorithm, where: str) -> None:
    csr = _builder_csr(cached_key(alg, "csr"), hashes.SHA256())
    der = bytearray(csr.public_bytes(serialization.Encoding.DER))
    position = len(der) - 1 if where == "signature" else der.index(b"app.example.test")
    der[position] ^= 0x01
    for data in (
        bytes(der),
        x509.load_der_x509_csr(bytes(der)).public_bytes(serialization.Encoding.PEM),
    ):
        with pytest.raises(BadCSR) as caught:
            load_csr(data)
        assert str(caught.value) == "CSR signature is invalid"


def test_a_csr_signed_by_another_key_is_refused() -> None:
    # Valid structure, but the signature was made by a key other than the one it carries.
    real = _builder_csr(cached_key(KeyAlgorithm.EC_P256, "csr"), hashes.SHA256())
    other = _builder_csr(cached_key(KeyAlgorithm.EC_P256, "other"), hashes.SHA256())
    real_der = real.public_bytes(serialization.Encoding.DER)
    other_der = other.public_bytes(serialization.Encoding.DER)
    spki_real = (
        cached_key(KeyAlgorithm.EC_P256, "csr")
        .public_key()
        .public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    spki_other = (
        cached_key(KeyAlgorithm.EC_P256, "other")
        .public_key()
        .public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    assert spki_real in real_der
    swapped = other_der.replace(spki_other, spki_real)
    with pytest.raises(BadCSR, match=r"^CSR signature is invalid$"):
        load_csr(swapped)


def test_a_sha1_signed_csr_is_refused_by_name(tmp_path: Path) -> None:
    pem = openssl_csr(tmp_path, ["-newkey", "rsa:2048"], "-sha1", "-subj", "/CN=old")
    with pytest.raises(BadCSR, match=r"^CSR is signed with SHA-1, which is too weak: sign it"):
        load_csr(pem)


def test_signature_hash_is_none_outside_the_supported_set() -> None:
    csr = _builder_csr(cached_key(KeyAlgorithm.EC_P256, "csr"), hashes.SHA224())
    assert csr_facts(load_csr(csr.public_bytes(serialization.Encoding.PEM))).signature_hash is None


def test_an_unsupported_key_is_a_bad_key(tmp_path: Path) -> None:
    csr = _builder_csr(ed25519.Ed25519PrivateKey.generate())
    with pytest.raises(BadKey, match="unsupported key type Ed25519"):
        csr_facts(load_csr(csr.public_bytes(serialization.Encoding.PEM)))
    weak = openssl_csr(tmp_path, ["-newkey", "rsa:1024"], "-subj", "/CN=weak")
    with pytest.raises(BadKey, match="unsupported RSA key size 1024 bits"):
        csr_facts(load_csr(weak))


@pytest.mark.parametrize(
    ("addext", "message"),
    [
        ("extendedKeyUsage=1.3.6.1.4.1.311.20.2.2", "unsupported extended key usage 1.3.6.1"),
        ("subjectAltName=otherName:1.2.3.4;UTF8:x", "unsupported subjectAltName type OtherName"),
    ],
)
def test_unsupported_requests_are_bad_csrs(addext: str, message: str, tmp_path: Path) -> None:
    pem = openssl_csr(
        tmp_path,
        ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"],
        "-subj",
        "/CN=x",
        "-addext",
        addext,
    )
    with pytest.raises(BadCSR, match=f"^CSR rejected: {message}"):
        csr_facts(load_csr(pem))


def test_a_subject_with_two_common_names_is_a_bad_csr() -> None:
    names = [x509.NameAttribute(NameOID.COMMON_NAME, v) for v in ("a.test", "b.test")]
    csr = _builder_csr(cached_key(KeyAlgorithm.EC_P256, "csr"), hashes.SHA256(), names)
    with pytest.raises(BadCSR, match="more than one common_name"):
        csr_facts(load_csr(csr.public_bytes(serialization.Encoding.DER)))
