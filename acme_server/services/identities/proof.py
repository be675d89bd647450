"""Proof of possession of a client certificate's key, at the application layer.

The server speaks plain HTTP behind a TLS terminator, so TLS client certificates never
reach it. A machine identity proves it holds its certificate's key by signing a JWS
(flattened JSON, or compact) whose protected header carries:

    alg   RS256 | ES256 | ES384 | ES512 | EdDSA (the ACME allow-list)
    x5c   the certificate chain, leaf first, standard base64 DER (RFC 7515 4.1.6)
    url   the exact URL the request is POSTed to (so a proof cannot be replayed elsewhere)
    iat   seconds since the epoch, within IAT_SKEW of the server's clock (or in the payload)

`verify_proof` checks, cheapest first: the JWS shape, alg, url, iat, the signature with the
leaf's key, then the leaf against this server's CAs and its validity period, and last that
the proof was not used before (each proof is good for one request). Looking the
certificate up in the store (bound? revoked?) is the caller's next step.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from acme_server.jose import (
    FlatJWS,
    JoseError,
    check_alg,
    decode_payload,
    parse_flattened,
    verify_signature,
)
from acme_server.services.context import Services
from acme_server.services.errors import ServiceError
from ca_core.fingerprints import sha256_fingerprint
from ca_core.serials import serial_to_hex
from store import CARecord

IAT_SKEW = timedelta(minutes=5)
MAX_CHAIN = 5  # certificates in x5c
MAX_PROOF_BYTES = 64 * 1024
USED_PROOF_PREFIX = "pop:"  # in acme_nonces, beside the used ACME nonces


class CertAuthError(ServiceError):
    """A refused client-certificate login or rotation (HTTP 401); the message says why."""


@dataclass(frozen=True, slots=True)
class Proof:
    """A verified proof: the leaf certificate, its issuing CA and the JWS payload."""

    certificate: x509.Certificate
    ca: CARecord
    payload: dict[str, Any]

    @property
    def fingerprint(self) -> str:
        return sha256_fingerprint(self.certificate)

    @property
    def serial_hex(self) -> str:
        return serial_to_hex(self.certificate.serial_number)


def _parse(body: bytes) -> FlatJWS:
    if len(body) > MAX_PROOF_BYTES:
        raise CertAuthError(f"the proof is larger than {MAX_PROOF_BYTES} bytes")
    text = body.strip()
    if text and not text.startswith(b"{"):
        parts = text.split(b".")
        if len(parts) != 3:
            raise CertAuthError("the body must be a JWS (flattened JSON or compact)")
        try:
            members = [part.decode("ascii") for part in parts]
        except UnicodeDecodeError:
            raise CertAuthError("the JWS members must be base64url without padding") from None
        names = ("protected", "payload", "signature")
        text = json.dumps(dict(zip(names, members, strict=True))).encode()
    try:
        return parse_flattened(text)
    except JoseError as exc:
        raise CertAuthError(exc.detail) from None


def _chain(header: dict[str, Any]) -> list[x509.Certificate]:
    x5c = header.get("x5c")
    if not isinstance(x5c, list) or not 0 < len(x5c) <= MAX_CHAIN:
        raise CertAuthError(
            f"the protected header needs x5c: the client certificate chain, leaf first "
            f"(1-{MAX_CHAIN} base64 DER certificates)"
        )
    chain = []
    for index, item in enumerate(x5c):
        try:
            if not isinstance(item, str):
                raise ValueError
            chain.append(x509.load_der_x509_certificate(base64.b64decode(item, validate=True)))
        except (ValueError, binascii.Error):
            raise CertAuthError(f"x5c[{index}] is not a base64 DER certificate") from None
    return chain


def _iat(header: dict[str, Any], payload: dict[str, Any]) -> None:
    iat = header.get("iat", payload.get("iat"))
    if isinstance(iat, bool) or not isinstance(iat, int | float):
        raise CertAuthError("the proof needs iat (seconds since the epoch) in its header")
    skew = abs(time.time() - float(iat))
    if skew > IAT_SKEW.total_seconds():
        raise CertAuthError(
            f"the proof's iat is {int(skew)} seconds away from the server's time "
            f"(at most {int(IAT_SKEW.total_seconds())} allowed): sign a fresh proof"
        )


def _verify_signature(jws: FlatJWS, alg: str, leaf: x509.Certificate) -> None:
    key = leaf.public_key()
    if not isinstance(key, rsa.RSAPublicKey | ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey):
        raise CertAuthError("the client certificate's key type cannot sign a proof")
    try:
        verify_signature(alg, key, jws.signing_input, jws.signature)
    except JoseError as exc:
        raise CertAuthError(exc.detail) from None


async def _issuer(services: Services, leaf: x509.Certificate) -> CARecord:
    """The CA of this server that signed the leaf (name and signature checked)."""
    for ca in await services.store.list_cas():
        ca_cert = x509.load_pem_x509_certificate(ca.certificate_pem.encode())
        if ca_cert.subject != leaf.issuer:
            continue
        try:
            leaf.verify_directly_issued_by(ca_cert)
        except (ValueError, TypeError, InvalidSignature):
            continue
        return ca
    raise CertAuthError("the client certificate was not issued by a CA of this server")


def _check_validity(leaf: x509.Certificate) -> None:
    now = datetime.now(UTC)
    if now < leaf.not_valid_before_utc:
        raise CertAuthError("the client certificate is not valid yet")
    if now >= leaf.not_valid_after_utc:
        raise CertAuthError(
            f"the client certificate expired on {leaf.not_valid_after_utc.isoformat()}"
        )


async def _use_once(services: Services, jws: FlatJWS) -> None:
    """Refuse a replayed proof: what it signs (protected header and payload) is recorded
    as a used nonce for as long as its iat would be accepted (after the signature check, so
    forgeries cost no write). Not the signature: an ECDSA signature (r, s) has a twin
    (r, n - s) that verifies too, so a captured proof could be replayed once more."""
    digest = hashlib.sha256(jws.signing_input).hexdigest()
    expires = datetime.now(UTC) + 2 * IAT_SKEW
    if not await services.store.use_nonce(USED_PROOF_PREFIX + digest, expires):
        raise CertAuthError("this proof was used before: sign a new one for every request")


async def verify_proof(services: Services, body: bytes, path: str) -> Proof:
    """The verified proof POSTed to `path`; CertAuthError naming what is wrong otherwise."""
    jws = _parse(body)
    try:
        alg = check_alg(jws.protected.get("alg"))
        payload = decode_payload(jws) or {}
    except JoseError as exc:
        raise CertAuthError(exc.detail) from None
    url = services.settings.base_url + path
    if jws.protected.get("url") != url:
        raise CertAuthError(f"the proof's url must be {url}")
    _iat(jws.protected, payload)
    chain = _chain(jws.protected)
    leaf = chain[0]
    _verify_signature(jws, alg, leaf)
    ca = await _issuer(services, leaf)
    _check_validity(leaf)
    await _use_once(services, jws)
    return Proof(certificate=leaf, ca=ca, payload=payload)
