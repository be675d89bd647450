"""Console users and their sessions. The store sees only hashes: `password_hash`
(argon2id) and `token_hash` (SHA-256 hex of the session cookie).

A session counts while it is unrevoked, before its absolute expiry and seen within the
idle limit the caller gives; `touch_session` moves last_seen_at on. Failed sign-ins are
counted per user (`record_failed_login` locks the user until a given time); a success
resets the count.
"""

from __future__ import annotations

import json
from collections.abc import Collection
from datetime import datetime
from typing import Any

from store.base import StoreBase, insert_sql
from store.columns import require_utc, utc_now
from store.db import Row, Sql
from store.queries.identities import grants_text
from store.records import SessionRecord, UserRecord
from store.schema import console_sessions as sessions
from store.schema import console_users as users
from store.values import new_uuid

NAME_MAX = 255
ROLE_MAX = 16

_BY_NAME = Sql("SELECT * FROM console_users WHERE name = :name")
_ALL = Sql("SELECT * FROM console_users ORDER BY created_at, id")
_SET_ACCESS = Sql(
    "UPDATE console_users SET role = :role, profile_grants = :profile_grants WHERE id = :id"
)
_SET_PASSWORD = Sql(
    "UPDATE console_users SET password_hash = :password_hash, "
    "must_change_password = :must_change, failed_logins = 0, locked_until = NULL WHERE id = :id"
)
_SET_DISABLED = Sql("UPDATE console_users SET disabled = :disabled WHERE id = :id")
_FAILED = Sql(
    "UPDATE console_users SET failed_logins = failed_logins + 1, locked_until = :locked_until "
    "WHERE id = :id"
)
_SUCCEEDED = Sql("UPDATE console_users SET failed_logins = 0, locked_until = NULL WHERE id = :id")
_USER_COLUMNS = tuple(column.name for column in users.columns)
_SESSION_COLUMNS = tuple(column.name for column in sessions.columns)
_FIND_SESSION = Sql(
    "SELECT "
    + ", ".join(f's."{name}" AS "s_{name}"' for name in _SESSION_COLUMNS)
    + ", "
    + ", ".join(f'u."{name}" AS "u_{name}"' for name in _USER_COLUMNS)
    + " FROM console_sessions s JOIN console_users u ON s.user_id = u.id"
    " WHERE s.token_hash = :token_hash AND s.revoked_at IS NULL AND s.expires_at > :at"
    " AND s.last_seen_at > :seen_after AND u.disabled = :disabled"
)
_TOUCH = Sql("UPDATE console_sessions SET last_seen_at = :at WHERE id = :id")
_REVOKE = Sql(
    "UPDATE console_sessions SET revoked_at = :at WHERE token_hash = :token_hash "
    "AND revoked_at IS NULL"
)
_REVOKE_ALL = Sql(
    "UPDATE console_sessions SET revoked_at = :at WHERE user_id = :user_id AND revoked_at IS NULL"
)


def _grants(text: str | None) -> tuple[str, ...] | None:
    return None if text is None else tuple(str(i) for i in json.loads(text))


def user_record(row: Row | dict[str, Any]) -> UserRecord:
    return UserRecord(
        id=row["id"],
        name=row["name"],
        password_hash=row["password_hash"],
        role=row["role"],
        profile_grants=_grants(row["profile_grants"]),
        disabled=bool(row["disabled"]),
        must_change_password=bool(row["must_change_password"]),
        failed_logins=int(row["failed_logins"] or 0),
        locked_until=row["locked_until"],
        created_at=row["created_at"],
    )


def session_record(row: Row | dict[str, Any]) -> SessionRecord:
    return SessionRecord(
        id=row["id"],
        user_id=row["user_id"],
        token_hash=row["token_hash"],
        csrf_token=row["csrf_token"],
        last_seen_at=row["last_seen_at"],
        expires_at=row["expires_at"],
        revoked_at=row["revoked_at"],
        created_at=row["created_at"],
    )


