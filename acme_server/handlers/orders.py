"""RFC 8555 7.4 newOrder, 7.1.3 order, 7.5 authorizations and challenges."""

from __future__ import annotations

import secrets
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse

from acme_server.handlers.common import AcmeRequest, acme_json, link, rfc3339, verified
from acme_server.handlers.renewal_info import check_replaces
from acme_server.identifiers import Identifier, parse_identifiers
from acme_server.problems import malformed, not_found, rejected_identifier, subproblem
from acme_server.services.policies import load_policy
from acme_server.services.profile_settings import CHALLENGE_TYPES, EnrollmentConfig
from acme_server.urls import AcmeUrls
from acme_server.validation.challenges import offered
from acme_server.validation.worker import LEASE, Work
from ca_core.ttl import parse_ttl
from policy.evaluate import check_identifiers
from store import (
    AuthorizationRecord,
    ChallengeRecord,
    NewAuthorization,
    NewChallenge,
    NotFound,
    OrderRecord,
)

HOUR = 3600.0
TOKEN_BYTES = 32  # RFC 8555 8.1: at least 128 bits of entropy
MAX_BACKDATE = timedelta(days=1)


def order_status(order: OrderRecord, now: datetime) -> str:
    if order.status in ("pending", "ready") and order.expires <= now:
        return "invalid"
    return order.status


def order_json(order: OrderRecord, urls: AcmeUrls) -> dict[str, Any]:
    data: dict[str, Any] = {
        "status": order_status(order, datetime.now(UTC)),
        "expires": rfc3339(order.expires),
        "identifiers": order.identifiers,
        "authorizations": [urls.authorization(a) for a in order.authorization_ids],
        "finalize": urls.finalize(order.id),
    }
    if order.not_before is not None:
        data["notBefore"] = rfc3339(order.not_before)
    if order.not_after is not None:
        data["notAfter"] = rfc3339(order.not_after)
    if order.error is not None:
        data["error"] = order.error
    if order.certificate_id is not None and data["status"] == "valid":
        data["certificate"] = urls.certificate(order.certificate_id)
    if order.replaces is not None:
        data["replaces"] = order.replaces  # RFC 9773 5
    return data


def challenge_json(challenge: ChallengeRecord, urls: AcmeUrls) -> dict[str, Any]:
    data: dict[str, Any] = {
        "type": challenge.type,
        "url": urls.challenge(challenge.id),
        "status": challenge.status,
        "token": challenge.token,
    }
    if challenge.validated_at is not None:
        data["validated"] = rfc3339(challenge.validated_at)
    if challenge.error is not None:
        data["error"] = challenge.error
    return data


def _type_rank(challenge_type: str) -> int:
    if challenge_type in CHALLENGE_TYPES:
        return CHALLENGE_TYPES.index(challenge_type)
    return len(CHALLENGE_TYPES)


def authorization_json(authz: AuthorizationRecord, urls: AcmeUrls) -> dict[str, Any]:
    status = authz.status
    if status in ("pending", "valid") and authz.expires <= datetime.now(UTC):
        status = "expired"
    # In the profile setting's order (http-01, dns-01, tls-alpn-01), not the store's.
    challenges = tuple(sorted(authz.challenges, key=lambda c: _type_rank(c.type)))
    if status == "valid":  # RFC 8555 7.1.4: the challenge that was validated
        challenges = tuple(c for c in challenges if c.status == "valid") or challenges
    data: dict[str, Any] = {
        "identifier": {"type": authz.identifier_type, "value": authz.identifier_value},
        "status": status,
        "expires": rfc3339(authz.expires),
        "challenges": [challenge_json(c, urls) for c in challenges],
    }
    if authz.wildcard:
        data["wildcard"] = True
    return data


def _parse_time(payload: dict[str, Any], key: str) -> datetime | None:
    raw = payload.get(key)
    if raw is None:
        return None
    if not isinstance(raw, str):
        raise malformed(f"{key} must be an RFC 3339 date-time string")
    try:
        moment = datetime.fromisoformat(raw)
        if moment.tzinfo is None:
            raise malformed(f"{key} must carry a time zone (e.g. Z)")
        return moment.astimezone(UTC)
    except (ValueError, OverflowError):  # OverflowError: year 1 or 9999 moved past the range
        raise malformed(f"{key} {raw!r} is not an RFC 3339 date-time in range") from None


