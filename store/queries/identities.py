"""Machine identities and their access tokens (the REST API's credentials).

The store sees only hashes: `secret_hash` (a slow hash of the client secret) and
`token_hash` (SHA-256 hex of the Bearer token). A token counts only while it is unexpired,
unrevoked and its identity is enabled; `find_access_token` checks all three in one query.
"""

from __future__ import annotations

import json
from collections.abc import Collection
from datetime import datetime
from typing import Any

from store.base import StoreBase, insert_sql
from store.columns import require_utc, utc_now
from store.db import Row, Sql
from store.records import AccessTokenRecord, IdentityRecord
from store.schema import access_tokens as tokens
from store.schema import machine_identities as identities
from store.values import new_uuid

NAME_MAX = 255  # schema: machine_identities.name
CLIENT_ID_MAX = 255  # schema: machine_identities.client_id
TOKEN_HASH_MAX = 128  # schema: access_tokens.token_hash
ROLE_MAX = 16  # schema: machine_identities.role

_TOKEN_COLUMNS = tuple(column.name for column in tokens.columns)
_IDENTITY_COLUMNS = tuple(column.name for column in identities.columns)

_BY_CLIENT_ID = Sql("SELECT * FROM machine_identities WHERE client_id = :client_id")
_ALL = Sql("SELECT * FROM machine_identities ORDER BY created_at, id")
_SET_ACCESS = Sql(
    "UPDATE machine_identities SET role = :role, profile_grants = :profile_grants WHERE id = :id"
)
_SET_DISABLED = Sql(
    "UPDATE machine_identities SET disabled = :disabled WHERE id = :id AND disabled <> :disabled"
)
_FIND_TOKEN = Sql(
    "SELECT "
    + ", ".join(f't."{name}" AS "t_{name}"' for name in _TOKEN_COLUMNS)
    + ", "
    + ", ".join(f'i."{name}" AS "i_{name}"' for name in _IDENTITY_COLUMNS)
    + " FROM access_tokens t JOIN machine_identities i ON t.identity_id = i.id"
    " WHERE t.token_hash = :token_hash AND t.expires_at > :at"
    " AND t.revoked_at IS NULL AND i.disabled = :disabled"
)
_REVOKE_TOKEN = Sql(
    "UPDATE access_tokens SET revoked_at = :at "
    "WHERE token_hash = :token_hash AND revoked_at IS NULL AND expires_at > :at"
)
_PURGE_TOKENS = Sql("DELETE FROM access_tokens WHERE expires_at <= :at")


def grants_text(profile_grants: Collection[str] | None) -> str | None:
    """The stored form of a grant list: a JSON array of sorted, distinct profile ids, or
    NULL for every profile."""
    if profile_grants is None:
        return None
    return json.dumps(sorted(set(profile_grants)))


def _grants(text: str | None) -> tuple[str, ...] | None:
    if text is None:
        return None
    loaded = json.loads(text)
    return tuple(str(profile_id) for profile_id in loaded)


def identity_record(row: Row) -> IdentityRecord:
    return IdentityRecord(
        id=row["id"],
        name=row["name"],
        client_id=row["client_id"],
        secret_hash=row["secret_hash"],
        disabled=bool(row["disabled"]),
        created_at=row["created_at"],
        role=row["role"],
        profile_grants=_grants(row["profile_grants"]),
    )


def access_token_record(row: Row) -> AccessTokenRecord:
    return AccessTokenRecord(
        id=row["id"],
        identity_id=row["identity_id"],
        token_hash=row["token_hash"],
        expires_at=row["expires_at"],
        revoked_at=row["revoked_at"],
        created_at=row["created_at"],
    )


def _check_length(value: str, limit: int, what: str) -> None:
    if not value or len(value) > limit:
        raise ValueError(f"{what} must be 1-{limit} characters")


