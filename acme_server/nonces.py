"""Replay nonces (RFC 8555 6.5): random, stored in the database, redeemed once by any process."""

from __future__ import annotations

import re
import secrets
from datetime import UTC, datetime, timedelta

from acme_server.problems import bad_nonce
from store import Store

NONCE_BYTES = 16
NONCE_LIFETIME = timedelta(hours=1)
_NONCE_SHAPE = re.compile(r"^[A-Za-z0-9_-]{22}$")


async def issue_nonce(store: Store) -> str:
    value = secrets.token_urlsafe(NONCE_BYTES)
    await store.create_nonce(value, datetime.now(UTC) + NONCE_LIFETIME)
    return value


def check_shape(nonce: object) -> str:
    """Cheap check before any database work (RFC 8555 6.5.1: base64url, no padding)."""
    if not isinstance(nonce, str) or not _NONCE_SHAPE.match(nonce):
        raise bad_nonce("the nonce is missing or not one this server issued")
    return nonce


async def redeem(store: Store, nonce: str) -> None:
    if not await store.redeem_nonce(nonce, datetime.now(UTC)):
        raise bad_nonce("the nonce was already used, has expired, or was never issued")
