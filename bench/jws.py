"""ES256 JWS for the load generator (RFC 7515 flattened serialization, RFC 8555 section 6.2).

Written on cryptography alone so that signing costs one ECDSA sign (~45 us) plus a little
JSON and base64, and so that nothing from the server's code base is measured on the client
side. The DER signature cryptography returns is converted to the fixed-width r||s form JWS
wants (RFC 7518 section 3.4).
"""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any, Final

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

ES256_SIZE: Final = 32  # bytes per coordinate and per signature half on P-256


def b64url(data: bytes) -> str:
    """Base64url without padding (RFC 7515 section 2)."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _compact_json(data: Any) -> bytes:
    return json.dumps(data, separators=(",", ":")).encode()


def der_to_raw(der: bytes, size: int = ES256_SIZE) -> bytes:
    """An ECDSA signature from DER (SEQUENCE of r, s) to r||s, each `size` bytes big-endian."""
    r, s = decode_dss_signature(der)
    return r.to_bytes(size, "big") + s.to_bytes(size, "big")


class ES256Key:
    """A P-256 account key: its public JWK, RFC 7638 thumbprint, and a JWS signer."""

    def __init__(self, private_key: ec.EllipticCurvePrivateKey | None = None) -> None:
        self.private_key = private_key or ec.generate_private_key(ec.SECP256R1())
        if not isinstance(self.private_key.curve, ec.SECP256R1):
            raise ValueError("ES256 needs a P-256 key")
        numbers = self.private_key.public_key().public_numbers()
        self.jwk: dict[str, str] = {
            "crv": "P-256",
            "kty": "EC",
            "x": b64url(numbers.x.to_bytes(ES256_SIZE, "big")),
            "y": b64url(numbers.y.to_bytes(ES256_SIZE, "big")),
        }
        # RFC 7638: the required members in lexicographic order, no whitespace.
        canonical = json.dumps(self.jwk, sort_keys=True, separators=(",", ":")).encode()
        self.thumbprint = b64url(hashlib.sha256(canonical).digest())

    def key_authorization(self, token: str) -> str:
        """RFC 8555 section 8.1: what an HTTP-01 responder serves for `token`."""
        return f"{token}.{self.thumbprint}"

    def sign(
        self,
        url: str,
        nonce: str,
        payload: dict[str, Any] | None,
        *,
        kid: str | None = None,
    ) -> bytes:
        """The request body of an ACME POST: flattened JWS JSON, signed with `kid` when given
        (an account's URL) or else carrying the `jwk` (newAccount). `payload=None` makes a
        POST-as-GET (the empty payload)."""
        protected: dict[str, Any] = {"alg": "ES256", "nonce": nonce, "url": url}
        if kid is None:
            protected["jwk"] = self.jwk
        else:
            protected["kid"] = kid
        protected_b64 = b64url(_compact_json(protected))
        payload_b64 = "" if payload is None else b64url(_compact_json(payload))
        signing_input = f"{protected_b64}.{payload_b64}".encode("ascii")
        der = self.private_key.sign(signing_input, ec.ECDSA(hashes.SHA256()))
        return _compact_json(
            {
                "protected": protected_b64,
                "payload": payload_b64,
                "signature": b64url(der_to_raw(der)),
            }
        )
