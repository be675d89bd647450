"""Client-certificate login for the agent, and the rotation of that certificate.

    proof = sign_proof(key, chain, url, {"iat": ...})      # what the server verifies
    credential = CertificateCredential(auth)             # the files named in agent.yaml
    key, chain = credential.load()

The proof is a flattened JWS signed with the certificate's key; its protected header
carries the chain (x5c), the URL it is POSTed to and the time (iat), so it is good for
that endpoint for a few minutes only (acme_server/services/identities/proof.py checks it).

Rotation writes the new key first, beside the old one (`<key>.next`, 0600), then the new
certificate over the old (a temporary file renamed over it), then renames the new key over
the old. A crash in between leaves a certificate whose key is `<key>.next`; `load`
finishes the rename. The old certificate keeps working on the server until the new one's
first login, so a rotation that failed half-way is simply done again.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import secrets
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from agent.config import ClientCertificateAuth
from agent.files import fsync_dir, write_file
from agent.keys import PrivateKey, generate_key, key_matches, key_pem, load_key

LOGIN_PATH = "/api/v1/auth/cert-auth/login"
ROTATE_PATH = "/api/v1/auth/cert-auth/rotate"
JOSE_JSON = "application/jose+json"
_EC_ALGS = {"secp256r1": ("ES256", 32), "secp384r1": ("ES384", 48), "secp521r1": ("ES512", 66)}
_KEY_ALGORITHMS = {"secp256r1": "EC_P256", "secp384r1": "EC_P384", "secp521r1": "EC_P521"}


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _sign(key: PrivateKey, data: bytes) -> tuple[str, bytes]:
    """(alg, JWS signature) with the key: RS256, or ES256/384/512 as raw r||s."""
    if isinstance(key, rsa.RSAPrivateKey):
        return "RS256", key.sign(data, padding.PKCS1v15(), hashes.SHA256())
    alg, size = _EC_ALGS[key.curve.name]
    digest = {32: hashes.SHA256(), 48: hashes.SHA384(), 66: hashes.SHA512()}[size]
    r, s = decode_dss_signature(key.sign(data, ec.ECDSA(digest)))
    return alg, r.to_bytes(size, "big") + s.to_bytes(size, "big")


def sign_proof(
    key: PrivateKey,
    chain: list[x509.Certificate],
    url: str,
    payload: dict[str, Any] | None = None,
    *,
    iat: int | None = None,
) -> dict[str, str]:
    """A flattened JWS proving possession of `key` (whose certificate is chain[0])."""
    alg = "RS256" if isinstance(key, rsa.RSAPrivateKey) else _EC_ALGS[key.curve.name][0]
    header = {
        "alg": alg,
        "x5c": [
            base64.b64encode(c.public_bytes(serialization.Encoding.DER)).decode() for c in chain
        ],
        "url": url,
        "iat": int(time.time()) if iat is None else iat,
        "jti": secrets.token_urlsafe(16),  # every proof differs, even RSA ones in one second
    }
    protected = _b64url(json.dumps(header).encode())
    body = _b64url(json.dumps(payload or {}).encode())
    _, signature = _sign(key, f"{protected}.{body}".encode())
    return {"protected": protected, "payload": body, "signature": _b64url(signature)}


def key_algorithm(key: PrivateKey) -> str:
    """The agent's name for a key like this one (a rotation keeps the algorithm)."""
    if isinstance(key, rsa.RSAPrivateKey):
        return f"RSA_{key.key_size}"
    return _KEY_ALGORITHMS[key.curve.name]


def _replace(path: Path, data: bytes, mode: int) -> None:
    """Write `data` to `path` atomically: a new file renamed over it, fsynced."""
    temporary = path.with_name(f".{path.name}.kms-agent-{secrets.token_hex(4)}")
    write_file(temporary, data, mode)
    try:
        os.replace(temporary, path)
    except OSError:
        with contextlib.suppress(OSError):
            temporary.unlink()
        raise
    fsync_dir(path.parent)


class CertificateCredential:
    """The client certificate and key files, read fresh for every login."""

    def __init__(self, auth: ClientCertificateAuth) -> None:
        self.auth = auth

    @property
    def next_key_path(self) -> Path:
        return self.auth.key.with_name(self.auth.key.name + ".next")

    def load(self) -> tuple[PrivateKey, list[x509.Certificate]]:
        """The key and chain; finishes a rotation a crash interrupted. ValueError if the
        files are unreadable or the key does not fit the certificate."""
        chain = x509.load_pem_x509_certificates(self.auth.certificate.read_bytes())
        key = load_key(self.auth.key.read_text())
        if key_matches(key, chain[0]):
            return key, chain
        if self.next_key_path.is_file():
            pending = load_key(self.next_key_path.read_text())
            if key_matches(pending, chain[0]):
                os.replace(self.next_key_path, self.auth.key)
                return pending, chain
        raise ValueError(f"the key {self.auth.key} does not fit the certificate")

    def due_locally(self, leaf: x509.Certificate) -> bool:
        """True when less than rotate-before of the certificate's lifetime is left."""
        if self.auth.rotate_before is None:
            return False
        return leaf.not_valid_after_utc - datetime.now(UTC) <= self.auth.rotate_before

    def stage_key(self, algorithm: str) -> PrivateKey:
        """A new key, written to `<key>.next` before the server sees its CSR."""
        key = generate_key(algorithm)
        _replace(self.next_key_path, key_pem(key).encode("ascii"), 0o600)
        return key

    def install(self, chain_pem: str) -> None:
        """The rotated certificate over the old one, then the staged key over the old key.
        ValueError, and nothing written, unless the answer is a certificate chain whose leaf
        fits the staged key (a bad answer must not cost the working credential)."""
        try:
            chain = x509.load_pem_x509_certificates(chain_pem.encode("ascii"))
        except (ValueError, UnicodeEncodeError):
            raise ValueError("the rotated certificate is not a PEM certificate chain") from None
        staged = load_key(self.next_key_path.read_text())
        if not key_matches(staged, chain[0]):
            raise ValueError("the rotated certificate does not fit the key made for it")
        _replace(self.auth.certificate, chain_pem.encode("ascii"), 0o644)
        os.replace(self.next_key_path, self.auth.key)
        fsync_dir(self.auth.key.parent)
