"""JOSE without ACME: base64url (RFC 7515 section 2), the flattened JWS serialization, its
payload, the signature algorithm allow-list (no `none`, no MACs) and signature checks.

Neutral ground for the ACME layer (`acme/jws.py`, `acme/jwk.py`, `acme/eab.py`) and the
services (`services/identities/proof.py`, `services/ari.py`): nothing here knows ACME
problem documents. A refusal is a `JoseError` whose `kind` says which RFC 8555 problem the
ACME layer answers with (`malformed` or `badSignatureAlgorithm`); other callers use its
message as is.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import Any, Final, Literal

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from acme_server.jsonutil import BadJSON, loads_strict

JwsPublicKey = rsa.RSAPublicKey | ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey
ALLOWED_ALGS = ("RS256", "ES256", "ES384", "ES512", "EdDSA")
_EC_ALGS = {"ES256": ("secp256r1", 32, hashes.SHA256), "ES384": ("secp384r1", 48, hashes.SHA384),
            "ES512": ("secp521r1", 66, hashes.SHA512)}  # fmt: skip

MALFORMED: Final = "malformed"
BAD_ALGORITHM: Final = "badSignatureAlgorithm"
JoseErrorKind = Literal["malformed", "badSignatureAlgorithm"]


class JoseError(ValueError):
    """A JWS or base64url text refused; the message says why, `kind` which kind of refusal."""

    def __init__(self, detail: str, kind: JoseErrorKind = MALFORMED) -> None:
        super().__init__(detail)
        self.detail = detail
        self.kind: JoseErrorKind = kind


_FROM_URLSAFE = bytes.maketrans(b"-_", b"+/")


def b64url_decode(text: str) -> bytes:
    """Unpadded base64url (RFC 7515 section 2); ValueError for anything else, including
    characters outside the alphabet (which the non-strict decoders skip silently) and
    encodings other than the one canonical text of the bytes: a key member (an Ed25519
    "x") must not have several spellings, and so several RFC 7638 thumbprints."""
    if not isinstance(text, str) or "=" in text or "+" in text or "/" in text:
        raise ValueError("not unpadded base64url")
    padded = (text + "=" * (-len(text) % 4)).encode("ascii").translate(_FROM_URLSAFE)
    raw = binascii.a2b_base64(padded, strict_mode=True)  # binascii.Error is a ValueError
    if b64url_encode(raw) != text:  # stray bits in the last character: "AB" and "AA" alike
        raise ValueError("not the canonical base64url of its bytes")
    return raw


def b64url_encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@dataclass(frozen=True, slots=True)
class FlatJWS:
    protected: dict[str, Any]
    protected_b64: str
    payload_b64: str
    signature: bytes

    @property
    def signing_input(self) -> bytes:
        return f"{self.protected_b64}.{self.payload_b64}".encode()


def parse_flattened(body: bytes) -> FlatJWS:
    try:
        outer = loads_strict(body)
    except (ValueError, UnicodeDecodeError):
        raise JoseError("the request body is not JSON") from None
    if not isinstance(outer, dict):
        raise JoseError("the JWS must be a JSON object in flattened serialization")
    if "signatures" in outer:
        raise JoseError("only the flattened JWS serialization is accepted (RFC 8555 6.2)")
    if "header" in outer:
        raise JoseError("the JWS unprotected header must not be used (RFC 8555 6.2)")
    protected_b64, payload_b64, signature_b64 = (
        outer.get(k) for k in ("protected", "payload", "signature")
    )
    if not all(isinstance(v, str) for v in (protected_b64, payload_b64, signature_b64)):
        raise JoseError("the JWS needs string members protected, payload and signature")
    assert isinstance(protected_b64, str) and isinstance(payload_b64, str)
    assert isinstance(signature_b64, str)
    try:
        protected = loads_strict(b64url_decode(protected_b64))
        signature = b64url_decode(signature_b64)
        if payload_b64:
            b64url_decode(payload_b64)
    except BadJSON as exc:
        raise JoseError(f"the JWS protected header is {exc}") from None
    except (ValueError, UnicodeDecodeError, binascii.Error):
        raise JoseError("the JWS members must be base64url without padding") from None
    if not isinstance(protected, dict):
        raise JoseError("the JWS protected header must be a JSON object")
    return FlatJWS(protected, protected_b64, payload_b64, signature)


def decode_payload(jws: FlatJWS) -> dict[str, Any] | None:
    if jws.payload_b64 == "":
        return None
    try:
        payload = loads_strict(b64url_decode(jws.payload_b64))
    except BadJSON as exc:
        raise JoseError(f"the JWS payload is {exc}") from None
    except (ValueError, UnicodeDecodeError, binascii.Error):
        raise JoseError("the JWS payload is not JSON") from None
    if not isinstance(payload, dict):
        raise JoseError("the JWS payload must be a JSON object")
    return payload


def check_alg(alg: object) -> str:
    if not isinstance(alg, str) or alg not in ALLOWED_ALGS:
        raise JoseError(
            f"the JWS algorithm {alg!r} is not supported; use one of {', '.join(ALLOWED_ALGS)}",
            BAD_ALGORITHM,
        )
    return alg


def verify_signature(alg: str, key: JwsPublicKey, signing_input: bytes, signature: bytes) -> None:
    try:
        if alg == "RS256" and isinstance(key, rsa.RSAPublicKey):
            key.verify(signature, signing_input, padding.PKCS1v15(), hashes.SHA256())
            return
        if alg in _EC_ALGS and isinstance(key, ec.EllipticCurvePublicKey):
            curve, size, digest = _EC_ALGS[alg]
            if key.curve.name != curve or len(signature) != 2 * size:
                raise JoseError(f"the {alg} signature does not match the key's curve")
            r = int.from_bytes(signature[:size], "big")
            s = int.from_bytes(signature[size:], "big")
            key.verify(encode_dss_signature(r, s), signing_input, ec.ECDSA(digest()))
            return
        if alg == "EdDSA" and isinstance(key, ed25519.Ed25519PublicKey):
            key.verify(signature, signing_input)
            return
    except InvalidSignature:
        raise JoseError("the JWS signature is invalid") from None
    raise JoseError(f"the algorithm {alg} does not fit the key type", BAD_ALGORITHM)
