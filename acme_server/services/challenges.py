"""ACME authorizations and challenges (RFC 8555 7.5): read one (waiting briefly for a
validation in flight), deactivate an authorization, and start a challenge's validation.

Validation itself runs in the validation worker (acme_server/validation/worker.py); this
module only moves a challenge pending -> processing with its job, in one transaction.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from acme_server.services.context import Services
from acme_server.services.errors import InvalidStateError, NotFoundError
from acme_server.validation.waiters import ValidationWaiters
from acme_server.validation.worker import LEASE, ValidationWorker, Work
from store import AccountRecord, AuthorizationRecord, ChallengeRecord, NotFound


@dataclass(frozen=True, slots=True)
class Validations:
    """This process's validation machinery: the worker (None when it runs elsewhere), the
    waiters polls wait on, and the event that wakes an idle worker."""

    worker: ValidationWorker | None
    waiters: ValidationWaiters
    wakeup: asyncio.Event


async def owned_authorization(
    services: Services, account_id: str, authz_id: str
) -> AuthorizationRecord:
    """The account's authorization; another account's is "not found" too."""
    try:
        authz = await services.store.get_authorization(authz_id)
    except (NotFound, ValueError):
        raise NotFoundError("authorization not found") from None
    if authz.account_id != account_id:
        raise NotFoundError("authorization not found")
    return authz


async def current_authorization(
    services: Services, waiters: ValidationWaiters, authz: AuthorizationRecord
) -> AuthorizationRecord:
    """The authorization as a poll should see it: a validation of it in flight in this
    process is waited for (bounded) and it is re-read if one finished."""
    if authz.status != "pending":
        return authz
    processing = [c.id for c in authz.challenges if c.status == "processing"]
    timeout = services.settings.challenge_wait_ms / 1000
    if await waiters.wait_for_challenges(processing, timeout):
        return await services.store.get_authorization(authz.id)
    return authz


async def deactivate_authorization(
    services: Services, authz: AuthorizationRecord
) -> AuthorizationRecord:
    """RFC 8555 7.5.2: a pending or valid authorization becomes deactivated."""
    if not await services.store.deactivate_authorization(authz.id, datetime.now(UTC)):
        raise InvalidStateError(f"an authorization that is {authz.status} cannot be deactivated")
    return await services.store.get_authorization(authz.id)


async def owned_challenge(
    services: Services, account_id: str, challenge_id: str
) -> tuple[ChallengeRecord, AuthorizationRecord]:
    """The account's challenge with its authorization, in one read."""
    try:
        authz = await services.store.get_authorization_of_challenge(challenge_id)
    except (NotFound, ValueError):
        raise NotFoundError("challenge not found") from None
    found = next((c for c in authz.challenges if c.id == challenge_id), None)
    if found is None or authz.account_id != account_id:
        raise NotFoundError("challenge not found")  # never confirm another account's objects
    return found, authz


async def respond_to_challenge(
    services: Services,
    validations: Validations,
    account: AccountRecord,
    challenge: ChallengeRecord,
    authz: AuthorizationRecord,
) -> ChallengeRecord:
    """RFC 8555 7.5.1: the client says it is ready; a pending challenge starts validating.
    Returns the challenge as the answer should show it."""
    if challenge.status != "pending":
        return challenge
    if await _start_validation(services, validations, account, challenge, authz):
        return replace(challenge, status="processing")  # the worker has not run yet
    # started concurrently: answer with what the other request made of it
    return await services.store.get_challenge(challenge.id)


async def _start_validation(
    services: Services,
    validations: Validations,
    account: AccountRecord,
    challenge: ChallengeRecord,
    authz: AuthorizationRecord,
) -> bool:
    """pending -> processing with its validation job; False if it was started already.

    With room in this process's worker, the job is claimed for it in the same transaction
    and handed over with what this request read, so this process validates (its polls can
    wait for the outcome) and no worker anywhere has to claim it. Otherwise it is queued
    for any process's worker. A process that dies between that commit and starting the
    validation leaves the job to its lease, as one that dies mid-validation does: another
    worker resumes it when the lease (worker.LEASE) runs out."""
    store = services.store
    worker = validations.worker
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
        validations.waiters.started(challenge.id, authz.id)
        started = replace(challenge, status="processing", updated_at=now)
        worker.adopt(job, Work(started, authz, account))
        return True
    if not await store.start_challenge(challenge.id, now=now):
        return False
    validations.waiters.started(challenge.id, authz.id)
    validations.wakeup.set()
    return True
