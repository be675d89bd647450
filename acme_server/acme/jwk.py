"""Account keys from JWKs (RFC 7517/7518, RFC 8037 for Ed25519) and their RFC 7638 thumbprints.

josepy parses RSA and EC keys; it has no OKP type, so Ed25519 is read here (three members).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

import josepy
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from josepy.jwk import JWK

from acme_server.acme.problems import bad_public_key, malformed
from acme_server.jose import b64url_decode, b64url_encode
from ca_core.errors import BadKey
from ca_core.goodkey import BLOCKLISTED, EMPTY_BLOCKLIST, OFF_CURVE, KeyBlocklist, check_key

AccountPublicKey = rsa.RSAPublicKey | ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey

# Key strength (Baseline Requirements 6.1.1.3, 6.1.5): ca_core.goodkey.
ALLOWED_CURVES = {"secp256r1": "P-256", "secp384r1": "P-384", "secp521r1": "P-521"}


@dataclass(frozen=True, slots=True)
class AccountKey:
    public_key: AccountPublicKey
    jwk: dict[str, Any]  # the public members only, as stored
    thumbprint: str  # RFC 7638, base64url SHA-256


def _b64_int(value: int) -> str:
    """RFC 7518 6.3.1: the minimal big-endian octets of a positive integer."""
    return b64url_encode(value.to_bytes((value.bit_length() + 7) // 8, "big"))


def _thumbprint(members: dict[str, str]) -> str:
    """RFC 7638 over members rebuilt from the parsed key, never over the text as sent, so a
    key has one thumbprint however its numbers were padded (one account per key)."""
    canonical = json.dumps(members, sort_keys=True, separators=(",", ":")).encode()
    return b64url_encode(hashlib.sha256(canonical).digest())


def account_key_from_jwk(jwk: Any, blocklist: KeyBlocklist = EMPTY_BLOCKLIST) -> AccountKey:
    """Parse and vet a public JWK; malformed or weak keys (ca_core.goodkey, and the
    operator's `blocklist`) become RFC 8555 problems."""
    if not isinstance(jwk, dict):
        raise malformed("jwk must be a JSON object")
    kty = jwk.get("kty")
    if kty == "OKP":
        return _okp(jwk, blocklist)
    if kty not in ("RSA", "EC"):
        raise bad_public_key(
            f"unsupported key type {kty!r}: use RSA, EC (P-256/384/521) or Ed25519"
        )
    if "d" in jwk or "p" in jwk:
        raise malformed("jwk must not contain private key members")
    required = ("n", "e") if kty == "RSA" else ("crv", "x", "y")
    if not all(isinstance(jwk.get(member), str) for member in required):
        raise malformed(f"a {kty} jwk needs string members {', '.join(required)}")
    try:
        parsed = JWK.from_json(jwk)
        public = parsed.key._wrapped  # type: ignore[attr-defined]  # josepy wraps the key
    except ValueError as exc:
        if kty == "EC" and "not on the curve" in str(exc):  # cryptography checks the point
            raise bad_public_key(OFF_CURVE) from None
        raise malformed(f"invalid {kty} jwk: {exc}") from None
    except (josepy.errors.DeserializationError, TypeError, KeyError) as exc:
        raise malformed(f"invalid {kty} jwk: {exc}") from None
    try:
        check_key(public, blocklist)
    except BadKey as exc:
        raise bad_public_key(str(exc)) from None
    if isinstance(public, rsa.RSAPublicKey):
        numbers = public.public_numbers()
        members = {"e": _b64_int(numbers.e), "kty": "RSA", "n": _b64_int(numbers.n)}
    elif isinstance(public, ec.EllipticCurvePublicKey):
        point = public.public_numbers()
        size = (public.curve.key_size + 7) // 8
        members = {
            "crv": ALLOWED_CURVES[public.curve.name],
            "kty": "EC",
            "x": b64url_encode(point.x.to_bytes(size, "big")),
            "y": b64url_encode(point.y.to_bytes(size, "big")),
        }
    else:
        raise bad_public_key("unsupported account key")
    return AccountKey(public_key=public, jwk=members, thumbprint=_thumbprint(members))


def _okp(jwk: dict[str, Any], blocklist: KeyBlocklist) -> AccountKey:
    if jwk.get("crv") != "Ed25519":
        raise bad_public_key(f"unsupported OKP curve {jwk.get('crv')!r}: use Ed25519")
    if "d" in jwk:
        raise malformed("jwk must not contain private key members")
    try:
        raw = b64url_decode(jwk["x"])
        public = ed25519.Ed25519PublicKey.from_public_bytes(raw)
    except (KeyError, ValueError, TypeError):
        raise malformed("invalid Ed25519 jwk: x must be 32 bytes of base64url") from None
    if public in blocklist:
        raise bad_public_key(BLOCKLISTED)
    members = {"crv": "Ed25519", "kty": "OKP", "x": jwk["x"]}
    return AccountKey(public_key=public, jwk=members, thumbprint=_thumbprint(members))
