"""External Account Binding credentials of a profile (RFC 8555 7.3.4), as an administrator
manages them (REST and `kms eab`): create (the HMAC key is shown once and stored only
encrypted under the KEK), list, revoke. Checking a binding at newAccount is acme/eab.py."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

from acme_server.acme.urls import AcmeUrls
from acme_server.jose import b64url_encode
from acme_server.services.context import Services
from acme_server.services.errors import ConflictError, InvalidRequestError, NotFoundError
from store import EABKeyRecord, NotFound, ProfileRecord

HMAC_ALGS = {"HS256": hashlib.sha256, "HS384": hashlib.sha384, "HS512": hashlib.sha512}
HMAC_KEY_BYTES = 32  # 256 bits, printed as unpadded base64url
KID_BYTES = 12


def eab_key_aad(kid: str) -> bytes:
    return f"eab:{kid}".encode()


@dataclass(frozen=True, slots=True)
class NewEABCredential:
    record: EABKeyRecord
    hmac_key_b64: str  # shown once; stored only encrypted under the KEK
    directory: str  # the profile's ACME directory URL, where the credential is used


async def create_credential(
    services: Services, profile: ProfileRecord, *, reusable: bool, hmac_alg: str = "HS256"
) -> NewEABCredential:
    if hmac_alg not in HMAC_ALGS:
        raise InvalidRequestError(f"unknown HMAC algorithm {hmac_alg!r}; use HS256, HS384 or HS512")
    kid = "kid-" + secrets.token_urlsafe(KID_BYTES)
    key = secrets.token_bytes(HMAC_KEY_BYTES)
    record = await services.store.create_eab_key(
        kid=kid,
        profile_id=profile.id,
        encrypted_hmac_key=services.kek.encrypt(key, aad=eab_key_aad(kid)),
        hmac_alg=hmac_alg,
        reusable=reusable,
    )
    directory = AcmeUrls(services.settings.base_url, profile.slug).directory
    return NewEABCredential(record=record, hmac_key_b64=b64url_encode(key), directory=directory)


def status_of(key: EABKeyRecord) -> str:
    """revoked, used (a single-use key already bound) or usable."""
    if key.revoked_at is not None:
        return "revoked"
    if key.used_at is not None and not key.reusable:
        return "used"
    return "usable"


async def list_credentials(services: Services, profile: ProfileRecord) -> list[EABKeyRecord]:
    """The profile's credentials: key ids and state, never the HMAC keys."""
    return await services.store.list_eab_keys(profile.id)


async def revoke_credential(
    services: Services, kid: str, *, profile: ProfileRecord | None = None
) -> EABKeyRecord:
    """No new ACME account can bind with `kid` any more (given `profile`, it must be one of
    that profile's credentials). NotFoundError, or ConflictError if already revoked."""
    try:
        key = await services.store.get_eab_key(kid)
    except NotFound:
        key = None
    if key is None or (profile is not None and key.profile_id != profile.id):
        where = f" for profile {profile.slug!r}" if profile is not None else ""
        raise NotFoundError(f"no EAB credential {kid!r}{where}")
    if not await services.store.revoke_eab_key(kid, datetime.now(UTC)):
        raise ConflictError(f"EAB credential {kid!r} is already revoked")
    return await services.store.get_eab_key(kid)
