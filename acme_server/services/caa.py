"""CAA at finalize: every DNS name of the order, checked just before signing.

The check runs on each finalize, immediately before the certificate is signed, so the
result issuance relies on is never older than the 8 hours the Baseline Requirements
(3.2.2.8) allow, however long ago the authorizations were validated. The method that
validated each name (for RFC 8657 validationmethods) is its authorization's valid challenge;
the account URL (for accounturi) is the one this profile's directory gives the account.
IP identifiers have no CAA (RFC 8738 section 7). A profile's `caa_check: false` skips it.
"""

from __future__ import annotations

import asyncio

from acme_server.services.context import Services
from acme_server.services.errors import CaaRefusedError, NameRefusal
from acme_server.services.profiles.settings import EnrollmentConfig
from acme_server.validation.caa import check_caa
from acme_server.validation.errors import ValidationFailure
from acme_server.validation.resolver import Resolver
from store import AuthorizationRecord, OrderRecord, ProfileRecord

# One name's whole climb (each lookup is bounded by the resolver's own timeout too); a
# finalize request should not hang on a nameserver that answers slowly at every level.
CAA_TIMEOUT_S = 15.0


async def check_order_caa(
    services: Services,
    resolver: Resolver,
    profile: ProfileRecord,
    order: OrderRecord,
    *,
    account_uri: str,
) -> None:
    """Return if CAA allows every name of `order`; else raise CaaRefusedError naming each
    refused name."""
    if not EnrollmentConfig.of(profile).caa_check:
        return
    store = services.store
    authzs = [await store.get_authorization(a) for a in order.authorization_ids]
    names = [a for a in authzs if a.identifier_type == "dns"]
    identities = services.settings.caa_identity_list
    results = await asyncio.gather(*(_check(resolver, a, identities, account_uri) for a in names))
    refused = [(a, failure) for a, failure in zip(names, results, strict=True) if failure]
    if not refused:
        return
    detail = "; ".join(failure.detail for _, failure in refused)
    raise CaaRefusedError(
        detail,
        names=[
            NameRefusal("caa", failure.detail, {"type": "dns", "value": _shown(a)})
            for a, failure in refused
        ],
    )


async def _check(
    resolver: Resolver,
    authz: AuthorizationRecord,
    identities: list[str],
    account_uri: str,
) -> ValidationFailure | None:
    method = next((c.type for c in authz.challenges if c.status == "valid"), None)
    try:
        async with asyncio.timeout(CAA_TIMEOUT_S):
            await check_caa(
                resolver,
                name=authz.identifier_value,
                wildcard=authz.wildcard,
                identities=identities,
                account_uri=account_uri,
                method=method,
            )
    except ValidationFailure as failure:
        return failure
    except TimeoutError:
        return ValidationFailure(
            "caa",
            f"the CAA lookups for {_shown(authz)} took longer than {CAA_TIMEOUT_S:g} s; "
            "a CAA check that does not finish refuses issuance (RFC 8659 section 3)",
        )
    return None


def _shown(authz: AuthorizationRecord) -> str:
    return f"*.{authz.identifier_value}" if authz.wildcard else authz.identifier_value
