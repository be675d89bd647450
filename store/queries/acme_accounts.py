"""ACME accounts (RFC 8555 section 7.3): one per (profile, key thumbprint).

`create_account` binds an External Account Binding key in the account's own transaction:
the account row goes in first, so a duplicate key (Conflict) rolls back before the EAB key
is touched, and a single-use EAB key is then consumed by a conditional UPDATE (used_at IS
NULL), so of two registrations racing for one key exactly one gets an account.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from store.acme_rows import account_record, eab_key_record, load_account
from store.base import StoreBase, insert_sql, select_by_id_sql
from store.columns import require_utc, utc_now
from store.db import Sql, Tx
from store.interface import Conflict, NotFound
from store.records import AccountRecord, EABKeyRecord
from store.schema import acme_accounts as accounts
from store.schema import acme_eab_keys as eab_keys
from store.schema import certificate_profiles as profiles
from store.values import new_uuid

THUMBPRINT_MAX = 128  # schema: acme_accounts.jwk_thumbprint

_BY_THUMBPRINT = Sql(
    "SELECT * FROM acme_accounts WHERE profile_id = :profile_id AND jwk_thumbprint = :thumb"
)
_CONSUME_REUSABLE = Sql(
    "UPDATE acme_eab_keys SET used_at = COALESCE(used_at, :at) "
    "WHERE id = :id AND revoked_at IS NULL"
)
_CONSUME_SINGLE_USE = Sql(
    "UPDATE acme_eab_keys SET used_at = :at, bound_account_id = :account_id "
    "WHERE id = :id AND revoked_at IS NULL AND used_at IS NULL"
)
_SET_CONTACT = Sql("UPDATE acme_accounts SET contact = :contact, updated_at = :at WHERE id = :id")
_DEACTIVATE = Sql(
    "UPDATE acme_accounts SET status = 'deactivated', updated_at = :at "
    "WHERE id = :id AND status = 'valid'"
)
_CHANGE_KEY = Sql(
    "UPDATE acme_accounts SET jwk = :jwk, jwk_thumbprint = :jwk_thumbprint, "
    "updated_at = :updated_at WHERE id = :id"
)


def _check_thumbprint(thumbprint: str) -> str:
    if not thumbprint or len(thumbprint) > THUMBPRINT_MAX:
        raise ValueError(f"a JWK thumbprint must be 1-{THUMBPRINT_MAX} characters")
    return thumbprint


def _check_contact(contact: Sequence[str]) -> list[str]:
    if isinstance(contact, str) or not all(isinstance(item, str) for item in contact):
        raise ValueError("contact must be a list of strings (URLs)")
    return list(contact)


def _refusal(key: EABKeyRecord) -> Conflict:
    if key.revoked_at is not None:
        return Conflict(f"external account binding key {key.id} was revoked")
    return Conflict(f"external account binding key {key.id} already used")


class AccountQueries(StoreBase):
    async def create_account(
        self,
        *,
        profile_id: str,
        jwk_thumbprint: str,
        jwk: dict[str, Any],
        contact: Sequence[str],
        terms_of_service_agreed: bool,
        eab_key_id: str | None,
        now: datetime,
    ) -> AccountRecord:
        """Insert a `valid` account and, with `eab_key_id`, bind that EAB key to it.

        NotFound for a missing profile, or an EAB key missing or of another profile.
        Conflict (nothing inserted, no key consumed) when an account of this profile has
        the thumbprint, or the EAB key was revoked, or it is single-use and already used.
        A single-use key records used_at and bound_account_id; a reusable one used_at once.
        """
        at = require_utc(now, "now")
        values: dict[str, Any] = {
            "id": new_uuid(),
            "profile_id": profile_id,
            "jwk_thumbprint": _check_thumbprint(jwk_thumbprint),
            "jwk": dict(jwk),
            "contact": _check_contact(contact),
            "status": "valid",
            "terms_of_service_agreed": terms_of_service_agreed,
            "eab_key_id": eab_key_id,
            "created_at": at,
            "updated_at": at,
        }
        async with self._write() as tx:
            await self._require(tx, profiles, profile_id, "profile")
            key = None
            if eab_key_id is not None:
                key = await self._usable_eab_key(tx, eab_key_id, profile_id)
            await tx.run(insert_sql(accounts), values)
            if key is not None:
                await self._consume_eab_key(tx, key, values["id"], at)
            return await load_account(tx, values["id"])

    @staticmethod
    async def _usable_eab_key(tx: Tx, kid: str, profile_id: str) -> EABKeyRecord:
        row = await tx.one(select_by_id_sql(eab_keys), {"id": kid})
        if row is None or row["profile_id"] != profile_id:
            raise NotFound(f"external account binding key {kid} not found")
        key = eab_key_record(row)
        if key.revoked_at is not None or (not key.reusable and key.used_at is not None):
            raise _refusal(key)
        return key

    @staticmethod
    async def _consume_eab_key(tx: Tx, key: EABKeyRecord, account_id: str, at: datetime) -> None:
        """The conditional write that decides a race between registrations for one key."""
        if key.reusable:
            count = await tx.run(_CONSUME_REUSABLE, {"id": key.id, "at": at})
        else:
            count = await tx.run(
                _CONSUME_SINGLE_USE, {"id": key.id, "at": at, "account_id": account_id}
            )
        if count == 0:  # revoked or consumed since it was read: roll back
            row = await StoreBase._one(tx, eab_keys, key.id, "external account binding key")
            raise _refusal(eab_key_record(row))

    async def get_account(self, account_id: str) -> AccountRecord:
        async with self._read() as tx:
            return await load_account(tx, account_id)

    async def get_account_by_thumbprint(
        self, profile_id: str, thumbprint: str
    ) -> AccountRecord | None:
        """The profile's account with this key (any status), or None (section 7.3.1)."""
        async with self._read() as tx:
            row = await tx.one(_BY_THUMBPRINT, {"profile_id": profile_id, "thumb": thumbprint})
        return None if row is None else account_record(row)

    async def update_account_contact(
        self, account_id: str, contact: Sequence[str]
    ) -> AccountRecord:
        """Replace the contact URLs (section 7.3.2), whatever the account's status."""
        checked = _check_contact(contact)
        async with self._write() as tx:
            params = {"id": account_id, "contact": checked, "at": utc_now()}
            if await tx.run(_SET_CONTACT, params) == 0:
                raise NotFound(f"account {account_id} not found")
            return await load_account(tx, account_id)

    async def deactivate_account(self, account_id: str, now: datetime) -> bool:
        """valid -> deactivated (section 7.3.6); False if it was not valid. Its orders and
        authorizations are left as they are."""
        at = require_utc(now, "now")
        async with self._write() as tx:
            if await tx.run(_DEACTIVATE, {"id": account_id, "at": at}) == 0:
                await self._require(tx, accounts, account_id, "account")
                return False
            return True

    async def change_account_key(
        self, account_id: str, *, jwk: dict[str, Any], jwk_thumbprint: str
    ) -> None:
        """Replace the account key (section 7.3.5). Conflict if another account of the
        same profile has this thumbprint; NotFound for a missing account."""
        values = {
            "id": account_id,
            "jwk": dict(jwk),
            "jwk_thumbprint": _check_thumbprint(jwk_thumbprint),
            "updated_at": utc_now(),
        }
        async with self._write() as tx:
            if await tx.run(_CHANGE_KEY, values) == 0:
                raise NotFound(f"account {account_id} not found")
