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

from acme_server.handlers.common import AcmeRequest
from acme_server.problems import AcmeProblem, subproblem
from acme_server.services.profile_settings import EnrollmentConfig
from acme_server.validation.caa import check_caa
from acme_server.validation.errors import ValidationFailure
from store import AuthorizationRecord, OrderRecord

# RFC 8555 section 6.7 gives no status; Boulder and Pebble answer a CAA refusal with 403.
CAA_STATUS = 403
# One name's whole climb (each lookup is bounded by the resolver's own timeout too); a
# finalize request should not hang on a nameserver that answers slowly at every level.
CAA_TIMEOUT_S = 15.0


async def check_order_caa(req: AcmeRequest, order: OrderRecord) -> None:
    """Return if CAA allows every name of `order`; else raise the `caa` problem with one
    subproblem per refused name."""
    if not EnrollmentConfig.of(req.profile).caa_check:
        return
    store = req.services.store
    authzs = [await store.get_authorization(a) for a in order.authorization_ids]
    names = [a for a in authzs if a.identifier_type == "dns"]
    results = await asyncio.gather(*(_check(req, order, a) for a in names))
    refused = [(a, failure) for a, failure in zip(names, results, strict=True) if failure]
    if not refused:
        return
    subs = [
        subproblem("caa", failure.detail, {"type": "dns", "value": _shown(a)})
        for a, failure in refused
    ]
    detail = "; ".join(failure.detail for _, failure in refused)
    raise AcmeProblem("caa", detail, CAA_STATUS, subproblems=subs)


async def _check(
    req: AcmeRequest, order: OrderRecord, authz: AuthorizationRecord
) -> ValidationFailure | None:
    method = next((c.type for c in authz.challenges if c.status == "valid"), None)
    try:
        async with asyncio.timeout(CAA_TIMEOUT_S):
            await check_caa(
                req.state.resolver,
                name=authz.identifier_value,
                wildcard=authz.wildcard,
                identities=req.services.settings.caa_identity_list,
                account_uri=req.urls.account(order.account_id),
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
