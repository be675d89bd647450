"""Certificate signing requests: load (PEM or DER), verify, extract the facts."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeVar

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import PublicKeyAlgorithmOID

from ca_core.errors import BadCSR, BadKey, CAError
from ca_core.extensions import extended_key_usages_of, key_usages_of
from ca_core.goodkey import EMPTY_BLOCKLIST, OFF_CURVE, KeyBlocklist, check_key
from ca_core.keys import PublicKey, key_algorithm_of
from ca_core.names import general_names_to_sans, name_to_subject
from ca_core.signing import hash_algorithm_of
from pki_types.model import (
    ExtendedKeyUsage,
    HashAlgorithm,
    KeyAlgorithm,
    KeyUsage,
    SubjectAltName,
    SubjectAttributes,
)

_E = TypeVar("_E", bound=x509.ExtensionType)

MAX_CSR_BYTES = 64 * 1024
_WEAK_HASHES = {"md5": "MD5", "sha1": "SHA-1"}
PEM_FORMAT_HINT = (
    'Invalid CSR format: expected a PEM block between "-----BEGIN CERTIFICATE REQUEST-----" '
    'and "-----END CERTIFICATE REQUEST-----"'
)


@dataclass(frozen=True)
class CsrFacts:
    """What a verified CSR asks for, as policy types."""

    subject: SubjectAttributes
    sans: tuple[SubjectAltName, ...]
    public_key: PublicKey
    key_algorithm: KeyAlgorithm
    signature_hash: HashAlgorithm | None
    key_usages: frozenset[KeyUsage]
    extended_key_usages: frozenset[ExtendedKeyUsage]


def load_csr(data: str | bytes) -> x509.CertificateSigningRequest:
    """Parse a PEM (newlines may arrive as literal "\\n") or DER CSR and verify its signature."""
    raw = data.encode("utf-8", "replace") if isinstance(data, str) else bytes(data)
    if not raw.strip():
        raise BadCSR("CSR cannot be empty")
    if len(raw) > MAX_CSR_BYTES:
        raise BadCSR(f"CSR is too large: at most {MAX_CSR_BYTES} bytes are accepted")
    try:
        if b"-----BEGIN" in raw:
            text = raw.strip().replace(b"\\r\\n", b"\n").replace(b"\\n", b"\n")
            csr = x509.load_pem_x509_csr(text)
        else:
            csr = x509.load_der_x509_csr(raw)
    except x509.InvalidVersion as exc:  # not a ValueError: found by tests/fuzz
        raise BadCSR(
            f"CSR version field {exc.parsed_version} is not valid: PKCS#10 has only 0 (v1)"
        ) from exc
    except ValueError as exc:
        raise BadCSR(PEM_FORMAT_HINT) from exc
    _refuse_weak_hash(csr)
    _refuse_off_curve(csr)
    try:
        valid = csr.is_signature_valid
    except (UnsupportedAlgorithm, ValueError, TypeError) as exc:
        raise BadCSR("CSR signature is invalid") from exc
    if not valid:
        raise BadCSR("CSR signature is invalid")
    return csr


def csr_facts(
    csr: x509.CertificateSigningRequest, blocklist: KeyBlocklist = EMPTY_BLOCKLIST
) -> CsrFacts:
    """Extract subject, SANs, key and requested usages; BadKey for an unsupported or weak
    key (ca_core.goodkey) or one on the operator's `blocklist`."""
    try:
        public_key = csr.public_key()
    except (UnsupportedAlgorithm, ValueError) as exc:
        raise BadKey(f"unsupported public key in CSR: {exc}") from exc
    key_algorithm = key_algorithm_of(public_key)
    check_key(public_key, blocklist)
    if not isinstance(public_key, rsa.RSAPublicKey | ec.EllipticCurvePublicKey):
        raise BadKey("unsupported public key in CSR")  # pragma: no cover
    try:
        extensions = csr.extensions
        subject = name_to_subject(csr.subject)
        san = _extension(extensions, x509.SubjectAlternativeName)
        ku = _extension(extensions, x509.KeyUsage)
        eku = _extension(extensions, x509.ExtendedKeyUsage)
        sans = () if san is None else general_names_to_sans(san)
        key_usages = frozenset() if ku is None else key_usages_of(ku)
        ekus = frozenset() if eku is None else extended_key_usages_of(eku)
    except CAError as exc:
        raise BadCSR(f"CSR rejected: {exc}") from exc
    except (ValueError, x509.DuplicateExtension, x509.UnsupportedGeneralNameType) as exc:
        raise BadCSR(f"CSR extensions are malformed: {exc}") from exc
    return CsrFacts(
        subject=subject,
        sans=sans,
        public_key=public_key,
        key_algorithm=key_algorithm,
        signature_hash=_signature_hash(csr),
        key_usages=key_usages,
        extended_key_usages=ekus,
    )


def _refuse_off_curve(csr: x509.CertificateSigningRequest) -> None:
    """cryptography checks an EC point when it loads the key: say so before the signature
    check (which would otherwise fail on the same point, less clearly)."""
    try:
        csr.public_key()
    except ValueError as exc:
        algorithm = getattr(csr, "public_key_algorithm_oid", None)  # not in the stubs yet
        if algorithm == PublicKeyAlgorithmOID.EC_PUBLIC_KEY:
            raise BadKey(OFF_CURVE) from exc
        raise BadKey("the CSR's public key is invalid") from exc
    except UnsupportedAlgorithm:
        return  # csr_facts names the unsupported key


def _refuse_weak_hash(csr: x509.CertificateSigningRequest) -> None:
    try:
        algorithm = csr.signature_hash_algorithm
    except UnsupportedAlgorithm:
        return  # the signature check below refuses it
    if algorithm is not None and algorithm.name in _WEAK_HASHES:
        raise BadCSR(
            f"CSR is signed with {_WEAK_HASHES[algorithm.name]}, which is too weak: "
            "sign it with SHA-256 or stronger"
        )


def _signature_hash(csr: x509.CertificateSigningRequest) -> HashAlgorithm | None:
    try:
        return hash_algorithm_of(csr.signature_hash_algorithm)
    except UnsupportedAlgorithm:
        return None


def _extension(extensions: x509.Extensions, kind: type[_E]) -> _E | None:
    try:
        return extensions.get_extension_for_class(kind).value
    except x509.ExtensionNotFound:
        return None
