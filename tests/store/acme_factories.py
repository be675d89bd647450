"""ACME rows with sensible defaults: accounts, orders with fresh authorizations, and the
challenge flow, so each contract test states only what it is about."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from typing import Any

from store import (
    AccountRecord,
    AuthorizationRecord,
    EABKeyRecord,
    NewAuthorization,
    NewChallenge,
    OrderRecord,
    ProfileRecord,
    Store,
)
from tests.store.factories import NOW, make_profile, unique

AUTHZ_LIFETIME = timedelta(days=7)
ORDER_LIFETIME = timedelta(days=1)


async def make_account(
    store: Store, *, profile: ProfileRecord | None = None, **overrides: Any
) -> AccountRecord:
    if profile is None:
        profile = await make_profile(store)
    fields: dict[str, Any] = {
        "profile_id": profile.id,
        "jwk_thumbprint": unique("thumb"),
        "jwk": {"kty": "EC", "crv": "P-256", "x": "eA", "y": "eQ"},
        "contact": ["mailto:ops@example.com"],
        "terms_of_service_agreed": True,
        "eab_key_id": None,
        "now": NOW,
    }
    fields.update(overrides)
    return await store.create_account(**fields)


def new_authz(
    value: str,
    *,
    wildcard: bool = False,
    expires: datetime = NOW + AUTHZ_LIFETIME,
    types: tuple[str, ...] = ("http-01", "dns-01"),
) -> NewAuthorization:
    return NewAuthorization(
        identifier_type="dns",
        identifier_value=value,
        wildcard=wildcard,
        expires=expires,
        challenges=[NewChallenge(type=kind, token=secrets.token_urlsafe(16)) for kind in types],
    )


async def make_order(
    store: Store,
    account: AccountRecord,
    names: tuple[str, ...] = ("a.example.com",),
    *,
    reuse: tuple[str, ...] = (),
    **overrides: Any,
) -> OrderRecord:
    """An order for `names`: fresh authorizations, plus `reuse`d ones (whose names the
    caller includes in `names` if it wants them among the identifiers)."""
    fields: dict[str, Any] = {
        "account_id": account.id,
        "profile_id": account.profile_id,
        "identifiers": [{"type": "dns", "value": name} for name in names],
        "expires": NOW + ORDER_LIFETIME,
        "not_before": None,
        "not_after": None,
        "replaces": None,
        "reuse_authorization_ids": list(reuse),
        "new_authorizations": [new_authz(name) for name in names[len(reuse) :]],
        "now": NOW,
    }
    fields.update(overrides)
    return await store.create_order(**fields)


async def validate(
    store: Store,
    authz_id: str,
    *,
    valid: bool = True,
    error: dict[str, Any] | None = None,
    now: datetime = NOW,
) -> AuthorizationRecord:
    """Start the authorization's first challenge and record the outcome."""
    authz = await store.get_authorization(authz_id)
    challenge = authz.challenges[0]
    assert await store.start_challenge(challenge.id, now=now)
    assert await store.record_validation(challenge.id, valid=valid, error=error, now=now)
    return await store.get_authorization(authz_id)


PROBLEM = {
    "type": "urn:ietf:params:acme:error:connection",
    "detail": "Connection refused to 192.0.2.1:80 — ünïcode",
    "subproblems": [{"type": "urn:ietf:params:acme:error:dns", "identifier": {"type": "dns"}}],
}


async def make_eab_key(
    store: Store, profile: ProfileRecord, *, kid: str | None = None, reusable: bool = False
) -> EABKeyRecord:
    return await store.create_eab_key(
        kid=kid or unique("kid"),
        profile_id=profile.id,
        encrypted_hmac_key=b"\x00sealed-hmac\xff",
        hmac_alg="HS256",
        reusable=reusable,
    )
