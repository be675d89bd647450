"""Machine identities for the REST API: a client id and secret, exchanged for short-lived
Bearer access tokens (the "universal auth" login).

Secrets are shown once and stored as scrypt hashes ("scrypt$n$r$p$salt$hash", base64url
parts); hashing runs in a worker thread so the event loop never blocks. Access tokens are
"kms_" + 256 random bits; only their SHA-256 hex is stored, so a database dump yields no
usable token. Neither a secret nor a token is ever logged or written to the audit log.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import hmac
import secrets
import uuid
from dataclasses import dataclass
from datetime import timedelta

from acme_server.services import audit
from acme_server.services.context import Services
from acme_server.services.errors import InvalidRequestError, NotFoundError, ServiceError
from acme_server.services.roles import ADMIN, GRANTED_ROLES, ISSUER, ROLES
from store import IdentityRecord, NotFound
from store.columns import utc_now

TOKEN_PREFIX = "kms_"  # noqa: S105 (a prefix, not a secret)
TOKEN_BYTES = 32  # 256 bits from the CSPRNG
TOKEN_MAX = 128  # longer Bearer values are refused before hashing
SECRET_BYTES = 32
SECRET_MAX = 1024  # longer secrets are refused before the (slow) hash
CLIENT_ID_MAX = 255  # schema: machine_identities.client_id
NAME_MAX = 255  # schema: machine_identities.name
SCRYPT_N = 2**14
SCRYPT_R = 8
SCRYPT_P = 1
SCRYPT_SALT_BYTES = 16
SCRYPT_DKLEN = 32
_SCRYPT_N_MAX = 2**20  # refuse absurd parameters read back from a tampered row


class InvalidCredentials(ServiceError):
    """Unknown client id, wrong secret or disabled identity: callers cannot tell which."""

    def __init__(self) -> None:
        super().__init__("invalid client credentials")


@dataclass(frozen=True)
class Principal:
    """Who a request acts as: a machine identity (kind "identity") or a console user
    (kind "user", whose client_id is empty); its role (services/roles.py) and the profile
    ids it is granted (None: every profile)."""

    identity_id: str
    name: str
    client_id: str
    role: str
    profile_grants: tuple[str, ...] | None = None
    kind: str = "identity"

    @property
    def is_admin(self) -> bool:
        return self.role == ADMIN

    @property
    def actor(self) -> str:
        """The audit log's name for this caller."""
        return f"{self.kind}:{self.identity_id}"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _scrypt(secret: str, salt: bytes, n: int, r: int, p: int, dklen: int) -> bytes:
    maxmem = 128 * r * (n + p + 2) + 2**20  # what scrypt needs, with headroom
    return hashlib.scrypt(
        secret.encode("utf-8"), salt=salt, n=n, r=r, p=p, maxmem=maxmem, dklen=dklen
    )


def hash_secret_sync(secret: str) -> str:
    """The stored form of a client secret (blocking: call it through asyncio.to_thread)."""
    salt = secrets.token_bytes(SCRYPT_SALT_BYTES)
    digest = _scrypt(secret, salt, SCRYPT_N, SCRYPT_R, SCRYPT_P, SCRYPT_DKLEN)
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${_b64(salt)}${_b64(digest)}"


# Verified against when the client id is unknown, so that both paths cost one scrypt run.
_DUMMY_HASH = (
    f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}$"
    f"{_b64(secrets.token_bytes(SCRYPT_SALT_BYTES))}${_b64(secrets.token_bytes(SCRYPT_DKLEN))}"
)


def verify_secret_sync(secret: str, stored: str) -> bool:
    """True if `secret` matches the stored hash; constant-time compare (blocking)."""
    try:
        scheme, n_text, r_text, p_text, salt_text, digest_text = stored.split("$")
        n, r, p = int(n_text), int(r_text), int(p_text)
        salt, expected = _unb64(salt_text), _unb64(digest_text)
    except (ValueError, binascii.Error):
        scheme, n, r, p, salt, expected = "", 0, 0, 0, b"", b""
    usable = scheme == "scrypt" and 1 < n <= _SCRYPT_N_MAX and n & (n - 1) == 0
    if usable and 0 < r <= 32 and 0 < p <= 16 and 16 <= len(expected) <= 64:
        try:
            digest = _scrypt(secret, salt, n, r, p, len(expected))
        except (ValueError, MemoryError):
            pass
        else:
            return hmac.compare_digest(digest, expected)
    # An unusable row or secret: still pay for one hash, so the answer takes the usual time
    # (with a fixed input: never recursing on the input that just failed).
    if stored != _DUMMY_HASH:
        verify_secret_sync("", _DUMMY_HASH)
    return False


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _plausible_token(token: str) -> bool:
    return token.startswith(TOKEN_PREFIX) and len(token) <= TOKEN_MAX and token.isascii()


def access_token_lifetime(services: Services) -> timedelta:
    return services.settings.access_token_lifetime


