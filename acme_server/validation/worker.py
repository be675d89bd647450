"""The validation worker: claims challenge jobs from the store's queue and validates them.

Any server process can claim any job (row locks on PostgreSQL, the single writer on SQLite).
A claim is a lease: if the process dies mid-validation the lease runs out and another worker
takes the job again. A challenge POST normally claims its job for this process's worker in
the transaction that creates it and hands it over (`reserve_slot`, `adopt`), so the process
that answered the POST validates it and its polls can wait for the outcome (waiters.py).
When the worker has no room the job is queued instead and the worker woken; it also polls,
which picks up jobs queued by other processes, retries, deferrals and expired leases --
queued jobs once they are LOCAL_GRACE old unless woken, leaving a busy POSTing process a
moment to take its own.

Two bounds keep slow or hostile responders from exhausting a process: at most
config.max_concurrent validations run in it at once (it claims no more than that), and at
most config.max_concurrent_per_account of them for one ACME account. A job whose account is
at its bound goes back to the queue, uncounted (`defer_validation_job`), and is taken again
a moment later, so one account's hundred challenges never hold every slot while another
account's challenge waits.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
from collections.abc import Coroutine
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import aiohttp

from acme_server.services.context import Services
from acme_server.services.errors import stored_problem
from acme_server.services.ratelimits import RateLimiter
from acme_server.validation.challenges import VALIDATORS, Attempt
from acme_server.validation.config import ValidationConfig
from acme_server.validation.errors import ValidationFailure
from acme_server.validation.http01 import new_session
from acme_server.validation.resolver import Resolver
from acme_server.validation.waiters import ValidationWaiters
from store import (
    AccountRecord,
    AuthorizationRecord,
    ChallengeRecord,
    Unavailable,
    ValidationJobRecord,
)

log = logging.getLogger(__name__)

POLL_INTERVAL = 0.5
LOCAL_GRACE = timedelta(seconds=1)  # fresh jobs are left this long to the POSTing process
LEASE = timedelta(seconds=60)
DEFER_DELAY = timedelta(milliseconds=250)  # a job's first deferral for its account's bound
DEFER_DELAY_MAX = timedelta(seconds=5)  # doubling per deferral up to this
MAX_ATTEMPTS = 3  # for unexpected errors; a validation failure is an answer, not an error
RETRY_BACKOFF = timedelta(seconds=2)
FAILED_VALIDATIONS_WINDOW = 3600.0

Outcome = tuple[bool, dict[str, object] | None]  # (valid, the error problem if not)


@dataclass(frozen=True, slots=True)
class Work:
    """What validating a challenge needs: the challenge, its authorization, the account."""

    challenge: ChallengeRecord
    authz: AuthorizationRecord
    account: AccountRecord


class ValidationWorker:
    def __init__(
        self,
        services: Services,
        config: ValidationConfig,
        wakeup: asyncio.Event,
        limiter: RateLimiter,
        *,
        waiters: ValidationWaiters | None = None,
    ) -> None:
        self.services = services
        self.config = config
        self.resolver = Resolver(config)
        self.wakeup = wakeup
        self.limiter = limiter
        self.waiters = waiters or ValidationWaiters()
        self.worker_id = f"{socket.gethostname()}:{os.getpid()}:{id(self):x}"
        self._per_account: dict[str, int] = {}  # account id -> validations running here
        self._deferrals: dict[str, int] = {}  # job id -> times deferred here (backoff)
        self._tasks: set[asyncio.Task[None]] = set()
        self._reserved = 0  # slots reserved by challenge POSTs about to adopt a job
        self._stopping = asyncio.Event()
        self._session: aiohttp.ClientSession | None = None

    async def run(self) -> None:
        # One session for every fetch of this process: its connector opens a new connection
        # per request (force_close) and never resolves a name, so nothing leaks between
        # validations, and building a session per validation is saved.
        self._session = new_session()
        woken = True
        while not self._stopping.is_set():
            # Cleared before claiming: a POST that commits while the claim runs sets it
            # again, so its job is claimed next without waiting for the poll interval.
            self.wakeup.clear()
            try:
                claimed = await self._claim(woken)
            except Unavailable as exc:  # an outage: no traceback every poll
                log.warning("claiming validation jobs failed", extra={"error": str(exc)})
                claimed = 0
            except Exception:
                log.exception("claiming validation jobs failed")
                claimed = 0
            if claimed:
                # A POST that queued a job while this claim ran asked for it: the next claim
                # must take fresh jobs too, although the wake-up is cleared again first.
                woken = woken or self.wakeup.is_set()
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.wakeup.wait(), POLL_INTERVAL)
            woken = self.wakeup.is_set()

    async def stop(self) -> None:
        self._stopping.set()
        self.wakeup.set()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._session is not None:
            await self._session.close()
            self._session = None

    def reserve_slot(self) -> bool:
        """Room for one more validation in this process (counted until `adopt` or
        `release_slot`)? A challenge POST asks before it claims the job itself. One slot is
        always left to the claim loop, so queued jobs (retries, deferrals, expired leases,
        other processes') keep moving however many POSTs arrive."""
        if self._stopping.is_set() or self._free() <= 1:
            return False
        self._reserved += 1
        return True

    def release_slot(self) -> None:
        self._reserved -= 1

    def adopt(self, job: ValidationJobRecord, work: Work) -> None:
        """Validate a job the challenge POST of this process claimed for this worker
        (store.start_challenge_and_claim), in a reserved slot, with what the POST read.
        Stopping meanwhile, it is left to its lease: another worker resumes it."""
        self._reserved -= 1
        if self._stopping.is_set():
            return
        self.waiters.taken(job.challenge_id)
        self._spawn(self._process(job, work))

    def _free(self) -> int:
        return self.config.max_concurrent - len(self._tasks) - self._reserved

    def _spawn(self, work: Coroutine[None, None, None]) -> None:
        task = asyncio.create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _claim(self, woken: bool) -> int:
        """Claim what there is room for; `woken` (a challenge POST here asked) takes every
        due job, otherwise those due for LOCAL_GRACE."""
        free = self._free()
        if free <= 0:
            await asyncio.sleep(0.05)
            return 0
        now = datetime.now(UTC)
        jobs = await self.services.store.claim_validation_jobs(
            worker_id=self.worker_id,
            limit=free,
            lease=LEASE,
            now=now,
            due_before=now if woken else now - LOCAL_GRACE,
        )
        # Challenge POSTs may have adopted jobs while the claim ran (on PostgreSQL it
        # yields): what no longer fits goes back to the queue, uncounted, at once.
        room = max(self._free(), 0)
        for job in jobs[:room]:  # started before the first await below
            self.waiters.taken(job.challenge_id)  # polls here may wait for it from now
            self._spawn(self._process(job))
        for job in jobs[room:]:
            await self.services.store.defer_validation_job(
                job.id, worker_id=self.worker_id, run_after=now
            )
        return len(jobs)

    async def _process(self, job: ValidationJobRecord, work: Work | None = None) -> None:
        store = self.services.store
        try:
            loaded = work if work is not None else await self._load(job)
            if isinstance(loaded, tuple):
                valid, error = loaded
            else:
                account_id = loaded.account.id
                if not self._take_account_slot(account_id):
                    await self._defer(job)
                    return
                self._deferrals.pop(job.id, None)
                # From here this process validates: polls here may wait for the outcome.
                self.waiters.claimed(job.challenge_id, loaded.authz.id)
                try:
                    valid, error = await self._validate(loaded)
                finally:
                    self._release_account_slot(account_id)
            await store.record_validation(
                job.challenge_id, valid=valid, error=error, now=datetime.now(UTC)
            )
            self.waiters.done(job.challenge_id)
            await store.finish_validation_job(job.id, worker_id=self.worker_id)
        except asyncio.CancelledError:
            raise  # the lease runs out and another worker resumes the job
        except Exception as exc:
            log.exception("validation job failed", extra={"job": job.id})
            if job.attempts >= MAX_ATTEMPTS:
                await store.record_validation(
                    job.challenge_id,
                    valid=False,
                    error=stored_problem(
                        "serverInternal", "the server could not process the request", 500
                    ),
                    now=datetime.now(UTC),
                )
                self.waiters.done(job.challenge_id)
                await store.finish_validation_job(job.id, worker_id=self.worker_id)
            else:
                self.waiters.done(job.challenge_id)  # waiting polls answer `processing`
                await store.retry_validation_job(
                    job.id,
                    worker_id=self.worker_id,
                    run_after=datetime.now(UTC) + RETRY_BACKOFF * job.attempts,
                    error=type(exc).__name__,
                )

    async def _defer(self, job: ValidationJobRecord) -> None:
        """Back to the queue, later each time (so an account's flood of challenges costs a
        few claims a second, not a busy loop); polls waiting here answer meanwhile."""
        count = self._deferrals.get(job.id, 0)
        if len(self._deferrals) >= 10_000:
            self._deferrals.clear()  # a hint only: other processes may have run the jobs
        self._deferrals[job.id] = count + 1
        delay = min(DEFER_DELAY * 2**count, DEFER_DELAY_MAX)
        self.waiters.done(job.challenge_id)
        await self.services.store.defer_validation_job(
            job.id, worker_id=self.worker_id, run_after=datetime.now(UTC) + delay
        )

    def _take_account_slot(self, account_id: str) -> bool:
        running = self._per_account.get(account_id, 0)
        if running >= self.config.max_concurrent_per_account:
            return False
        self._per_account[account_id] = running + 1
        return True

    def _release_account_slot(self, account_id: str) -> None:
        left = self._per_account[account_id] - 1
        if left:
            self._per_account[account_id] = left
        else:
            del self._per_account[account_id]

    async def _load(self, job: ValidationJobRecord) -> Work | Outcome:
        """What validating the job needs, or the outcome already recorded (a job resumed
        after its challenge was decided)."""
        store = self.services.store
        authz = await store.get_authorization_of_challenge(job.challenge_id)
        challenge = next(c for c in authz.challenges if c.id == job.challenge_id)
        if challenge.status != "processing":
            return challenge.status == "valid", challenge.error
        account = await store.get_account(authz.account_id)
        return Work(challenge, authz, account)

    async def _validate(self, work: Work) -> Outcome:
        challenge, authz, account = work.challenge, work.authz, work.account
        key_authorization = f"{challenge.token}.{account.jwk_thumbprint}"
        identifier = f"{authz.identifier_type}:{authz.identifier_value}"
        failures = self.limiter.count(
            "failed-validations", identifier, window=FAILED_VALIDATIONS_WINDOW
        )
        if failures >= self.services.settings.rate_limit_failed_validations_per_hour:
            return False, {
                "type": "urn:ietf:params:acme:error:rateLimited",
                "detail": f"too many failed validations for {authz.identifier_value} this hour",
                "status": 429,
            }
        try:
            validator = VALIDATORS.get(challenge.type)
            if validator is None:
                raise ValidationFailure(
                    "malformed", f"challenge type {challenge.type} is not supported"
                )
            await validator(
                Attempt(
                    identifier_type=authz.identifier_type,
                    identifier=authz.identifier_value,
                    wildcard=authz.wildcard,
                    token=challenge.token,
                    key_authorization=key_authorization,
                    config=self.config,
                    resolver=self.resolver,
                    session=self._session,
                )
            )
        except ValidationFailure as failure:
            self.limiter.record("failed-validations", identifier)
            log.info(
                "validation failed",
                extra={
                    "challenge": challenge.id,
                    "identifier": identifier,
                    "problem": failure.problem,
                },
            )
            return False, failure.to_problem()
        return self._succeeded(challenge.id, identifier)

    def _succeeded(self, challenge_id: str, identifier: str) -> tuple[bool, None]:
        log.info(
            "validation succeeded", extra={"challenge": challenge_id, "identifier": identifier}
        )
        return True, None
