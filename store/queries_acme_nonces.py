"""ACME nonces (RFC 8555 section 6.5): issued as rows, redeemed by deleting the row.

A nonce is good once, across every server process: `redeem_nonce` is a single conditional
DELETE, and only the caller whose DELETE removed the row gets True.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete

from store.base import StoreBase
from store.columns import require_utc
from store.schema import acme_nonces as nonces

NONCE_MAX = 128  # schema: acme_nonces.value


class NonceQueries(StoreBase):
    async def create_nonce(self, value: str, expires_at: datetime) -> None:
        """Store a fresh nonce, good until `expires_at`. Conflict if it exists already."""
        if not value or len(value) > NONCE_MAX:
            raise ValueError(f"a nonce must be 1-{NONCE_MAX} characters")
        values = {"value": value, "expires_at": require_utc(expires_at, "expires_at")}
        async with self._write() as conn:
            await conn.execute(nonces.insert().values(values))

    async def redeem_nonce(self, value: str, now: datetime) -> bool:
        """Consume the nonce: True for the one caller that deleted it while unexpired;
        False if it is unknown, already redeemed or expired."""
        at = require_utc(now, "now")
        async with self._write() as conn:
            result = await conn.execute(
                delete(nonces).where(nonces.c.value == value, nonces.c.expires_at > at)
            )
            return bool(result.rowcount == 1)

    async def purge_nonces(self, now: datetime) -> int:
        """Delete the nonces expired by `now`; returns how many."""
        at = require_utc(now, "now")
        async with self._write() as conn:
            result = await conn.execute(delete(nonces).where(nonces.c.expires_at <= at))
            return int(result.rowcount)
