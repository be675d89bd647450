"""Signature choices: RSA keys sign PKCS#1 v1.5, EC keys ECDSA, over the chosen hash."""

from __future__ import annotations

from typing import TypeVar

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from ca_core.keys import PrivateKey
from pki_types.model import HashAlgorithm

_HASHES: dict[HashAlgorithm, type[hashes.SHA256 | hashes.SHA384 | hashes.SHA512]] = {
    HashAlgorithm.SHA256: hashes.SHA256,
    HashAlgorithm.SHA384: hashes.SHA384,
    HashAlgorithm.SHA512: hashes.SHA512,
}
_BY_NAME = {cls.name: alg for alg, cls in _HASHES.items()}

_Signed = TypeVar("_Signed", x509.Certificate, x509.CertificateRevocationList)


def signing_hash(alg: HashAlgorithm) -> hashes.SHA256 | hashes.SHA384 | hashes.SHA512:
    """The cryptography hash object for a policy hash name."""
    return _HASHES[alg]()


def hash_algorithm_of(algorithm: hashes.HashAlgorithm | None) -> HashAlgorithm | None:
    """The policy name of a signature's hash, or None (e.g. SHA-1, or none at all)."""
    return None if algorithm is None else _BY_NAME.get(algorithm.name)


def sign_certificate(
    builder: x509.CertificateBuilder, key: PrivateKey, alg: HashAlgorithm
) -> x509.Certificate:
    """Sign a certificate with the issuer key."""
    return builder.sign(key, signing_hash(alg), rsa_padding=_padding(key))


def sign_crl(
    builder: x509.CertificateRevocationListBuilder, key: PrivateKey, alg: HashAlgorithm
) -> x509.CertificateRevocationList:
    """Sign a CRL with the issuer key."""
    return builder.sign(key, signing_hash(alg), rsa_padding=_padding(key))


def _padding(key: PrivateKey) -> padding.PKCS1v15 | None:
    return padding.PKCS1v15() if isinstance(key, rsa.RSAPrivateKey) else None
