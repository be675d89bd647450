"""ACME nonces (RFC 8555 section 6.5): a row per nonce that has been USED.

Issuing a nonce stores nothing (the server authenticates its nonces with a MAC, see
acme_server/acme/nonces.py). Using one is a single conditional INSERT of its value, the primary
key (INSERT .. ON CONFLICT DO NOTHING on both backends): of any number of concurrent uses,
in any number of processes, exactly one inserts the row and gets True. The row is kept
until `expires_at`, after which the caller's own expiry check refuses the value and
`purge_nonces` may delete it.

`use_nonce_and_get_account` does the same insert and reads an account with no BEGIN/COMMIT,
so a kid-signed ACME request costs one round trip on PostgreSQL (the insert is a
data-modifying CTE of the read: both see the same snapshot, taken when the nonce was used)
and two statements on SQLite, where the read starts after the insert committed. Either way
the account reflects every change committed before the nonce was used.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from store.acme_rows import ACCOUNT_BY_ID, account_record
from store.base import StoreBase
from store.columns import require_utc
from store.db import Sql, Tx
from store.records import AccountRecord

NONCE_MAX = 128  # schema: acme_nonces.value

_USE = Sql(
    "INSERT INTO acme_nonces (value, expires_at) VALUES (:value, :expires_at) "
    "ON CONFLICT (value) DO NOTHING"
)
_USE_AND_READ_ACCOUNT = Sql(  # PostgreSQL only: SQLite has no INSERT inside WITH
    "WITH used AS (INSERT INTO acme_nonces (value, expires_at) VALUES (:value, :expires_at) "
    "ON CONFLICT (value) DO NOTHING RETURNING 1) "
    "SELECT EXISTS (SELECT 1 FROM used) AS nonce_fresh, a.* "
    "FROM (SELECT 1) AS one LEFT JOIN acme_accounts a ON a.id = :id"
)
_PURGE = Sql("DELETE FROM acme_nonces WHERE expires_at <= :at")


class NonceQueries(StoreBase):
    def _nonce_values(self, value: str, expires_at: datetime) -> dict[str, Any]:
        if not value or len(value) > NONCE_MAX:
            raise ValueError(f"a nonce must be 1-{NONCE_MAX} characters")
        return {"value": value, "expires_at": require_utc(expires_at, "expires_at")}

    @staticmethod
    async def _insert_nonce(tx: Tx, values: dict[str, Any]) -> bool:
        return await tx.run(_USE, values) == 1

    async def use_nonce(self, value: str, expires_at: datetime) -> bool:
        """Record the nonce as used (kept until `expires_at`): True for the one caller
        that inserted it, False if it was used before (a replay)."""
        values = self._nonce_values(value, expires_at)
        async with self._autocommit() as tx:
            return await self._insert_nonce(tx, values)

    async def use_nonce_and_get_account(
        self, value: str, expires_at: datetime, account_id: str
    ) -> tuple[bool, AccountRecord | None]:
        """`use_nonce` and the account as it is (None if missing), reflecting every change
        committed before the nonce was used (see the module docstring)."""
        values = self._nonce_values(value, expires_at)
        if self._backend == "postgresql":
            async with self._autocommit() as tx:
                found = await tx.one(_USE_AND_READ_ACCOUNT, {**values, "id": account_id})
            assert found is not None  # one row, whether or not the account exists
            if found["id"] is None:
                return bool(found["nonce_fresh"]), None
            account = {k: v for k, v in found.items() if k != "nonce_fresh"}
            return bool(found["nonce_fresh"]), account_record(account)
        async with self._autocommit() as tx:  # the read follows the committed insert
            fresh = await self._insert_nonce(tx, values)
            row = await tx.one(ACCOUNT_BY_ID, {"id": account_id})
            return fresh, None if row is None else account_record(row)

    async def purge_nonces(self, now: datetime) -> int:
        """Delete the used nonces whose rows expired by `now`; returns how many."""
        at = require_utc(now, "now")
        async with self._write() as tx:
            return await tx.run(_PURGE, {"at": at})
