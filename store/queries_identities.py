"""Machine identities and their access tokens (the REST API's credentials).

The store sees only hashes: `secret_hash` (a slow hash of the client secret) and
`token_hash` (SHA-256 hex of the Bearer token). A token counts only while it is unexpired,
unrevoked and its identity is enabled; `find_access_token` checks all three in one query.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, select, update

from store.base import StoreBase
from store.columns import require_utc, utc_now
from store.records import AccessTokenRecord, IdentityRecord
from store.schema import access_tokens as tokens
from store.schema import machine_identities as identities
from store.values import new_uuid

NAME_MAX = 255  # schema: machine_identities.name
CLIENT_ID_MAX = 255  # schema: machine_identities.client_id
TOKEN_HASH_MAX = 128  # schema: access_tokens.token_hash


def identity_record(row: Any) -> IdentityRecord:
    return IdentityRecord(
        id=row["id"],
        name=row["name"],
        client_id=row["client_id"],
        secret_hash=row["secret_hash"],
        disabled=bool(row["disabled"]),
        created_at=row["created_at"],
    )


def access_token_record(row: Any) -> AccessTokenRecord:
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
        self, *, name: str, client_id: str, secret_hash: str
    ) -> IdentityRecord:
        """Insert an enabled identity with a new id; Conflict if the client id is taken."""
        _check_length(name, NAME_MAX, "an identity name")
        _check_length(client_id, CLIENT_ID_MAX, "a client id")
        if not secret_hash:
            raise ValueError("secret_hash must not be empty")
        identity_id = new_uuid()
        async with self._write() as conn:
            await conn.execute(
                identities.insert().values(
                    id=identity_id,
                    name=name,
                    client_id=client_id,
                    secret_hash=secret_hash,
                    disabled=False,
                    created_at=utc_now(),
                )
            )
            return identity_record(await self._one(conn, identities, identity_id, "identity"))

    async def get_identity(self, identity_id: str) -> IdentityRecord:
        """The identity with this id, or NotFound."""
        async with self._read() as conn:
            return identity_record(await self._one(conn, identities, identity_id, "identity"))

    async def get_identity_by_client_id(self, client_id: str) -> IdentityRecord | None:
        async with self._read() as conn:
            result = await conn.execute(
                select(identities).where(identities.c.client_id == client_id)
            )
            row = result.mappings().one_or_none()
        return None if row is None else identity_record(row)

    async def list_identities(self) -> list[IdentityRecord]:
        """Every identity, oldest first (disabled ones too)."""
        async with self._read() as conn:
            result = await conn.execute(
                select(identities).order_by(identities.c.created_at, identities.c.id)
            )
            return [identity_record(row) for row in result.mappings()]

    async def set_identity_disabled(self, identity_id: str, disabled: bool) -> bool:
        """Enable or disable; False if it already was so; NotFound for an unknown id."""
        async with self._write() as conn:
            result = await conn.execute(
                update(identities)
                .where(identities.c.id == identity_id, identities.c.disabled != disabled)
                .values(disabled=disabled)
            )
            if result.rowcount == 0:
                await self._require(conn, identities, identity_id, "identity")
                return False
            return True

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
        async with self._write() as conn:
            await self._require(conn, identities, identity_id, "identity")
            await conn.execute(tokens.insert().values(values))
            return access_token_record(await self._one(conn, tokens, values["id"], "token"))

    async def find_access_token(
        self, token_hash: str, now: datetime
    ) -> tuple[AccessTokenRecord, IdentityRecord] | None:
        """The live token with this hash and its identity: unexpired at `now`, unrevoked,
        identity enabled. None otherwise (which of these failed is not told)."""
        at = require_utc(now, "now")
        query = (
            select(
                *[c.label(f"t_{c.name}") for c in tokens.c],
                *[c.label(f"i_{c.name}") for c in identities.c],
            )
            .select_from(tokens.join(identities, tokens.c.identity_id == identities.c.id))
            .where(
                tokens.c.token_hash == token_hash,
                tokens.c.expires_at > at,
                tokens.c.revoked_at.is_(None),
                identities.c.disabled.is_(False),
            )
        )
        async with self._read() as conn:
            row = (await conn.execute(query)).mappings().one_or_none()
        if row is None:
            return None
        token = {c.name: row[f"t_{c.name}"] for c in tokens.c}
        identity = {c.name: row[f"i_{c.name}"] for c in identities.c}
        return access_token_record(token), identity_record(identity)

    async def revoke_access_token(self, token_hash: str, now: datetime) -> bool:
        """Revoke an unexpired, unrevoked token; False otherwise (unknown, expired, revoked)."""
        at = require_utc(now, "now")
        async with self._write() as conn:
            result = await conn.execute(
                update(tokens)
                .where(
                    tokens.c.token_hash == token_hash,
                    tokens.c.revoked_at.is_(None),
                    tokens.c.expires_at > at,
                )
                .values(revoked_at=at)
            )
            return bool(result.rowcount == 1)

    async def purge_access_tokens(self, now: datetime) -> int:
        """Delete tokens expired at `now` (revoked or not); how many went."""
        at = require_utc(now, "now")
        async with self._write() as conn:
            result = await conn.execute(delete(tokens).where(tokens.c.expires_at <= at))
            return int(result.rowcount)
