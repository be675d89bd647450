"""The validation work queue: jobs claimed with a lease, so a crashed worker's job is
taken up again by another (DESIGN.md, "How a request flows", step 3).

    queued --claim--> running --finish--> done
                      running --retry--> queued (run_after, last_error)
                      running, lease expired --claim (another worker)--> running

`start_challenge` enqueues. A job is claimable when queued and due (run_after <= now),
or running with an expired lease (claimed_until < now). Claiming selects and updates in
one transaction: PostgreSQL locks the selected rows FOR UPDATE SKIP LOCKED, so concurrent
claimers take different jobs without waiting; SQLite's single writer (BEGIN IMMEDIATE)
makes the select and update atomic.

Finished jobs are kept as `done` (attempts and last_error stay readable) and deleted by
`purge_validation_jobs`. Finishing or retrying needs the worker's current claim, so a
worker whose lease expired and was re-claimed cannot disturb the new claimant; it may
still record its result, which `record_validation` accepts only once.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, func, or_, select, update

from store.acme_rows import check_limit, job_record
from store.base import StoreBase
from store.columns import require_utc, utc_now
from store.records import ValidationJobRecord
from store.schema import validation_jobs as jobs

WORKER_ID_MAX = 255  # schema: validation_jobs.claimed_by


def _check_worker(worker_id: str) -> str:
    if not worker_id or len(worker_id) > WORKER_ID_MAX:
        raise ValueError(f"worker_id must be 1-{WORKER_ID_MAX} characters")
    return worker_id


class ValidationJobQueries(StoreBase):
    async def claim_validation_jobs(
        self, *, worker_id: str, limit: int, lease: timedelta, now: datetime
    ) -> list[ValidationJobRecord]:
        """Claim up to `limit` claimable jobs, longest due first: each becomes running,
        claimed by `worker_id` until now + lease, attempts + 1. [] when none is free."""
        at = require_utc(now, "now")
        _check_worker(worker_id)
        check_limit(limit)
        if lease <= timedelta(0):
            raise ValueError(f"lease must be positive, got {lease}")
        claimable = or_(
            (jobs.c.status == "queued") & (jobs.c.run_after <= at),
            (jobs.c.status == "running") & (jobs.c.claimed_until < at),
        )
        query = self._locking(
            select(jobs.c.id)
            .where(claimable)
            .order_by(jobs.c.run_after, jobs.c.created_at, jobs.c.id)
            .limit(limit),
            skip_locked=True,
        )
        async with self._write() as conn:
            ids = list((await conn.execute(query)).scalars())
            if not ids:
                return []
            result = await conn.execute(
                update(jobs)
                .where(jobs.c.id.in_(ids), claimable)
                .values(
                    status="running",
                    claimed_by=worker_id,
                    claimed_until=at + lease,
                    attempts=jobs.c.attempts + 1,
                    updated_at=at,
                )
                .returning(*jobs.c)
            )
            claimed = [job_record(row) for row in result.mappings()]
        return sorted(claimed, key=lambda job: (job.run_after, job.created_at, job.id))

    async def get_validation_job(self, job_id: str) -> ValidationJobRecord:
        async with self._read() as conn:
            return job_record(await self._one(conn, jobs, job_id, "validation job"))

    async def finish_validation_job(
        self, job_id: str, *, worker_id: str, now: datetime | None = None
    ) -> bool:
        """running -> done, only while claimed by `worker_id` (even past its lease, if no
        one re-claimed it). False otherwise; NotFound for a missing job. `now` (default:
        the clock) is when it finished, for purge_validation_jobs."""
        return await self._release(
            job_id, worker_id, now, status="done", claimed_by=None, claimed_until=None
        )

    async def retry_validation_job(
        self,
        job_id: str,
        *,
        worker_id: str,
        run_after: datetime,
        error: str,
        now: datetime | None = None,
    ) -> bool:
        """running -> queued, due again at `run_after`, with `error` as last_error; only
        while claimed by `worker_id`. False otherwise; NotFound for a missing job."""
        due = require_utc(run_after, "run_after")
        return await self._release(
            job_id,
            worker_id,
            now,
            status="queued",
            claimed_by=None,
            claimed_until=None,
            run_after=due,
            last_error=error,
        )

    async def _release(
        self, job_id: str, worker_id: str, now: datetime | None, **values: object
    ) -> bool:
        _check_worker(worker_id)
        at = utc_now() if now is None else require_utc(now, "now")
        async with self._write() as conn:
            result = await conn.execute(
                update(jobs)
                .where(
                    jobs.c.id == job_id,
                    jobs.c.status == "running",
                    jobs.c.claimed_by == worker_id,
                )
                .values(**values, updated_at=at)
            )
            if result.rowcount == 0:
                await self._require(conn, jobs, job_id, "validation job")
                return False
            return True

    async def count_pending_validation_jobs(self) -> int:
        """Jobs not done yet: queued (due or not) and running."""
        async with self._read() as conn:
            count = await conn.scalar(
                select(func.count()).select_from(jobs).where(jobs.c.status != "done")
            )
            return int(count or 0)

    async def purge_validation_jobs(self, before: datetime) -> int:
        """Delete done jobs finished before `before`; returns how many."""
        at = require_utc(before, "before")
        async with self._write() as conn:
            result = await conn.execute(
                delete(jobs).where(jobs.c.status == "done", jobs.c.updated_at < at)
            )
            return int(result.rowcount)