class IdentityQueries(StoreBase):
    async def create_identity(
        self,
        *,
        name: str,
        client_id: str,
        secret_hash: str,
        role: str = "issuer",
        profile_grants: Collection[str] | None = None,
    ) -> IdentityRecord:
        """Insert an enabled identity with a new id; Conflict if the client id is taken.
        `role` is not checked here beyond its length (the services know the roles);
        `profile_grants` None reaches every profile."""
        _check_length(name, NAME_MAX, "an identity name")
        _check_length(client_id, CLIENT_ID_MAX, "a client id")
        _check_length(role, ROLE_MAX, "a role")
        if not secret_hash:
            raise ValueError("secret_hash must not be empty")
        values: dict[str, Any] = {
            "id": new_uuid(),
            "name": name,
            "client_id": client_id,
            "secret_hash": secret_hash,
            "disabled": False,
            "created_at": utc_now(),
            "role": role,
            "profile_grants": grants_text(profile_grants),
        }
        async with self._write() as tx:
            await tx.run(insert_sql(identities), values)
            return identity_record(await self._one(tx, identities, values["id"], "identity"))

    async def get_identity(self, identity_id: str) -> IdentityRecord:
        """The identity with this id, or NotFound."""
        async with self._read() as tx:
            return identity_record(await self._one(tx, identities, identity_id, "identity"))

    async def get_identity_by_client_id(self, client_id: str) -> IdentityRecord | None:
        async with self._read() as tx:
            row = await tx.one(_BY_CLIENT_ID, {"client_id": client_id})
        return None if row is None else identity_record(row)

    async def list_identities(self) -> list[IdentityRecord]:
        """Every identity, oldest first (disabled ones too)."""
        async with self._read() as tx:
            return [identity_record(row) for row in await tx.all(_ALL)]

    async def set_identity_disabled(self, identity_id: str, disabled: bool) -> bool:
        """Enable or disable; False if it already was so; NotFound for an unknown id."""
        async with self._write() as tx:
            if await tx.run(_SET_DISABLED, {"id": identity_id, "disabled": disabled}) == 0:
                await self._require(tx, identities, identity_id, "identity")
                return False
            return True

    async def set_identity_access(
        self, identity_id: str, *, role: str, profile_grants: Collection[str] | None
    ) -> IdentityRecord:
        """Set the role and the profile grants together (None: every profile); the
        identity as it is now. NotFound for an unknown id."""
        _check_length(role, ROLE_MAX, "a role")
        values = {"id": identity_id, "role": role, "profile_grants": grants_text(profile_grants)}
        async with self._write() as tx:
            await tx.run(_SET_ACCESS, values)
            return identity_record(await self._one(tx, identities, identity_id, "identity"))

    async def create_access_token(
        self, *, identity_id: str, token_hash: str, expires_at: datetime
    ) -> AccessTokenRecord:
        """Store a token's hash; NotFound for an unknown identity, Conflict on a reused hash."""
        _check_length(token_hash, TOKEN_HASH_MAX, "a token hash")
        values: dict[str, Any] = {
            "id": new_uuid(),
            "identity_id": identity_id,
            "token_hash": token_hash,
            "expires_at": require_utc(expires_at, "expires_at"),
            "revoked_at": None,
            "created_at": utc_now(),
        }
        async with self._write() as tx:
            await self._require(tx, identities, identity_id, "identity")
            await tx.run(insert_sql(tokens), values)
            return access_token_record(await self._one(tx, tokens, values["id"], "token"))

    async def find_access_token(
        self, token_hash: str, now: datetime
    ) -> tuple[AccessTokenRecord, IdentityRecord] | None:
        """The live token with this hash and its identity: unexpired at `now`, unrevoked,
        identity enabled. None otherwise (which of these failed is not told)."""
        params = {"token_hash": token_hash, "at": require_utc(now, "now"), "disabled": False}
        async with self._read() as tx:
            row = await tx.one(_FIND_TOKEN, params)
        if row is None:
            return None
        token = {name: row[f"t_{name}"] for name in _TOKEN_COLUMNS}
        identity = {name: row[f"i_{name}"] for name in _IDENTITY_COLUMNS}
        return access_token_record(token), identity_record(identity)

    async def revoke_access_token(self, token_hash: str, now: datetime) -> bool:
        """Revoke an unexpired, unrevoked token; False otherwise (unknown, expired, revoked)."""
        at = require_utc(now, "now")
        async with self._write() as tx:
            return await tx.run(_REVOKE_TOKEN, {"token_hash": token_hash, "at": at}) == 1

    async def purge_access_tokens(self, now: datetime) -> int:
        """Delete tokens expired at `now` (revoked or not); how many went."""
        at = require_utc(now, "now")
        async with self._write() as tx:
            return await tx.run(_PURGE_TOKENS, {"at": at})
