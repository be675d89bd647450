"""Key types: generation (off the event loop), identification, PEM round trips."""

from __future__ import annotations

import asyncio

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.types import CertificatePublicKeyTypes

from ca_core.errors import BadKey
from pki_types.model import KeyAlgorithm

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey
PublicKey = rsa.RSAPublicKey | ec.EllipticCurvePublicKey

RSA_PUBLIC_EXPONENT = 65537

_RSA_BITS: dict[KeyAlgorithm, int] = {
    KeyAlgorithm.RSA_2048: 2048,
    KeyAlgorithm.RSA_3072: 3072,
    KeyAlgorithm.RSA_4096: 4096,
}
_EC_CURVES: dict[KeyAlgorithm, type[ec.EllipticCurve]] = {
    KeyAlgorithm.EC_P256: ec.SECP256R1,
    KeyAlgorithm.EC_P384: ec.SECP384R1,
    KeyAlgorithm.EC_P521: ec.SECP521R1,
}
_BY_RSA_BITS = {bits: alg for alg, bits in _RSA_BITS.items()}
_BY_CURVE_NAME = {curve().name: alg for alg, curve in _EC_CURVES.items()}
_SUPPORTED = ", ".join(alg.value for alg in KeyAlgorithm)


def generate_private_key(alg: KeyAlgorithm) -> PrivateKey:
    """Generate a fresh key (RSA-4096 is slow: in async code use `agenerate_private_key`)."""
    if alg in _RSA_BITS:
        return rsa.generate_private_key(
            public_exponent=RSA_PUBLIC_EXPONENT, key_size=_RSA_BITS[alg]
        )
    return ec.generate_private_key(_EC_CURVES[alg]())


async def agenerate_private_key(alg: KeyAlgorithm) -> PrivateKey:
    """Generate a key in a worker thread so the event loop keeps serving."""
    return await asyncio.to_thread(generate_private_key, alg)


def key_algorithm_of(public_key: object) -> KeyAlgorithm:
    """Name the algorithm of a public key, or raise BadKey if it is not one we support."""
    if isinstance(public_key, rsa.RSAPublicKey):
        bits = public_key.key_size
        if bits not in _BY_RSA_BITS:
            raise BadKey(f"unsupported RSA key size {bits} bits: use 2048, 3072 or 4096 bits")
        exponent = public_key.public_numbers().e
        if exponent != RSA_PUBLIC_EXPONENT:
            raise BadKey(f"unsupported RSA public exponent {exponent}: use 65537")
        return _BY_RSA_BITS[bits]
    if isinstance(public_key, ec.EllipticCurvePublicKey):
        name = public_key.curve.name
        if name not in _BY_CURVE_NAME:
            raise BadKey(
                f"unsupported elliptic curve {name}: use P-256 (secp256r1), "
                "P-384 (secp384r1) or P-521 (secp521r1)"
            )
        return _BY_CURVE_NAME[name]
    raise BadKey(_unsupported_type(public_key))


def _unsupported_type(key: object) -> str:
    kind = type(key).__name__.removesuffix("PublicKey").removesuffix("PrivateKey")
    return f"unsupported key type {kind}: supported key algorithms are {_SUPPORTED}"


def private_key_to_pem(key: PrivateKey) -> bytes:
    """Serialize as unencrypted PKCS#8 PEM (encrypt it with the KEK before storing)."""
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def load_private_key_pem(data: bytes) -> PrivateKey:
    """Load an unencrypted PEM private key of a supported algorithm."""
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as exc:
        raise BadKey(
            "cannot read the private key: expected an unencrypted PEM private key "
            '("-----BEGIN PRIVATE KEY-----")'
        ) from exc
    return _supported(key)


def load_private_key_der(data: bytes) -> PrivateKey:
    """Load an unencrypted DER (PKCS#8) private key of a supported algorithm."""
    try:
        key = serialization.load_der_private_key(data, password=None)
    except (ValueError, TypeError) as exc:
        raise BadKey("cannot read the private key: expected unencrypted PKCS#8 DER") from exc
    return _supported(key)


def _supported(key: object) -> PrivateKey:
    if isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
        key_algorithm_of(key.public_key())
        return key
    raise BadKey(_unsupported_type(key))


def public_key_matches(private_key: PrivateKey, certificate: x509.Certificate) -> bool:
    """True when the certificate certifies this private key's public half."""
    return private_key.public_key() == certificate.public_key()


def spki_der(public_key: CertificatePublicKeyTypes) -> bytes:
    """A public key's DER SubjectPublicKeyInfo: equal exactly when the keys are, whatever
    their type (an account key against a CSR's, a certificate's against a JWS's)."""
    return public_key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
