"""Console users: the same roles and profile grants as machine identities
(services/roles.py), a password hashed with argon2id (argon2-cffi's defaults: RFC 9106's
second recommended profile), hashing in a worker thread so the event loop never waits.

    user = await create_user(services, "alice", password, role="admin")
    user = await reset_password(services, "alice", new_password, must_change=True)
    user = await set_disabled(services, "alice", True)      # its sessions end at once

Passwords are never logged or audited; a password shorter than MIN_PASSWORD is refused.
"""

from __future__ import annotations

import asyncio

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from acme_server.services import audit
from acme_server.services.context import Services
from acme_server.services.errors import ConflictError, InvalidRequestError, NotFoundError
from acme_server.services.identities.tokens import checked_access
from acme_server.services.roles import ISSUER
from store import Conflict, NotFound, UserRecord
from store.columns import utc_now

MIN_PASSWORD = 12
MAX_PASSWORD = 1024  # longer ones are refused before the (memory-hard) hash
NAME_MAX = 255
_HASHER = PasswordHasher()
# Verified against when the name is unknown, so both paths cost one argon2id run.
_DUMMY_HASH = _HASHER.hash("not a password of anyone")


def checked_password(password: str) -> str:
    if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        raise InvalidRequestError(f"a password must be {MIN_PASSWORD}-{MAX_PASSWORD} characters")
    return password


async def hash_password(password: str) -> str:
    return await asyncio.to_thread(_HASHER.hash, checked_password(password))


def _verify_sync(stored: str, password: str) -> bool:
    try:
        return _HASHER.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


async def verify_password(user: UserRecord | None, password: str) -> bool:
    """Whether `password` is the user's; for no user, the same work and False."""
    stored = user.password_hash if user is not None else _DUMMY_HASH
    matched = await asyncio.to_thread(_verify_sync, stored, password[:MAX_PASSWORD])
    return user is not None and matched and len(password) <= MAX_PASSWORD


async def create_user(
    services: Services,
    name: str,
    password: str,
    *,
    role: str = ISSUER,
    profile_grants: tuple[str, ...] | None = None,
    must_change_password: bool = False,
    actor: str = audit.ACTOR_CLI,
) -> UserRecord:
    """A new console user (grants: profile ids an issuer or reader reaches, None: every
    profile; services/identities/grants.profile_ids resolves slugs)."""
    name = name.strip()
    if not name or len(name) > NAME_MAX:
        raise InvalidRequestError(f"a user name must be 1-{NAME_MAX} characters")
    role, profile_grants = checked_access(role, profile_grants)
    password_hash = await hash_password(password)
    try:
        user = await services.store.create_user(
            name=name,
            password_hash=password_hash,
            role=role,
            profile_grants=profile_grants,
            must_change_password=must_change_password,
        )
    except Conflict:
        raise ConflictError(f"a user named {name!r} exists") from None
    await audit.record(
        services,
        actor=actor,
        action="user.create",
        target_type="user",
        target_id=user.id,
        details={
            "name": user.name,
            "role": user.role,
            "profileGrants": None if profile_grants is None else list(profile_grants),
        },
    )
    return user


async def find_user(services: Services, ref: str) -> UserRecord:
    """A user by name or id; NotFoundError otherwise."""
    found = await services.store.get_user_by_name(ref)
    if found is not None:
        return found
    try:
        return await services.store.get_user(ref)
    except NotFound:
        raise NotFoundError(f"user {ref!r} not found") from None


async def list_users(services: Services) -> list[UserRecord]:
    return await services.store.list_users()


async def reset_password(
    services: Services,
    ref: str,
    password: str,
    *,
    must_change: bool,
    actor: str = audit.ACTOR_CLI,
) -> UserRecord:
    """Set a new password (the sign-in lock cleared, every session of the user ended);
    `must_change`: the user chooses another at its next sign-in."""
    user = await find_user(services, ref)
    updated = await services.store.set_user_password(
        user.id, await hash_password(password), must_change=must_change, end_sessions_at=utc_now()
    )
    await audit.record(
        services,
        actor=actor,
        action="user.password.reset",
        target_type="user",
        target_id=user.id,
        details={"name": user.name, "mustChange": must_change},
    )
    return updated


async def change_own_password(services: Services, user: UserRecord, password: str) -> UserRecord:
    """A signed-in user's new password (the caller checked the current one)."""
    updated = await services.store.set_user_password(
        user.id, await hash_password(password), must_change=False
    )
    await audit.record(
        services,
        actor=f"user:{user.id}",
        action="user.password.change",
        target_type="user",
        target_id=user.id,
        details={"name": user.name},
    )
    return updated


async def set_disabled(
    services: Services, ref: str, disabled: bool, *, actor: str = audit.ACTOR_CLI
) -> UserRecord:
    """Disable (its sessions end at once) or enable a user."""
    user = await find_user(services, ref)
    updated = await services.store.set_user_disabled(user.id, disabled, utc_now())
    await audit.record(
        services,
        actor=actor,
        action="user.disable" if disabled else "user.enable",
        target_type="user",
        target_id=user.id,
        details={"name": user.name},
    )
    return updated


async def set_access(
    services: Services,
    ref: str,
    role: str,
    grants: tuple[str, ...] | None,
    *,
    actor: str = audit.ACTOR_CLI,
) -> UserRecord:
    """Give the user a role and grants (None: every profile)."""
    user = await find_user(services, ref)
    role, grants = checked_access(role, grants)
    updated = await services.store.set_user_access(user.id, role=role, profile_grants=grants)
    await audit.record(
        services,
        actor=actor,
        action="user.access.update",
        target_type="user",
        target_id=user.id,
        details={
            "name": user.name,
            "role": updated.role,
            "profileGrants": None if grants is None else list(grants),
        },
    )
    return updated