def checked_access(
    role: str, profile_grants: tuple[str, ...] | None
) -> tuple[str, tuple[str, ...] | None]:
    """The role and grants to store: an issuer or reader keeps its grants (None: every
    profile); an admin or auditor reaches no profile by grant (stored as None)."""
    if role not in ROLES:
        raise InvalidRequestError(f"role must be one of {', '.join(ROLES)}")
    return role, (profile_grants if role in GRANTED_ROLES else None)


async def create_identity(
    services: Services,
    name: str,
    *,
    role: str = ISSUER,
    profile_grants: tuple[str, ...] | None = None,
    actor: str = audit.ACTOR_CLI,
) -> tuple[IdentityRecord, str]:
    """A new identity and its client secret. The secret is returned here only, once.
    `profile_grants`: the profile ids an issuer or reader reaches (None: every profile;
    services/identities/grants.py resolves slugs)."""
    name = name.strip()
    if not name or len(name) > NAME_MAX:
        raise InvalidRequestError(f"an identity name must be 1-{NAME_MAX} characters")
    role, profile_grants = checked_access(role, profile_grants)
    secret = secrets.token_urlsafe(SECRET_BYTES)
    secret_hash = await asyncio.to_thread(hash_secret_sync, secret)
    record = await services.store.create_identity(
        name=name,
        client_id=str(uuid.uuid4()),
        secret_hash=secret_hash,
        role=role,
        profile_grants=profile_grants,
    )
    await audit.record(
        services,
        actor=actor,
        action="identity.create",
        target_type="identity",
        target_id=record.id,
        details={
            "name": record.name,
            "clientId": record.client_id,
            "role": record.role,
            "profileGrants": None if profile_grants is None else list(profile_grants),
        },
    )
    return record, secret


async def list_identities(services: Services) -> list[IdentityRecord]:
    return await services.store.list_identities()


async def find_identity(services: Services, ref: str) -> IdentityRecord:
    """An identity by its id or its client id; NotFoundError otherwise."""
    try:
        return await services.store.get_identity(ref)
    except NotFound:
        pass
    found = await services.store.get_identity_by_client_id(ref)
    if found is None:
        raise NotFoundError(f"identity {ref} not found")
    return found


async def disable_identity(services: Services, ref: str, *, actor: str = audit.ACTOR_CLI) -> bool:
    """Refuse the identity's logins and tokens from now on; False if already disabled."""
    identity = await find_identity(services, ref)
    changed = await services.store.set_identity_disabled(identity.id, True)
    if changed:
        await audit.record(
            services,
            actor=actor,
            action="identity.disable",
            target_type="identity",
            target_id=identity.id,
            details={"name": identity.name, "clientId": identity.client_id},
        )
    return changed


async def login(services: Services, client_id: str, client_secret: str) -> tuple[str, int]:
    """A new access token and its lifetime in seconds; InvalidCredentials otherwise.

    The unknown-client path hashes too, so timing does not tell which client ids exist.
    """
    identity = None
    if 0 < len(client_id) <= CLIENT_ID_MAX:
        identity = await services.store.get_identity_by_client_id(client_id)
    stored = identity.secret_hash if identity is not None else _DUMMY_HASH
    matched = await asyncio.to_thread(verify_secret_sync, client_secret[:SECRET_MAX], stored)
    if identity is None or identity.disabled or not matched or len(client_secret) > SECRET_MAX:
        raise InvalidCredentials()
    return await issue_token(services, identity)


async def issue_token(services: Services, identity: IdentityRecord) -> tuple[str, int]:
    """A new access token for an authenticated identity, and its lifetime in seconds (the
    one token path of every login method)."""
    lifetime = access_token_lifetime(services)
    token = TOKEN_PREFIX + secrets.token_urlsafe(TOKEN_BYTES)
    await services.store.create_access_token(
        identity_id=identity.id, token_hash=token_hash(token), expires_at=utc_now() + lifetime
    )
    return token, int(lifetime.total_seconds())


async def authenticate(services: Services, token: str) -> Principal | None:
    """The identity a live token belongs to; None for unknown, expired or revoked tokens
    and for disabled identities."""
    if not _plausible_token(token):
        return None
    found = await services.store.find_access_token(token_hash(token), utc_now())
    if found is None:
        return None
    _, identity = found
    return Principal(
        identity_id=identity.id,
        name=identity.name,
        client_id=identity.client_id,
        role=identity.role,
        profile_grants=identity.profile_grants,
    )


async def revoke_token(services: Services, token: str) -> bool:
    """Revoke a live token; False if it was unknown, expired or already revoked."""
    if not _plausible_token(token):
        return False
    now = utc_now()
    digest = token_hash(token)
    found = await services.store.find_access_token(digest, now)
    if not await services.store.revoke_access_token(digest, now):
        return False
    if found is not None:
        _, identity = found
        await audit.record(
            services,
            actor=f"identity:{identity.id}",
            action="identity.token.revoke",
            target_type="identity",
            target_id=identity.id,
            details={"tokenId": found[0].id},
        )
    return True
