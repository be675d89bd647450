"""Replay nonces (RFC 8555 6.5): issued without any database work, used once across processes.

A nonce is base64url (48 characters, no padding) of 36 bytes:

    expiry (8 bytes, big-endian unix seconds) || random (12 bytes)
    || HMAC-SHA256(nonce_key, expiry || random)[:16]

`nonce_key` is derived from the KEK with HKDF (info b"kms acme nonce v1"), so every process
sharing the KEK and the database accepts every other's nonces, and nobody without the KEK
can mint one. Issuing is therefore free: nothing is stored.

Using a nonce (after the JWS signature has been verified, so forgeries cost no write):
shape check, HMAC check (constant time), expiry check, and then ONE conditional INSERT of
the value into acme_nonces (Store.use_nonce). The primary key makes that insert succeed
for exactly one request across all processes; any later use of the value is a replay
(badNonce). The row is kept until PURGE_GRACE after the nonce's own expiry, so the
maintenance sweep of a process whose clock runs up to PURGE_GRACE ahead never deletes a
row that another process would still need to refuse a replay; after that the expiry check
alone refuses the value.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import re
import secrets
import time
from datetime import UTC, datetime, timedelta

from acme_server.acme.problems import AcmeProblem, bad_nonce
from ca_core.kek import KeyEncryptionKey

NONCE_KEY_INFO = b"kms acme nonce v1"
NONCE_LIFETIME = timedelta(hours=1)
PURGE_GRACE = timedelta(minutes=10)  # clock skew between processes tolerated by the sweep
_EXPIRY_BYTES, _RANDOM_BYTES, _MAC_BYTES = 8, 12, 16
_SIGNED = _EXPIRY_BYTES + _RANDOM_BYTES
NONCE_LENGTH = 48  # base64url of 36 bytes: no padding
_NONCE_SHAPE = re.compile(r"[A-Za-z0-9_-]{48}")  # used with fullmatch: no "\n" after
_LIFETIME_S = int(NONCE_LIFETIME.total_seconds())
_UNKNOWN = "the nonce is missing or not one this server issued"


def check_shape(nonce: object) -> str:
    """Cheap check before any other work (RFC 8555 6.5.1: base64url, no padding)."""
    if not isinstance(nonce, str) or not _NONCE_SHAPE.fullmatch(nonce):
        raise bad_nonce(_UNKNOWN)
    return nonce


class NonceService:
    """Mints and checks nonces with a key derived from the KEK (one per process)."""

    __slots__ = ("_key",)

    def __init__(self, kek: KeyEncryptionKey) -> None:
        self._key = kek.derive_key(NONCE_KEY_INFO)

    def _mac(self, signed: bytes) -> bytes:
        return hmac.digest(self._key, signed, "sha256")[:_MAC_BYTES]  # OpenSSL's one-shot

    def issue(self, now: float | None = None) -> str:
        expiry = int(time.time() if now is None else now) + _LIFETIME_S
        signed = expiry.to_bytes(_EXPIRY_BYTES, "big") + secrets.token_bytes(_RANDOM_BYTES)
        return base64.urlsafe_b64encode(signed + self._mac(signed)).decode("ascii")

    def check(self, nonce: object, now: float | None = None) -> tuple[str, datetime]:
        """(the nonce, when its database row may be purged) for a nonce this server
        minted and that has not expired; badNonce otherwise. No database work: whether it
        was used already is decided by `use`."""
        value = check_shape(nonce)
        try:
            raw = base64.urlsafe_b64decode(value)
        except (ValueError, binascii.Error):
            raise bad_nonce(_UNKNOWN) from None
        signed, mac = raw[:_SIGNED], raw[_SIGNED:]
        if not hmac.compare_digest(mac, self._mac(signed)):
            raise bad_nonce(_UNKNOWN)
        expiry = int.from_bytes(signed[:_EXPIRY_BYTES], "big")
        if expiry <= (time.time() if now is None else now):
            raise bad_nonce("the nonce has expired")
        return value, datetime.fromtimestamp(expiry, UTC) + PURGE_GRACE


def replayed() -> AcmeProblem:
    return bad_nonce("the nonce was already used")


__all__ = ["NONCE_LIFETIME", "NonceService", "check_shape", "replayed"]
