"""Exports: a PEM bundle and PKCS#12 (AES-256-CBC, PBES2, HMAC-SHA256)."""

from __future__ import annotations

from collections.abc import Sequence

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.serialization import pkcs12

from ca_core.errors import CAError
from ca_core.keys import PrivateKey, private_key_to_pem, public_key_matches

PKCS12_KDF_ROUNDS = 200_000  # PBKDF2-SHA256 iterations (OpenSSL's default is 2,048)


def certificates_pem(certificates: Sequence[x509.Certificate]) -> str:
    """Certificates as concatenated PEM blocks, in the order given."""
    blocks = (c.public_bytes(serialization.Encoding.PEM) for c in certificates)
    return b"".join(blocks).decode("ascii")


def pem_bundle(
    certificate: x509.Certificate,
    chain: Sequence[x509.Certificate],
    private_key: PrivateKey | None,
) -> str:
    """The leaf, then its chain (issuer first), then the PKCS#8 key if given."""
    _check_pair(certificate, private_key)
    bundle = certificates_pem((certificate, *chain))
    if private_key is not None:
        bundle += private_key_to_pem(private_key).decode("ascii")
    return bundle


def to_pkcs12(
    *,
    certificate: x509.Certificate,
    chain: Sequence[x509.Certificate],
    private_key: PrivateKey | None,
    password: str,
    alias: str,
) -> bytes:
    """A password-protected PKCS#12 file; `alias` becomes the friendlyName."""
    if not password:
        raise CAError("a PKCS#12 export needs a non-empty password")
    _check_pair(certificate, private_key)
    encryption = (
        serialization.PrivateFormat.PKCS12.encryption_builder()
        .kdf_rounds(PKCS12_KDF_ROUNDS)
        .key_cert_algorithm(pkcs12.PBES.PBESv2SHA256AndAES256CBC)
        .hmac_hash(hashes.SHA256())
        .build(password.encode("utf-8"))
    )
    return pkcs12.serialize_key_and_certificates(
        alias.encode("utf-8") if alias else None,
        private_key,
        certificate,
        list(chain),
        encryption,
    )


def _check_pair(certificate: x509.Certificate, private_key: PrivateKey | None) -> None:
    if private_key is not None and not public_key_matches(private_key, certificate):
        raise CAError("the private key does not belong to the certificate")
