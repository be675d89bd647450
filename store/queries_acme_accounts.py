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

from sqlalchemy import func, literal, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from store.acme_rows import account_record, eab_key_record, load_account
from store.base import StoreBase
from store.columns import UtcDateTime, require_utc, utc_now
from store.interface import Conflict, NotFound
from store.records import AccountRecord, EABKeyRecord
from store.schema import acme_accounts as accounts
from store.schema import acme_eab_keys as eab_keys
from store.schema import certificate_profiles as profiles
from store.values import new_uuid

THUMBPRINT_MAX = 128  # schema: acme_accounts.jwk_thumbprint


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
        async with self._write() as conn:
            await self._require(conn, profiles, profile_id, "profile")
            key = None
            if eab_key_id is not None:
                key = await self._usable_eab_key(conn, eab_key_id, profile_id)
            await conn.execute(accounts.insert().values(values))
            if key is not None:
                await self._consume_eab_key(conn, key, values["id"], at)
            return await load_account(conn, values["id"])

    @staticmethod
    async def _usable_eab_key(conn: AsyncConnection, kid: str, profile_id: str) -> EABKeyRecord:
        result = await conn.execute(select(eab_keys).where(eab_keys.c.id == kid))
        row = result.mappings().one_or_none()
        if row is None or row["profile_id"] != profile_id:
            raise NotFound(f"external account binding key {kid} not found")
        key = eab_key_record(row)
        if key.revoked_at is not None or (not key.reusable and key.used_at is not None):
            raise _refusal(key)
        return key

    @staticmethod
    async def _consume_eab_key(
        conn: AsyncConnection, key: EABKeyRecord, account_id: str, at: datetime
    ) -> None:
        """The conditional write that decides a race between registrations for one key."""
        query = update(eab_keys).where(eab_keys.c.id == key.id, eab_keys.c.revoked_at.is_(None))
        if key.reusable:
            used_at = func.coalesce(eab_keys.c.used_at, literal(at, UtcDateTime()))
            result = await conn.execute(query.values(used_at=used_at))
        else:
            result = await conn.execute(
                query.where(eab_keys.c.used_at.is_(None)).values(
                    used_at=at, bound_account_id=account_id
                )
            )
        if result.rowcount == 0:  # revoked or consumed since it was read: roll back
            row = await StoreBase._one(conn, eab_keys, key.id, "external account binding key")
            raise _refusal(eab_key_record(row))

    async def get_account(self, account_id: str) -> AccountRecord:
        async with self._read() as conn:
            return await load_account(conn, account_id)

    async def get_account_by_thumbprint(
        self, profile_id: str, thumbprint: str
    ) -> AccountRecord | None:
        """The profile's account with this key (any status), or None (section 7.3.1)."""
        async with self._read() as conn:
            result = await conn.execute(
                select(accounts).where(
                    accounts.c.profile_id == profile_id, accounts.c.jwk_thumbprint == thumbprint
                )
            )
            row = result.mappings().one_or_none()
        return None if row is None else account_record(row)

    async def update_account_contact(
        self, account_id: str, contact: Sequence[str]
    ) -> AccountRecord:
        """Replace the contact URLs (section 7.3.2), whatever the account's status."""
        checked = _check_contact(contact)
        async with self._write() as conn:
            result = await conn.execute(
                update(accounts)
                .where(accounts.c.id == account_id)
                .values(contact=checked, updated_at=utc_now())
            )
            if result.rowcount == 0:
                raise NotFound(f"account {account_id} not found")
            return await load_account(conn, account_id)

    async def deactivate_account(self, account_id: str, now: datetime) -> bool:
        """valid -> deactivated (section 7.3.6); False if it was not valid. Its orders and
        authorizations are left as they are."""
        at = require_utc(now, "now")
        async with self._write() as conn:
            result = await conn.execute(
                update(accounts)
                .where(accounts.c.id == account_id, accounts.c.status == "valid")
                .values(status="deactivated", updated_at=at)
            )
            if result.rowcount == 0:
                await self._require(conn, accounts, account_id, "account")
                return False
            return True

    async def change_account_key(
        self, account_id: str, *, jwk: dict[str, Any], jwk_thumbprint: str
    ) -> None:
        """Replace the account key (section 7.3.5). Conflict if another account of the
        same profile has this thumbprint; NotFound for a missing account."""
        values = {
            "jwk": dict(jwk),
            "jwk_thumbprint": _check_thumbprint(jwk_thumbprint),
            "updated_at": utc_now(),
        }
        async with self._write() as conn:
            result = await conn.execute(
                update(accounts).where(accounts.c.id == account_id).values(values)
            )
            if result.rowcount == 0:
                raise NotFound(f"account {account_id} not found")
