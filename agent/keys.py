"""Keys the agent makes on its own host (api-csr and acme enrollment) and what it checks and
builds from them: the CSR, key/certificate agreement, PKCS#12. The private key is written
only to the local disk; the server sees the CSR."""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey
_CURVES: dict[str, ec.EllipticCurve] = {
    "EC_P256": ec.SECP256R1(),
    "EC_P384": ec.SECP384R1(),
    "EC_P521": ec.SECP521R1(),
}
_SUBJECT_OIDS = {
    "organization": NameOID.ORGANIZATION_NAME,
    "organizationalUnit": NameOID.ORGANIZATIONAL_UNIT_NAME,
    "country": NameOID.COUNTRY_NAME,
    "state": NameOID.STATE_OR_PROVINCE_NAME,
    "locality": NameOID.LOCALITY_NAME,
}


def generate_key(algorithm: str) -> PrivateKey:
    """A new key: RSA_2048/3072/4096 (e = 65537) or EC_P256/P384/P521."""
    if algorithm in _CURVES:
        return ec.generate_private_key(_CURVES[algorithm])
    if algorithm.startswith("RSA_"):
        return rsa.generate_private_key(public_exponent=65537, key_size=int(algorithm[4:]))
    raise ValueError(f"unknown key algorithm {algorithm!r}")


def key_pem(key: PrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode("ascii")


def load_key(pem: str) -> PrivateKey:
    key = serialization.load_pem_private_key(pem.encode("ascii"), password=None)
    if not isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
        raise ValueError(f"unsupported private key type {type(key).__name__}")
    return key


def _general_name(name: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(name))
    except ValueError:
        return x509.DNSName(name)


def build_csr(
    key: PrivateKey, common_name: str, alt_names: tuple[str, ...], subject: Mapping[str, str]
) -> str:
    """A PEM CSR for the names, signed by `key` (SHA-256, or SHA-384 for P-384/P-521)."""
    attributes = [x509.NameAttribute(NameOID.COMMON_NAME, common_name)] if common_name else []
    attributes += [
        x509.NameAttribute(_SUBJECT_OIDS[key_name], value)
        for key_name, value in subject.items()
        if key_name in _SUBJECT_OIDS
    ]
    builder = x509.CertificateSigningRequestBuilder().subject_name(x509.Name(attributes))
    if alt_names:
        sans = x509.SubjectAlternativeName([_general_name(name) for name in alt_names])
        builder = builder.add_extension(sans, critical=False)
    digest: hashes.SHA256 | hashes.SHA384 = hashes.SHA256()
    if isinstance(key, ec.EllipticCurvePrivateKey) and key.curve.key_size > 256:
        digest = hashes.SHA384()
    return builder.sign(key, digest).public_bytes(serialization.Encoding.PEM).decode("ascii")


def _public_der(key: object) -> bytes:
    assert isinstance(key, rsa.RSAPublicKey | ec.EllipticCurvePublicKey)
    return key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def key_matches(key: PrivateKey, certificate: x509.Certificate) -> bool:
    return _public_der(key.public_key()) == _public_der(certificate.public_key())


def pkcs12_bytes(
    key: PrivateKey,
    leaf: x509.Certificate,
    chain: list[x509.Certificate],
    password: str,
    alias: str,
) -> bytes:
    """PKCS#12 with AES-256-CBC and PBKDF2 (what current OpenSSL and Java read)."""
    encryption = (
        serialization.PrivateFormat.PKCS12.encryption_builder()
        .kdf_rounds(50000)
        .key_cert_algorithm(pkcs12.PBES.PBESv2SHA256AndAES256CBC)
        .hmac_hash(hashes.SHA256())
        .build(password.encode("utf-8"))
    )
    return pkcs12.serialize_key_and_certificates(
        alias.encode("utf-8"), key, leaf, chain or None, encryption
    )
