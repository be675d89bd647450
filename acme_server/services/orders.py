"""ACME orders (RFC 8555 7.4): create one, read it (waiting briefly for validations in
flight), and finalize it.

    order = await create_order(services, limiter, account, profile, request, now)
    order = await owned_order(services, account.id, order_id)
    order = await finalize_order(services, resolver, profile, order, facts, ...)

The ACME handlers parse the request and render the result (acme/handlers/orders.py); every
refusal here is a service error that acme_server/errors.py answers as a problem document.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from acme_server.services.caa import check_order_caa
from acme_server.services.certificates.issuance import IssueSpec, csr_spec
from acme_server.services.context import Services
from acme_server.services.errors import (
    BadCsrError,
    InvalidRequestError,
    NameRefusal,
    NotFoundError,
    NotReadyError,
    RejectedIdentifierError,
    stored_problem,
)
from acme_server.services.finalize_recovery import interrupted_order_error, revoke_orphan
from acme_server.services.identifiers import Identifier
from acme_server.services.order_names import check_csr_names, common_name_for
from acme_server.services.policies.check import load_policy, policy_violations
from acme_server.services.profiles.defaults import profile_defaults
from acme_server.services.profiles.settings import EnrollmentConfig
from acme_server.services.ratelimits import RateLimiter
from acme_server.services.replacement import check_replaces, issue_for_order
from acme_server.validation.challenges import offered
from acme_server.validation.resolver import Resolver
from acme_server.validation.waiters import ValidationWaiters
from ca_core.csr import CsrFacts
from ca_core.errors import CAError
from ca_core.keys import spki_der
from ca_core.ttl import parse_ttl
from pki_types.model import RequestMethod, SubjectAttributes
from policy.evaluate import check_identifiers
from store import (
    AccountRecord,
    AuthorizationRecord,
    CertificateRecord,
    NewAuthorization,
    NewChallenge,
    NotFound,
    OrderRecord,
    ProfileRecord,
)

log = logging.getLogger(__name__)

HOUR = 3600.0
TOKEN_BYTES = 32  # RFC 8555 8.1: at least 128 bits of entropy
MAX_BACKDATE = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class OrderRequest:
    """A newOrder payload, parsed: identifiers checked for form, times in UTC."""

    identifiers: tuple[Identifier, ...]
    not_before: datetime | None = None
    not_after: datetime | None = None
    replaces: str | None = None  # an RFC 9773 certID


def order_status(order: OrderRecord, now: datetime) -> str:
    if order.status in ("pending", "ready") and order.expires <= now:
        return "invalid"
    return order.status


async def create_order(
    services: Services,
    limiter: RateLimiter,
    account: AccountRecord,
    profile: ProfileRecord,
    request: OrderRequest,
    now: datetime,
) -> OrderRecord:
    """RFC 8555 7.4: a new order, its authorizations reused where the account has them."""
    identifiers = request.identifiers
    policy = await load_policy(services, profile)
    verdict = check_identifiers([i.as_san() for i in identifiers], policy)
    if not verdict.ok:
        raise RejectedIdentifierError(
            "; ".join(verdict.messages),
            names=[
                NameRefusal(
                    "rejectedIdentifier", v.message, _identifier_for(v.identifier, identifiers)
                )
                for v in verdict.violations
                if v.identifier is not None
            ],
        )
    allowed = EnrollmentConfig.of(profile).challenge_types
    challenge_types = {
        i: offered(allowed, identifier_type=i.type, wildcard=i.wildcard) for i in identifiers
    }
    unvalidatable = [i for i, types in challenge_types.items() if not types]
    if unvalidatable:
        raise RejectedIdentifierError(
            "no challenge type this profile allows can validate "
            + ", ".join(i.value for i in unvalidatable)
            + " (wildcards need dns-01)",
            names=[
                NameRefusal("rejectedIdentifier", _no_challenge(i), i.to_json())
                for i in unvalidatable
            ],
        )
    await _check_validity(services, profile, request, policy.max_ttl_seconds, now)
    replaces = None
    if request.replaces is not None:
        replaces = await check_replaces(services, account.id, request.replaces, identifiers, now)
    settings = services.settings
    limiter.hit(
        "orders",
        account.id,
        limit=settings.rate_limit_orders_per_hour,
        window=HOUR,
        what="new orders",
    )
    authz_expires = now + parse_ttl(settings.authorization_lifetime)
    statuses = ("valid", "pending") if settings.reuse_valid_authorizations else ("pending",)
    reuse: list[str] = []
    new: list[NewAuthorization] = []
    for identifier in identifiers:
        found = await services.store.find_reusable_authorization(
            account_id=account.id,
            identifier_type=identifier.type,
            identifier_value=identifier.base,
            wildcard=identifier.wildcard,
            now=now,
            statuses=statuses,
        )
        if found is not None and reusable(found, challenge_types[identifier]):
            reuse.append(found.id)
            continue
        new.append(
            NewAuthorization(
                identifier_type=identifier.type,
                identifier_value=identifier.base,
                wildcard=identifier.wildcard,
                expires=authz_expires,
                challenges=[
                    NewChallenge(type=t, token=secrets.token_urlsafe(TOKEN_BYTES))
                    for t in challenge_types[identifier]
                ],
            )
        )
    return await services.store.create_order(
        account_id=account.id,
        profile_id=profile.id,
        identifiers=[i.to_json() for i in identifiers],
        expires=min(now + parse_ttl(settings.order_lifetime), authz_expires),
        not_before=request.not_before,
        not_after=request.not_after,
        replaces=replaces,
        reuse_authorization_ids=reuse,
        new_authorizations=new,
        now=now,
    )


async def _check_validity(
    services: Services,
    profile: ProfileRecord,
    request: OrderRequest,
    max_ttl: int | None,
    now: datetime,
) -> None:
    """RFC 8555 7.4: notBefore/notAfter are honoured within the policy, or refused."""
    not_before, not_after = request.not_before, request.not_after
    if not_before is None and not_after is None:
        return
    start = not_before or now
    if not_before is not None and not_before < now - MAX_BACKDATE:
        raise InvalidRequestError("notBefore may not be more than one day in the past")
    if not_after is not None and not_after <= max(start, now):
        raise InvalidRequestError("notAfter must be later than notBefore and the current time")
    if (
        not_after is not None
        and max_ttl is not None
        and (not_after - start).total_seconds() > max_ttl
    ):
        raise InvalidRequestError(
            "TTL exceeds the maximum allowed by the policy (notAfter is too late)"
        )
    if profile.ca_id is not None and not_after is not None:
        ca = await services.store.get_ca(profile.ca_id)
        if not_after > ca.not_after:
            raise InvalidRequestError(
                "notAfter is past the issuing CA's own expiry "
                f"({ca.not_after.strftime('%Y-%m-%dT%H:%M:%SZ')})"
            )


def _no_challenge(identifier: Identifier) -> str:
    if identifier.wildcard:
        return "a wildcard needs dns-01, which this profile does not allow"
    return f"this profile allows no challenge type for {identifier.type} identifiers"


def reusable(found: AuthorizationRecord, types: tuple[str, ...]) -> bool:
    """Reuse only what this profile could have created: a pending authorization offering
    only allowed types, or a valid one validated by an allowed type (authorizations are per
    account, and an account's profiles may allow different types)."""
    if found.status == "valid":
        return any(c.status == "valid" and c.type in types for c in found.challenges)
    return {c.type for c in found.challenges} <= set(types)


def _identifier_for(san: object, identifiers: Sequence[Identifier]) -> dict[str, str]:
    for identifier in identifiers:
        if identifier.as_san() == san:
            return identifier.to_json()
    return {"type": "dns", "value": str(getattr(san, "value", san))}


async def owned_order(services: Services, account_id: str, order_id: str) -> OrderRecord:
    """The account's order; another account's is "not found" too (never confirm it exists)."""
    try:
        order = await services.store.get_order(order_id)
    except (NotFound, ValueError):
        raise NotFoundError("order not found") from None
    if order.account_id != account_id:
        raise NotFoundError("order not found")
    return order


async def current_order(
    services: Services, waiters: ValidationWaiters, order: OrderRecord
) -> OrderRecord:
    """The order as a poll should see it: a pending order's validations in flight in this
    process are waited for (bounded, acme_server/validation/waiters.py) and it is re-read
    if one finished."""
    if order.status != "pending":
        return order
    timeout = services.settings.challenge_wait_ms / 1000
    if await waiters.wait_for_authorizations(order.authorization_ids, timeout):
        return await services.store.get_order(order.id)
    return order


def check_ready(order: OrderRecord, now: datetime) -> None:
    """Finalize needs a ready order; checked before the CSR is even read."""
    status = order_status(order, now)
    if status != "ready":
        raise NotReadyError(f"the order is {status}, not ready")


@dataclass(frozen=True, slots=True)
class FinalizeRequest:
    """A finalize: the CSR's facts and who asks (the account key must not be the CSR's)."""

    facts: CsrFacts
    account_spki: bytes  # the account key's SubjectPublicKeyInfo, DER
    account_uri: str  # for RFC 8657 accounturi in CAA


async def finalize_order(
    services: Services,
    resolver: Resolver,
    profile: ProfileRecord,
    order: OrderRecord,
    request: FinalizeRequest,
) -> OrderRecord:
    """RFC 8555 7.4: check the CSR against the order and the policy, check CAA, then issue
    under the order's `processing` lease. Returns the valid order."""
    now = datetime.now(UTC)
    check_ready(order, now)
    facts = request.facts
    if spki_der(facts.public_key) == request.account_spki:
        raise BadCsrError("the CSR's public key must not be the account key")
    check_csr_names(facts, order)
    policy = await load_policy(services, profile)
    spec = _order_spec(profile, order, facts, policy.max_ttl_seconds)
    violations = await policy_violations(services, profile, policy, spec)
    if violations:
        raise BadCsrError("; ".join(violations))
    await check_order_caa(services, resolver, profile, order, account_uri=request.account_uri)
    if not await services.store.begin_finalize(order.id, now):
        raise NotReadyError("the order is no longer ready (finalized concurrently?)")
    try:
        issued = await issue_for_order(services, profile, spec, order)
    except (InvalidRequestError, CAError) as exc:
        refusal = BadCsrError(str(exc))
        await services.store.fail_order(
            order.id, error=stored_problem("badCSR", str(refusal), 400), now=now
        )
        raise refusal from None
    # Any other failure (the database gone, a bug) leaves the order processing: what was
    # stored decides its end, which the finalize recovery sweep reaches within the
    # finalize timeout (services/finalize_recovery.py). Marking it invalid here could
    # strand a certificate that was activated before the failure.
    if not await services.store.complete_order(
        order.id, certificate_id=issued.record.id, now=datetime.now(UTC)
    ):
        await _outlived_lease(services, order, issued.record)
    log.info(
        "issued",
        extra={"order": order.id, "serial": issued.record.serial_hex, "account": order.account_id},
    )
    for warning in issued.warnings:  # ACME has no place for them in its answer
        log.warning(warning, extra={"order": order.id, "serial": issued.record.serial_hex})
    # complete_order moved this very order processing -> valid: answer without re-reading it
    return replace(order, status="valid", certificate_id=issued.record.id)


async def _outlived_lease(
    services: Services, order: OrderRecord, record: CertificateRecord
) -> None:
    """This finalize ran past its lease and the recovery sweep failed the order meanwhile:
    the certificate just issued belongs to no order, so it is revoked, and the client gets
    the order's error."""
    log.warning("finalize outlived its lease", extra={"order": order.id, "certificate": record.id})
    await revoke_orphan(services, record)
    current = await services.store.get_order(order.id)
    raise interrupted_order_error(current.error)


def _order_spec(
    profile: ProfileRecord, order: OrderRecord, facts: CsrFacts, max_ttl_seconds: int | None
) -> IssueSpec:
    """The certificate to sign. Without notAfter in the order, the profile's default TTL
    from issuance, capped at the policy's maximum; with it, exactly what was asked (checked
    at newOrder)."""
    validity = profile_defaults(profile).validity
    if max_ttl_seconds is not None:
        validity = min(validity, timedelta(seconds=max_ttl_seconds))
    if order.not_after is not None:  # validity: what the policy checks; not_after is used
        validity = order.not_after - (order.not_before or datetime.now(UTC))
    # the CSR's SANs equal the order's identifiers (checked), in the CSR's order
    return csr_spec(
        profile,
        facts,
        request_method=RequestMethod.ACME,
        subject=SubjectAttributes(common_name=common_name_for(facts, order)),
        validity=validity,
        not_before=order.not_before,
        not_after=order.not_after,
        metadata={"acme.order": order.id, "acme.account": order.account_id},
    )
