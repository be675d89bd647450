"""Console sign-in: sessions held by a cookie, refused sign-ins counted and limited.

    token, session, user = await sign_in(services, "alice", password, address="127.0.0.1")
    found = await session_of(services, token)      # (session, principal) or None
    await sign_out(services, token)

The cookie is "kmss_" + 256 random bits; only its SHA-256 is stored, so a database dump
holds no usable session. A session ends `console_session_max` after sign-in, or once unused
for `console_session_idle`, or at sign-out, or when its user is disabled. Each session has
a CSRF token (random, compared in constant time) that every state-changing form carries.

Refused sign-ins say only "wrong name or password", whatever was wrong, and cost one
argon2id run either way. After LOCK_AFTER refusals in a row a user is locked for LOCK_FOR;
an address with ADDRESS_LIMIT refusals within ADDRESS_WINDOW is refused for the rest of
the window (counted per server process). Every refusal and sign-in is audited, without the
password.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections import deque
from datetime import timedelta
from typing import NoReturn

from acme_server.services import audit
from acme_server.services.context import Services
from acme_server.services.errors import RateLimitedError, ServiceError
from acme_server.services.identities.tokens import Principal
from acme_server.services.users.accounts import verify_password
from store import SessionRecord, UserRecord
from store.columns import utc_now

TOKEN_PREFIX = "kmss_"  # noqa: S105 (a prefix)
TOKEN_MAX = 128
LOCK_AFTER = 5
LOCK_FOR = timedelta(minutes=5)
ADDRESS_LIMIT = 20
ADDRESS_WINDOW = 600.0  # seconds
_TOUCH_EVERY = timedelta(seconds=60)  # last_seen_at is written at most once a minute


class SignInRefused(ServiceError):
    """Unknown name, wrong password, disabled or locked user: the caller cannot tell."""

    def __init__(self) -> None:
        super().__init__("wrong name or password")


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _address_refused(failures: dict[str, deque[float]], address: str, now: float) -> int:
    """Seconds the address must wait (0: it may try)."""
    recent = failures.get(address)
    if recent is None:
        return 0
    while recent and recent[0] <= now - ADDRESS_WINDOW:
        recent.popleft()
    if len(recent) < ADDRESS_LIMIT:
        return 0
    return int(recent[0] + ADDRESS_WINDOW - now) + 1


def _count_failure(failures: dict[str, deque[float]], address: str, now: float) -> None:
    if len(failures) > 10_000:  # a bounded table: the oldest addresses go first
        failures.pop(next(iter(failures)))
    failures.setdefault(address, deque()).append(now)


async def _refuse(services: Services, name: str, address: str, user: UserRecord | None) -> NoReturn:
    now = utc_now()
    if user is not None:
        locked = now + LOCK_FOR if user.failed_logins + 1 >= LOCK_AFTER else None
        await services.store.record_failed_login(user.id, locked)
    _count_failure(services.sign_in_failures, address, time.monotonic())
    await audit.record(
        services,
        actor=f"address:{address}",
        action="user.login.refused",
        target_type="user",
        target_id=user.id if user is not None else "",
        details={"name": name[:255]},
    )
    raise SignInRefused()


async def sign_in(
    services: Services, name: str, password: str, *, address: str
) -> tuple[str, SessionRecord, UserRecord]:
    """A new session for the user, or SignInRefused / RateLimitedError."""
    wait = _address_refused(services.sign_in_failures, address, time.monotonic())
    if wait:
        raise RateLimitedError(
            "too many refused sign-ins from this address: try again later", retry_after=wait
        )
    user = await services.store.get_user_by_name(name) if 0 < len(name) <= 255 else None
    matched = await verify_password(user, password)
    now = utc_now()
    if user is None or not matched or user.disabled:
        await _refuse(services, name, address, user)
    if user.locked_until is not None and user.locked_until > now:
        await _refuse(services, name, address, user)
    await services.store.record_login(user.id)
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    session = await services.store.create_session(
        user_id=user.id,
        token_hash=token_hash(token),
        csrf_token=secrets.token_urlsafe(32),
        now=now,
        expires_at=now + services.settings.console_max_period,
    )
    await audit.record(
        services,
        actor=f"user:{user.id}",
        action="user.login",
        target_type="user",
        target_id=user.id,
        details={"name": user.name, "address": address},
    )
    return token, session, user


def principal_of_user(user: UserRecord) -> Principal:
    return Principal(
        identity_id=user.id,
        name=user.name,
        client_id="",
        role=user.role,
        profile_grants=user.profile_grants,
        kind="user",
    )


async def session_of(services: Services, token: str) -> tuple[SessionRecord, UserRecord] | None:
    """The live session a cookie holds and its user; None for anything else."""
    if not token.startswith(TOKEN_PREFIX) or len(token) > TOKEN_MAX or not token.isascii():
        return None
    now = utc_now()
    found = await services.store.find_session(
        token_hash(token), now, now - services.settings.console_idle_period
    )
    if found is not None and now - found[0].last_seen_at >= _TOUCH_EVERY:
        await services.store.touch_session(found[0].id, now)
    return found


def csrf_matches(session: SessionRecord, given: str) -> bool:
    return hmac.compare_digest(session.csrf_token.encode(), given.encode()[:256])


async def sign_out(services: Services, token: str) -> bool:
    """End the session the cookie holds; False if it was not live."""
    if not token.startswith(TOKEN_PREFIX) or len(token) > TOKEN_MAX:
        return False
    return await services.store.revoke_session(token_hash(token), utc_now())