class UserQueries(StoreBase):
    async def create_user(
        self,
        *,
        name: str,
        password_hash: str,
        role: str,
        profile_grants: Collection[str] | None,
        must_change_password: bool,
    ) -> UserRecord:
        """Insert an enabled user; Conflict if the name is taken."""
        if not name or len(name) > NAME_MAX:
            raise ValueError(f"a user name must be 1-{NAME_MAX} characters")
        if not role or len(role) > ROLE_MAX or not password_hash:
            raise ValueError("a role and a password hash are required")
        values: dict[str, Any] = {
            "id": new_uuid(),
            "name": name,
            "password_hash": password_hash,
            "role": role,
            "profile_grants": grants_text(profile_grants),
            "disabled": False,
            "must_change_password": must_change_password,
            "failed_logins": 0,
            "locked_until": None,
            "created_at": utc_now(),
        }
        async with self._write() as tx:
            await tx.run(insert_sql(users), values)
            return user_record(await self._one(tx, users, values["id"], "user"))

    async def get_user(self, user_id: str) -> UserRecord:
        async with self._read() as tx:
            return user_record(await self._one(tx, users, user_id, "user"))

    async def get_user_by_name(self, name: str) -> UserRecord | None:
        async with self._read() as tx:
            row = await tx.one(_BY_NAME, {"name": name})
        return None if row is None else user_record(row)

    async def list_users(self) -> list[UserRecord]:
        async with self._read() as tx:
            return [user_record(row) for row in await tx.all(_ALL)]

    async def set_user_access(
        self, user_id: str, *, role: str, profile_grants: Collection[str] | None
    ) -> UserRecord:
        values = {"id": user_id, "role": role, "profile_grants": grants_text(profile_grants)}
        async with self._write() as tx:
            await tx.run(_SET_ACCESS, values)
            return user_record(await self._one(tx, users, user_id, "user"))

    async def set_user_password(
        self,
        user_id: str,
        password_hash: str,
        *,
        must_change: bool,
        end_sessions_at: datetime | None = None,
    ) -> UserRecord:
        """A new password (the lock and failure count cleared); NotFound for an unknown id.
        `end_sessions_at`: the user's sessions are revoked then, in the same transaction."""
        values = {"id": user_id, "password_hash": password_hash, "must_change": must_change}
        async with self._write() as tx:
            await tx.run(_SET_PASSWORD, values)
            if end_sessions_at is not None:
                at = require_utc(end_sessions_at, "end_sessions_at")
                await tx.run(_REVOKE_ALL, {"user_id": user_id, "at": at})
            return user_record(await self._one(tx, users, user_id, "user"))

    async def set_user_disabled(self, user_id: str, disabled: bool, now: datetime) -> UserRecord:
        """Enable or disable; disabling revokes the user's sessions in the same transaction."""
        async with self._write() as tx:
            await tx.run(_SET_DISABLED, {"id": user_id, "disabled": disabled})
            if disabled:
                await tx.run(_REVOKE_ALL, {"user_id": user_id, "at": require_utc(now, "now")})
            return user_record(await self._one(tx, users, user_id, "user"))

    async def record_failed_login(self, user_id: str, locked_until: datetime | None) -> None:
        async with self._write() as tx:
            await tx.run(_FAILED, {"id": user_id, "locked_until": locked_until})

    async def record_login(self, user_id: str) -> None:
        async with self._write() as tx:
            await tx.run(_SUCCEEDED, {"id": user_id})

    async def create_session(
        self, *, user_id: str, token_hash: str, csrf_token: str, now: datetime, expires_at: datetime
    ) -> SessionRecord:
        values: dict[str, Any] = {
            "id": new_uuid(),
            "user_id": user_id,
            "token_hash": token_hash,
            "csrf_token": csrf_token,
            "last_seen_at": require_utc(now, "now"),
            "expires_at": require_utc(expires_at, "expires_at"),
            "revoked_at": None,
            "created_at": now,
        }
        async with self._write() as tx:
            await self._require(tx, users, user_id, "user")
            await tx.run(insert_sql(sessions), values)
            return session_record(await self._one(tx, sessions, values["id"], "session"))

    async def find_session(
        self, token_hash: str, now: datetime, seen_after: datetime
    ) -> tuple[SessionRecord, UserRecord] | None:
        """The live session with this hash and its enabled user; None otherwise."""
        params = {
            "token_hash": token_hash,
            "at": require_utc(now, "now"),
            "seen_after": require_utc(seen_after, "seen_after"),
            "disabled": False,
        }
        async with self._read() as tx:
            row = await tx.one(_FIND_SESSION, params)
        if row is None:
            return None
        session = {name: row[f"s_{name}"] for name in _SESSION_COLUMNS}
        user = {name: row[f"u_{name}"] for name in _USER_COLUMNS}
        return session_record(session), user_record(user)

    async def touch_session(self, session_id: str, now: datetime) -> None:
        async with self._write() as tx:
            await tx.run(_TOUCH, {"id": session_id, "at": require_utc(now, "now")})

    async def revoke_session(self, token_hash: str, now: datetime) -> bool:
        async with self._write() as tx:
            return await tx.run(_REVOKE, {"token_hash": token_hash, "at": now}) == 1