async def _check_validity(
    req: AcmeRequest, payload: dict[str, Any], max_ttl: int | None, now: datetime
) -> tuple[datetime | None, datetime | None]:
    """RFC 8555 7.4: notBefore/notAfter are honoured within the policy, or refused."""
    not_before, not_after = _parse_time(payload, "notBefore"), _parse_time(payload, "notAfter")
    if not_before is None and not_after is None:
        return None, None
    start = not_before or now
    if not_before is not None and not_before < now - MAX_BACKDATE:
        raise malformed("notBefore may not be more than one day in the past")
    if not_after is not None and not_after <= max(start, now):
        raise malformed("notAfter must be later than notBefore and the current time")
    if (
        not_after is not None
        and max_ttl is not None
        and (not_after - start).total_seconds() > max_ttl
    ):
        raise malformed("TTL exceeds the maximum allowed by the policy (notAfter is too late)")
    if req.profile.ca_id is not None and not_after is not None:
        ca = await req.services.store.get_ca(req.profile.ca_id)
        if not_after > ca.not_after:
            raise malformed(
                f"notAfter is past the issuing CA's own expiry ({rfc3339(ca.not_after)})"
            )
    return not_before, not_after


async def new_order(request: Request) -> JSONResponse:
    req = await verified(request, "kid")
    account = req.post.require_account()
    payload = req.post.payload
    if payload is None:
        raise malformed("newOrder needs a payload")
    if payload.get("profile") not in (None, req.profile.slug):
        raise malformed(
            f"this directory issues profile {req.profile.slug!r}; use that profile's directory"
        )
    identifiers = parse_identifiers(
        payload.get("identifiers"), allow_ip=EnrollmentConfig.of(req.profile).allow_ip_identifiers
    )
    policy = await load_policy(req.services, req.profile)
    verdict = check_identifiers([i.as_san() for i in identifiers], policy)
    if not verdict.ok:
        subs = [
            subproblem("rejectedIdentifier", v.message, _identifier_for(v.identifier, identifiers))
            for v in verdict.violations
            if v.identifier is not None
        ]
        raise rejected_identifier("; ".join(verdict.messages), subs)
    allowed = EnrollmentConfig.of(req.profile).challenge_types
    challenge_types = {
        i: offered(allowed, identifier_type=i.type, wildcard=i.wildcard) for i in identifiers
    }
    unvalidatable = [i for i, types in challenge_types.items() if not types]
    if unvalidatable:
        raise rejected_identifier(
            "no challenge type this profile allows can validate "
            + ", ".join(i.value for i in unvalidatable)
            + " (wildcards need dns-01)",
            [
                subproblem("rejectedIdentifier", _no_challenge(i), i.to_json())
                for i in unvalidatable
            ],
        )
    now = datetime.now(UTC)
    not_before, not_after = await _check_validity(req, payload, policy.max_ttl_seconds, now)
    replaces = await check_replaces(req, payload, identifiers, now)
    settings = req.services.settings
    req.state.limiter.hit(
        "orders",
        account.id,
        limit=settings.rate_limit_orders_per_hour,
        window=HOUR,
        what="new orders",
    )
    authz_expires = now + parse_ttl(settings.authorization_lifetime)
    reuse: list[str] = []
    new: list[NewAuthorization] = []
    for identifier in identifiers:
        found = None
        statuses = ("valid", "pending") if settings.reuse_valid_authorizations else ("pending",)
        found = await req.services.store.find_reusable_authorization(
            account_id=account.id,
            identifier_type=identifier.type,
            identifier_value=identifier.base,
            wildcard=identifier.wildcard,
            now=now,
            statuses=statuses,
        )
        if found is not None and _reusable(found, challenge_types[identifier]):
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
    order = await req.services.store.create_order(
        account_id=account.id,
        profile_id=req.profile.id,
        identifiers=[i.to_json() for i in identifiers],
        expires=min(now + parse_ttl(settings.order_lifetime), authz_expires),
        not_before=not_before,
        not_after=not_after,
        replaces=replaces,
        reuse_authorization_ids=reuse,
        new_authorizations=new,
        now=now,
    )
    return acme_json(order_json(order, req.urls), 201, {"Location": req.urls.order(order.id)})


def _no_challenge(identifier: Identifier) -> str:
    if identifier.wildcard:
        return "a wildcard needs dns-01, which this profile does not allow"
    return f"this profile allows no challenge type for {identifier.type} identifiers"


def _reusable(found: AuthorizationRecord, types: tuple[str, ...]) -> bool:
    """Reuse only what this profile could have created: a pending authorization offering
    only allowed types, or a valid one validated by an allowed type (authorizations are per
    account, and an account's profiles may allow different types)."""
    if found.status == "valid":
        return any(c.status == "valid" and c.type in types for c in found.challenges)
    return {c.type for c in found.challenges} <= set(types)


def _identifier_for(san: Any, identifiers: list[Identifier]) -> dict[str, str]:
    for identifier in identifiers:
        if identifier.as_san() == san:
            return identifier.to_json()
    return {"type": "dns", "value": str(getattr(san, "value", san))}


async def owned_order(req: AcmeRequest, order_id: str) -> OrderRecord:
    account = req.post.require_account()
    try:
        order = await req.services.store.get_order(order_id)
    except (NotFound, ValueError):
        raise not_found("order") from None
    if order.account_id != account.id:
        raise not_found("order")  # never confirm another account's objects exist
    return order


