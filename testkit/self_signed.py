"""Fresh one-day self-signed test certificates (P-256) for the test responders."""

from __future__ import annotations

import datetime

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

Builder = tuple[ec.EllipticCurvePrivateKey, x509.CertificateBuilder]


def self_signed_builder(common_name: str) -> Builder:
    """A new key and a builder for a certificate it self-signs, valid from five minutes ago
    for a day; add extensions, then `signed_pem`."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = datetime.datetime.now(datetime.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
    )
    return key, builder


def signed_pem(
    key: ec.EllipticCurvePrivateKey, builder: x509.CertificateBuilder
) -> tuple[bytes, bytes]:
    """(certificate PEM, PKCS#8 key PEM) of the builder signed by `key`."""
    cert = builder.sign(key, hashes.SHA256())
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return cert.public_bytes(serialization.Encoding.PEM), key_pem
