"""A raw ACME client for tests: signs exactly what the test asks for, so bad-input tests can
forge anything (wrong url, alg none, HS256, replayed nonces...) and good-path tests read every
URL from the directory (STYLE.md habit 8)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import dataclass, field
from typing import Any

import httpx
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

SigningKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey
EMPTY = object()  # POST-as-GET


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def jwk_of(key: SigningKey) -> dict[str, str]:
    if isinstance(key, rsa.RSAPrivateKey):
        numbers = key.public_key().public_numbers()
        return {
            "kty": "RSA",
            "n": b64(numbers.n.to_bytes((numbers.n.bit_length() + 7) // 8, "big")),
            "e": b64(numbers.e.to_bytes((numbers.e.bit_length() + 7) // 8, "big")),
        }
    if isinstance(key, ec.EllipticCurvePrivateKey):
        size = (key.curve.key_size + 7) // 8
        pub = key.public_key().public_numbers()
        crv = {"secp256r1": "P-256", "secp384r1": "P-384", "secp521r1": "P-521"}[key.curve.name]
        return {
            "kty": "EC",
            "crv": crv,
            "x": b64(pub.x.to_bytes(size, "big")),
            "y": b64(pub.y.to_bytes(size, "big")),
        }
    raw = key.public_key().public_bytes_raw()
    return {"kty": "OKP", "crv": "Ed25519", "x": b64(raw)}


def thumbprint(key: SigningKey) -> str:
    members = jwk_of(key)
    return b64(
        hashlib.sha256(json.dumps(members, sort_keys=True, separators=(",", ":")).encode()).digest()
    )


def default_alg(key: SigningKey) -> str:
    if isinstance(key, rsa.RSAPrivateKey):
        return "RS256"
    if isinstance(key, ec.EllipticCurvePrivateKey):
        return {"secp256r1": "ES256", "secp384r1": "ES384", "secp521r1": "ES512"}[key.curve.name]
    return "EdDSA"


def sign(key: SigningKey, alg: str, signing_input: bytes) -> bytes:
    if isinstance(key, rsa.RSAPrivateKey):
        return key.sign(signing_input, padding.PKCS1v15(), hashes.SHA256())
    if isinstance(key, ec.EllipticCurvePrivateKey):
        digests: dict[str, hashes.HashAlgorithm] = {
            "ES256": hashes.SHA256(),
            "ES384": hashes.SHA384(),
            "ES512": hashes.SHA512(),
        }
        r, s = decode_dss_signature(key.sign(signing_input, ec.ECDSA(digests[alg])))
        size = (key.curve.key_size + 7) // 8
        return r.to_bytes(size, "big") + s.to_bytes(size, "big")
    return key.sign(signing_input)


def flattened(protected: dict[str, Any], payload: Any, key: SigningKey, alg: str) -> dict[str, str]:
    protected_b64 = b64(json.dumps(protected).encode())
    payload_b64 = "" if payload is EMPTY else b64(json.dumps(payload).encode())
    signature = sign(key, alg, f"{protected_b64}.{payload_b64}".encode())
    return {"protected": protected_b64, "payload": payload_b64, "signature": b64(signature)}


def eab_binding(
    kid: str, hmac_key_b64: str, account_key: SigningKey, url: str, alg: str = "HS256"
) -> dict[str, str]:
    protected = b64(json.dumps({"alg": alg, "kid": kid, "url": url}).encode())
    payload = b64(json.dumps(jwk_of(account_key)).encode())
    key = base64.urlsafe_b64decode(hmac_key_b64 + "=" * (-len(hmac_key_b64) % 4))
    digest = {"HS256": hashlib.sha256, "HS384": hashlib.sha384, "HS512": hashlib.sha512}[alg]
    mac = hmac.new(key, f"{protected}.{payload}".encode(), digest).digest()
    return {"protected": protected, "payload": payload, "signature": b64(mac)}


@dataclass
class AcmeClient:
    http: httpx.Client
    directory_url: str
    key: SigningKey
    kid: str | None = None
    directory: dict[str, Any] = field(default_factory=dict)
    nonce: str | None = None

    def __post_init__(self) -> None:
        response = self.http.get(self.directory_url)
        response.raise_for_status()
        self.directory = response.json()

    @property
    def alg(self) -> str:
        return default_alg(self.key)

    def fresh_nonce(self) -> str:
        if self.nonce is None:
            self.nonce = self.http.head(self.directory["newNonce"]).headers["Replay-Nonce"]
        nonce, self.nonce = self.nonce, None
        return nonce

    def post(
        self,
        url: str,
        payload: Any = EMPTY,
        *,
        use_jwk: bool = False,
        header: dict[str, Any] | None = None,
        key: SigningKey | None = None,
        body: Any = None,
        content_type: str = "application/jose+json",
        accept: str | None = None,
    ) -> httpx.Response:
        signing_key = key or self.key
        protected: dict[str, Any] = {
            "alg": default_alg(signing_key),
            "nonce": self.fresh_nonce(),
            "url": url,
        }
        if use_jwk or self.kid is None:
            protected["jwk"] = jwk_of(signing_key)
        else:
            protected["kid"] = self.kid
        protected.update(header or {})
        protected = {k: v for k, v in protected.items() if v is not None}
        document = (
            body
            if body is not None
            else flattened(protected, payload, signing_key, protected["alg"])
        )
        content = document if isinstance(document, bytes) else json.dumps(document).encode()
        headers = {"Content-Type": content_type}
        if accept is not None:
            headers["Accept"] = accept
        response = self.http.post(url, content=content, headers=headers)
        self.nonce = response.headers.get("Replay-Nonce")
        return response

    def new_account(self, **payload: Any) -> httpx.Response:
        response = self.post(
            self.directory["newAccount"], {"termsOfServiceAgreed": True, **payload}, use_jwk=True
        )
        if response.status_code in (200, 201):
            self.kid = response.headers["Location"]
        return response

    def new_order(self, *names: str, **extra: Any) -> httpx.Response:
        identifiers = [{"type": "ip" if _is_ip(n) else "dns", "value": n} for n in names]
        return self.post(self.directory["newOrder"], {"identifiers": identifiers, **extra})

    def get(self, url: str) -> httpx.Response:
        return self.post(url)

    def key_authorization(self, token: str) -> str:
        return f"{token}.{thumbprint(self.key)}"


def _is_ip(name: str) -> bool:
    import ipaddress

    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True