async def order(request: Request) -> JSONResponse:
    req = await verified(request, "kid")
    found = await owned_order(req, request.path_params["order_id"])
    if found.status == "pending" and await _awaited_authorizations(req, found):
        found = await req.services.store.get_order(found.id)
    headers = {"Retry-After": "1"} if found.status == "processing" else None
    return acme_json(order_json(found, req.urls), 200, headers)


async def _owned_authorization(req: AcmeRequest, authz_id: str) -> AuthorizationRecord:
    account = req.post.require_account()
    try:
        authz = await req.services.store.get_authorization(authz_id)
    except (NotFound, ValueError):
        raise not_found("authorization") from None
    if authz.account_id != account.id:
        raise not_found("authorization")
    return authz


async def _awaited_validation(req: AcmeRequest, authz: AuthorizationRecord) -> bool:
    """Wait (bounded) for a validation of this authorization in flight in this process;
    True if one finished (acme_server/validation/waiters.py)."""
    processing = [c.id for c in authz.challenges if c.status == "processing"]
    timeout = req.services.settings.challenge_wait_ms / 1000
    return await req.state.validation_waiters.wait_for_challenges(processing, timeout)


async def _awaited_authorizations(req: AcmeRequest, order: OrderRecord) -> bool:
    """Wait (bounded, in all) for the validations of the order's authorizations in flight
    in this process; True if any finished."""
    timeout = req.services.settings.challenge_wait_ms / 1000
    return await req.state.validation_waiters.wait_for_authorizations(
        order.authorization_ids, timeout
    )


async def authorization(request: Request) -> JSONResponse:
    """POST-as-GET, or {"status": "deactivated"} (RFC 8555 7.5.2)."""
    req = await verified(request, "kid")
    authz = await _owned_authorization(req, request.path_params["authz_id"])
    payload = req.post.payload
    if payload is None and authz.status == "pending" and await _awaited_validation(req, authz):
        authz = await req.services.store.get_authorization(authz.id)
    if payload is not None and payload.get("status") is not None:
        if payload["status"] != "deactivated":
            raise malformed("an authorization's status can only be set to deactivated")
        if not await req.services.store.deactivate_authorization(authz.id, datetime.now(UTC)):
            raise malformed(f"an authorization that is {authz.status} cannot be deactivated", 403)
        authz = await req.services.store.get_authorization(authz.id)
    return acme_json(authorization_json(authz, req.urls))


async def _start_validation(
    req: AcmeRequest, challenge: ChallengeRecord, authz: AuthorizationRecord
) -> bool:
    """pending -> processing with its validation job; False if it was started already.

    With room in this process's worker, the job is claimed for it in the same transaction
    and handed over with what this request read, so this process validates (its polls can
    wait for the outcome) and no worker anywhere has to claim it. Otherwise it is queued
    for any process's worker. A process that dies between that commit and starting the
    validation leaves the job to its lease, as one that dies mid-validation does: another
    worker resumes it when the lease (worker.LEASE) runs out."""
    store = req.services.store
    waiters = req.state.validation_waiters
    worker = req.state.validation_worker
    now = datetime.now(UTC)
    if worker is not None and worker.reserve_slot():
        try:
            job = await store.start_challenge_and_claim(
                challenge.id, now=now, worker_id=worker.worker_id, lease=LEASE
            )
        except BaseException:
            worker.release_slot()
            raise
        if job is None:
            worker.release_slot()
            return False
        waiters.started(challenge.id, authz.id)
        started = replace(challenge, status="processing", updated_at=now)
        worker.adopt(job, Work(started, authz, req.post.require_account()))
        return True
    if not await store.start_challenge(challenge.id, now=now):
        return False
    waiters.started(challenge.id, authz.id)
    req.state.validation_wakeup.set()
    return True


async def challenge(request: Request) -> JSONResponse:
    """RFC 8555 7.5.1: any JSON object (normally {}) asks the server to validate; "" reads."""
    req = await verified(request, "kid")
    store = req.services.store
    challenge_id: str = request.path_params["challenge_id"]
    try:  # the challenge with its authorization, in one read
        authz = await store.get_authorization_of_challenge(challenge_id)
    except (NotFound, ValueError):
        raise not_found("challenge") from None
    found = next((c for c in authz.challenges if c.id == challenge_id), None)
    if found is None or authz.account_id != req.post.require_account().id:
        raise not_found("challenge")  # never confirm another account's objects exist
    if req.post.payload is not None and found.status == "pending":
        if await _start_validation(req, found, authz):
            found = replace(found, status="processing")  # the worker has not run yet
        else:  # started concurrently: answer with what the other request made of it
            found = await store.get_challenge(found.id)
    headers = {"Link": link(req.urls.authorization(authz.id), "up")}
    if found.status == "processing":
        headers["Retry-After"] = "1"
    return acme_json(challenge_json(found, req.urls), 200, headers)
