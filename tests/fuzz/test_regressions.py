"""Inputs the fuzz tests found that once made a 500, kept as plain tests."""

from __future__ import annotations

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from ca_core.csr import load_csr
from ca_core.errors import BadCSR


def _csr_der() -> bytes:
    return (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name([]))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("a.example.com")]), False)
        .sign(ec.generate_private_key(ec.SECP256R1()), hashes.SHA256())
        .public_bytes(serialization.Encoding.DER)
    )


def test_csr_with_version_1_is_bad_csr() -> None:
    """cryptography raises InvalidVersion (not a ValueError) for a version other than 0."""
    der = _csr_der()
    at = der.index(b"\x02\x01\x00")  # CertificationRequestInfo.version INTEGER 0
    bad = der[:at] + b"\x02\x01\x01" + der[at + 3 :]
    with pytest.raises(BadCSR, match=r"^CSR version field 1 is not valid: PKCS#10 has only 0"):
        load_csr(bad)
