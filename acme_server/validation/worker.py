"""The validation worker: claims challenge jobs from the store's queue and validates them.

Any server process can claim any job (row locks on PostgreSQL, the single writer on SQLite).
A claim is a lease: if the process dies mid-validation the lease runs out and another worker
takes the job again. A challenge POST in this process wakes the worker at once; otherwise it
polls, which also picks up jobs queued by other processes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
from datetime import UTC, datetime, timedelta

import aiohttp

from acme_server.problems import server_internal
from acme_server.ratelimits import RateLimiter
from acme_server.services.context import Services
from acme_server.validation.challenges import VALIDATORS, Attempt
from acme_server.validation.config import ValidationConfig
from acme_server.validation.errors import ValidationFailure
from acme_server.validation.http01 import new_session
from acme_server.validation.resolver import Resolver
from acme_server.validation.waiters import ValidationWaiters
from store import ValidationJobRecord

log = logging.getLogger(__name__)

POLL_INTERVAL = 0.5
LEASE = timedelta(seconds=60)
MAX_CONCURRENT = 32  # validations in flight per process
MAX_ATTEMPTS = 3  # for unexpected errors; a validation failure is an answer, not an error
RETRY_BACKOFF = timedelta(seconds=2)
FAILED_VALIDATIONS_WINDOW = 3600.0


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
        self._slots = asyncio.Semaphore(MAX_CONCURRENT)
        self._tasks: set[asyncio.Task[None]] = set()
        self._stopping = asyncio.Event()
        self._session: aiohttp.ClientSession | None = None

    async def run(self) -> None:
        # One session for every fetch of this process: its connector opens a new connection
        # per request (force_close) and never resolves a name, so nothing leaks between
        # validations, and building a session per validation is saved.
        self._session = new_session()
        while not self._stopping.is_set():
            try:
                claimed = await self._claim()
            except Exception:
                log.exception("claiming validation jobs failed")
                claimed = 0
            if claimed:
                continue
            self.wakeup.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.wakeup.wait(), POLL_INTERVAL)

    async def stop(self) -> None:
        self._stopping.set()
        self.wakeup.set()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def _claim(self) -> int:
        free = MAX_CONCURRENT - len(self._tasks)
        if free <= 0:
            await asyncio.sleep(0.05)
            return 0
        jobs = await self.services.store.claim_validation_jobs(
            worker_id=self.worker_id, limit=free, lease=LEASE, now=datetime.now(UTC)
        )
        for job in jobs:
            task = asyncio.create_task(self._process(job))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return len(jobs)

    async def _process(self, job: ValidationJobRecord) -> None:
        store = self.services.store
        try:
            async with self._slots:
                valid, error = await self._validate(job)
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
                    error=server_internal().to_dict(),
                    now=datetime.now(UTC),
                )
                self.waiters.done(job.challenge_id)
                await store.finish_validation_job(job.id, worker_id=self.worker_id)
            else:
                await store.retry_validation_job(
                    job.id,
                    worker_id=self.worker_id,
                    run_after=datetime.now(UTC) + RETRY_BACKOFF * job.attempts,
                    error=type(exc).__name__,
                )

    async def _validate(self, job: ValidationJobRecord) -> tuple[bool, dict[str, object] | None]:
        store = self.services.store
        challenge = await store.get_challenge(job.challenge_id)
        if challenge.status != "processing":
            return challenge.status == "valid", challenge.error
        authz = await store.get_authorization(challenge.authorization_id)
        account = await store.get_account(authz.account_id)
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
