"""The validation work queue: jobs claimed with a lease, so a crashed worker's job is
taken up again by another (DESIGN.md, "How a request flows", step 3).

    queued --claim--> running --finish--> done
                      running --retry--> queued (run_after, last_error)
                      running --defer--> queued (run_after; the claim's attempt undone)
                      running, lease expired --claim (another worker)--> running

`start_challenge` enqueues. A job is claimable when queued and due (run_after <= now),
or running with an expired lease (claimed_until < now). Claiming selects and updates in
one statement: PostgreSQL locks the selected rows FOR UPDATE SKIP LOCKED (in a CTE that
runs once, so it never takes more than `limit`), so concurrent claimers take different
jobs without waiting; SQLite's single writer (BEGIN IMMEDIATE) makes it atomic anyway.

Finished jobs are kept as `done` (attempts and last_error stay readable) and deleted by
`purge_validation_jobs`. Finishing or retrying needs the worker's current claim, so a
worker whose lease expired and was re-claimed cannot disturb the new claimant; it may
still record its result, which `record_validation` accepts only once.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from store.acme_rows import check_limit, job_record
from store.base import StoreBase, update_picked_sql
from store.columns import require_utc, utc_now
from store.db import Sql
from store.records import ValidationJobRecord
from store.schema import validation_jobs as jobs

WORKER_ID_MAX = 255  # schema: validation_jobs.claimed_by

_FINISH = Sql(
    "UPDATE validation_jobs SET status = 'done', claimed_by = NULL, claimed_until = NULL, "
    "updated_at = :at "
    "WHERE id = :id AND status = 'running' AND claimed_by = :worker_id"
)
_RETRY = Sql(
    "UPDATE validation_jobs SET status = 'queued', claimed_by = NULL, claimed_until = NULL, "
    "run_after = :run_after, last_error = :last_error, updated_at = :at "
    "WHERE id = :id AND status = 'running' AND claimed_by = :worker_id"
)
_DEFER = Sql(
    "UPDATE validation_jobs SET status = 'queued', claimed_by = NULL, claimed_until = NULL, "
    "run_after = :run_after, attempts = CASE WHEN attempts > 0 THEN attempts - 1 ELSE 0 END, "
    "updated_at = :at "
    "WHERE id = :id AND status = 'running' AND claimed_by = :worker_id"
)
_COUNT_PENDING = Sql("SELECT count(*) FROM validation_jobs WHERE status <> 'done'")
_PURGE = Sql("DELETE FROM validation_jobs WHERE status = 'done' AND updated_at < :at")
_CLAIM_UPDATE = (
    "UPDATE validation_jobs SET status = 'running', claimed_by = :worker_id, "
    "claimed_until = :until, attempts = attempts + 1, updated_at = :at"
)
_CLAIM_PICK = (
    "SELECT id FROM validation_jobs "
    "WHERE (status = 'queued' AND run_after <= :due) "
    "OR (status = 'running' AND claimed_until < :at) "
    "ORDER BY run_after, created_at, id LIMIT :limit"
)


def check_worker_id(worker_id: str) -> str:
    if not worker_id or len(worker_id) > WORKER_ID_MAX:
        raise ValueError(f"worker_id must be 1-{WORKER_ID_MAX} characters")
    return worker_id


def check_claim(worker_id: str, lease: timedelta) -> None:
    """What a claim needs, whoever makes it (a worker's claim, a challenge POST's own)."""
    check_worker_id(worker_id)
    if lease <= timedelta(0):
        raise ValueError(f"lease must be positive, got {lease}")


class ValidationJobQueries(StoreBase):
    async def claim_validation_jobs(
        self,
        *,
        worker_id: str,
        limit: int,
        lease: timedelta,
        now: datetime,
        due_before: datetime | None = None,
    ) -> list[ValidationJobRecord]:
        """Claim up to `limit` claimable jobs, longest due first: each becomes running,
        claimed by `worker_id` until now + lease, attempts + 1. [] when none is free.
        `due_before` (default `now`) takes only queued jobs due by then: a worker that was
        not woken for a job leaves fresh ones to the process whose request queued them;
        expired leases are taken whatever it says."""
        at = require_utc(now, "now")
        due = at if due_before is None else require_utc(due_before, "due_before")
        check_claim(worker_id, lease)
        check_limit(limit)
        params = {
            "worker_id": worker_id,
            "until": at + lease,
            "at": at,
            "due": due,
            "limit": limit,
        }
        # One statement (pick with SKIP LOCKED, update, return): atomic by itself.
        async with self._autocommit() as tx:
            sql = update_picked_sql(
                _CLAIM_UPDATE, _CLAIM_PICK, self._lock(skip_locked=True), " RETURNING *"
            )
            rows = await tx.all(sql, params)
        claimed = [job_record(row) for row in rows]
        return sorted(claimed, key=lambda job: (job.run_after, job.created_at, job.id))

    async def get_validation_job(self, job_id: str) -> ValidationJobRecord:
        async with self._read() as tx:
            return job_record(await self._one(tx, jobs, job_id, "validation job"))

    async def finish_validation_job(
        self, job_id: str, *, worker_id: str, now: datetime | None = None
    ) -> bool:
        """running -> done, only while claimed by `worker_id` (even past its lease, if no
        one re-claimed it). False otherwise; NotFound for a missing job. `now` (default:
        the clock) is when it finished, for purge_validation_jobs."""
        return await self._release(_FINISH, job_id, worker_id, now, {})

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
            _RETRY, job_id, worker_id, now, {"run_after": due, "last_error": error}
        )

    async def defer_validation_job(
        self,
        job_id: str,
        *,
        worker_id: str,
        run_after: datetime,
        now: datetime | None = None,
    ) -> bool:
        """running -> queued, due again at `run_after`, as if never claimed: the attempt
        the claim counted is taken back and last_error is kept. For a worker that claimed a
        job it may not start yet (its account is at its concurrency bound). Only while
        claimed by `worker_id`; False otherwise; NotFound for a missing job."""
        due = require_utc(run_after, "run_after")
        return await self._release(_DEFER, job_id, worker_id, now, {"run_after": due})

    async def _release(
        self,
        sql: Sql,
        job_id: str,
        worker_id: str,
        now: datetime | None,
        values: dict[str, object],
    ) -> bool:
        check_worker_id(worker_id)
        at = utc_now() if now is None else require_utc(now, "now")
        params = {**values, "id": job_id, "worker_id": worker_id, "at": at}
        return await self._conditional(sql, params, jobs, "validation job")

    async def count_pending_validation_jobs(self) -> int:
        """Jobs not done yet: queued (due or not) and running."""
        async with self._read() as tx:
            return int(await tx.value(_COUNT_PENDING) or 0)

    async def purge_validation_jobs(self, before: datetime) -> int:
        """Delete done jobs finished before `before`; returns how many."""
        at = require_utc(before, "before")
        async with self._write() as tx:
            return await tx.run(_PURGE, {"at": at})
