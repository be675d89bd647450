"""External Account Binding keys (RFC 8555 section 7.3.4), per profile.

The HMAC key arrives encrypted by the caller (ca_core/kek.py); the store never sees it in
the clear. A single-use key is consumed by `create_account` in the account's transaction.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from store.acme_rows import eab_key_record
from store.base import StoreBase, insert_sql
from store.columns import require_utc, utc_now
from store.db import Sql
from store.records import EABKeyRecord
from store.schema import acme_eab_keys as eab_keys
from store.schema import certificate_profiles as profiles

KID_MAX = 255  # schema: acme_eab_keys.id
HMAC_ALG_MAX = 16  # schema: acme_eab_keys.hmac_alg

_LIST = Sql("SELECT * FROM acme_eab_keys WHERE profile_id = :profile_id ORDER BY created_at, id")
_REVOKE = Sql("UPDATE acme_eab_keys SET revoked_at = :at WHERE id = :id AND revoked_at IS NULL")


class EABQueries(StoreBase):
    async def create_eab_key(
        self,
        *,
        kid: str,
        profile_id: str,
        encrypted_hmac_key: bytes,
        hmac_alg: str,
        reusable: bool,
    ) -> EABKeyRecord:
        """Insert an unused key. Conflict on a taken kid; NotFound for a missing profile."""
        if not kid or len(kid) > KID_MAX:
            raise ValueError(f"an EAB key id must be 1-{KID_MAX} characters")
        if not hmac_alg or len(hmac_alg) > HMAC_ALG_MAX:
            raise ValueError(f"hmac_alg must be 1-{HMAC_ALG_MAX} characters, got {hmac_alg!r}")
        values: dict[str, Any] = {
            "id": kid,
            "profile_id": profile_id,
            "encrypted_hmac_key": encrypted_hmac_key,
            "hmac_alg": hmac_alg,
            "reusable": reusable,
            "used_at": None,
            "bound_account_id": None,
            "created_at": utc_now(),
            "revoked_at": None,
        }
        async with self._write() as tx:
            await self._require(tx, profiles, profile_id, "profile")
            await tx.run(insert_sql(eab_keys), values)
            return eab_key_record(await self._one(tx, eab_keys, kid, "EAB key"))

    async def get_eab_key(self, kid: str) -> EABKeyRecord:
        async with self._read() as tx:
            return eab_key_record(await self._one(tx, eab_keys, kid, "EAB key"))

    async def list_eab_keys(self, profile_id: str) -> list[EABKeyRecord]:
        """The profile's keys, oldest first (revoked and used ones too)."""
        async with self._read() as tx:
            await self._require(tx, profiles, profile_id, "profile")
            rows = await tx.all(_LIST, {"profile_id": profile_id})
            return [eab_key_record(row) for row in rows]

    async def revoke_eab_key(self, kid: str, now: datetime) -> bool:
        """Refuse the key from now on; False if it was revoked already. Accounts already
        bound by it stay as they are."""
        at = require_utc(now, "now")
        async with self._write() as tx:
            if await tx.run(_REVOKE, {"id": kid, "at": at}) == 0:
                await self._require(tx, eab_keys, kid, "EAB key")
                return False
            return True
