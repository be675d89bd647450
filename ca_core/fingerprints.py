"""Certificate fingerprints as colon-separated upper-case hex (as openssl prints them)."""

from __future__ import annotations

from cryptography import x509
from cryptography.hazmat.primitives import hashes


def sha256_fingerprint(cert: x509.Certificate) -> str:
    """SHA-256 over the DER certificate, e.g. "AB:CD:..."."""
    return cert.fingerprint(hashes.SHA256()).hex(":").upper()


def sha1_fingerprint(cert: x509.Certificate) -> str:
    """SHA-1 over the DER certificate (for display and lookup only)."""
    return cert.fingerprint(hashes.SHA1()).hex(":").upper()  # noqa: S303
