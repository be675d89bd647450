"""The validation work queue: claims with leases, crash recovery, retry, on both backends."""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime, timedelta

import pytest

from store import Store
from store.interface import NotFound
from tests.store.acme_factories import make_account, make_order
from tests.store.factories import NOW

LEASE = timedelta(minutes=1)


async def enqueue(store: Store, count: int, *, run_after: datetime | None = None) -> list[str]:
    """Start one challenge for each of `count` new authorizations; their challenge ids."""
    names = tuple(f"host{n}.example.com" for n in range(count))
    order = await make_order(store, await make_account(store), names)
    started = []
    for authz_id in order.authorization_ids:
        challenge = (await store.get_authorization(authz_id)).challenges[0]
        assert await store.start_challenge(challenge.id, now=NOW, run_after=run_after)
        started.append(challenge.id)
    return started


async def test_claim_takes_due_jobs_with_a_lease(store: Store) -> None:
    (challenge_id,) = await enqueue(store, 1)

    (job,) = await store.claim_validation_jobs(worker_id="w1", limit=5, lease=LEASE, now=NOW)

    assert job == await store.get_validation_job(job.id)
    assert (job.challenge_id, job.status, job.attempts) == (challenge_id, "running", 1)
    assert (job.claimed_by, job.claimed_until) == ("w1", NOW + LEASE)
    assert (job.run_after, job.created_at, job.last_error) == (NOW, NOW, None)
    assert await store.claim_validation_jobs(worker_id="w2", limit=5, lease=LEASE, now=NOW) == []
    assert await store.count_pending_validation_jobs() == 1


async def test_a_challenge_started_and_claimed_at_once_is_leased_like_a_claimed_job(
    store: Store,
) -> None:
    """The challenge POST's own claim: the job is running for its worker from the start,
    claimable by nobody else until its lease runs out (the POSTing process died)."""
    order = await make_order(store, await make_account(store), ("a.example.com",))
    challenge = (await store.get_authorization(order.authorization_ids[0])).challenges[0]

    job = await store.start_challenge_and_claim(
        challenge.id, now=NOW, worker_id="poster", lease=LEASE
    )

    assert job is not None and job == await store.get_validation_job(job.id)
    assert (job.challenge_id, job.status, job.attempts) == (challenge.id, "running", 1)
    assert (job.claimed_by, job.claimed_until, job.run_after) == ("poster", NOW + LEASE, NOW)
    assert (await store.get_challenge(challenge.id)).status == "processing"
    assert (
        await store.start_challenge_and_claim(challenge.id, now=NOW, worker_id="other", lease=LEASE)
        is None
    )  # already started: one job, one validation
    assert await store.start_challenge(challenge.id, now=NOW) is False
    assert await store.claim_validation_jobs(worker_id="w2", limit=5, lease=LEASE, now=NOW) == []
    (resumed,) = await store.claim_validation_jobs(
        worker_id="w2", limit=5, lease=LEASE, now=NOW + LEASE + timedelta(seconds=1)
    )
    assert (resumed.id, resumed.claimed_by, resumed.attempts) == (job.id, "w2", 2)
    assert not await store.finish_validation_job(job.id, worker_id="poster")
    with pytest.raises(ValueError, match="worker_id"):
        await store.start_challenge_and_claim(challenge.id, now=NOW, worker_id="", lease=LEASE)
    with pytest.raises(NotFound):
        await store.start_challenge_and_claim(
            str(uuid.uuid4()), now=NOW, worker_id="poster", lease=LEASE
        )


async def test_claim_respects_run_after_and_limit(store: Store) -> None:
    await enqueue(store, 3)
    await enqueue(store, 1, run_after=NOW + timedelta(seconds=10))

    first = await store.claim_validation_jobs(worker_id="w", limit=2, lease=LEASE, now=NOW)
    second = await store.claim_validation_jobs(worker_id="w", limit=2, lease=LEASE, now=NOW)
    later = await store.claim_validation_jobs(
        worker_id="w", limit=2, lease=LEASE, now=NOW + timedelta(seconds=10)
    )

    assert (len(first), len(second), len(later)) == (2, 1, 1)
    assert len({job.id for job in first + second + later}) == 4
    with pytest.raises(ValueError, match="limit"):
        await store.claim_validation_jobs(worker_id="w", limit=0, lease=LEASE, now=NOW)
    with pytest.raises(ValueError, match="lease"):
        await store.claim_validation_jobs(worker_id="w", limit=1, lease=timedelta(0), now=NOW)
    with pytest.raises(ValueError, match="worker_id"):
        await store.claim_validation_jobs(worker_id="", limit=1, lease=LEASE, now=NOW)


async def test_concurrent_claimers_never_share_a_job(store: Store) -> None:
    await enqueue(store, 10)

    batches = await asyncio.gather(
        *(
            store.claim_validation_jobs(worker_id=f"w{n}", limit=3, lease=LEASE, now=NOW)
            for n in range(5)
        )
    )
    rest = await store.claim_validation_jobs(worker_id="late", limit=10, lease=LEASE, now=NOW)

    claimed = [job.id for batch in batches for job in batch] + [job.id for job in rest]
    assert len(claimed) == len(set(claimed)) == 10
    for n, batch in enumerate(batches):
        assert len(batch) <= 3
        assert all(job.claimed_by == f"w{n}" and job.attempts == 1 for job in batch)


async def test_expired_lease_is_reclaimed_by_another_worker(store: Store) -> None:
    await enqueue(store, 1)
    (job,) = await store.claim_validation_jobs(worker_id="crashed", limit=1, lease=LEASE, now=NOW)

    during = NOW + LEASE - timedelta(seconds=1)
    after = NOW + LEASE + timedelta(seconds=1)
    assert await store.claim_validation_jobs(worker_id="w2", limit=1, lease=LEASE, now=during) == []
    (again,) = await store.claim_validation_jobs(worker_id="w2", limit=1, lease=LEASE, now=after)

    assert again.id == job.id
    assert (again.claimed_by, again.claimed_until, again.attempts) == ("w2", after + LEASE, 2)
    assert await store.finish_validation_job(job.id, worker_id="crashed") is False
    assert (
        await store.retry_validation_job(job.id, worker_id="crashed", run_after=after, error="late")
        is False
    )
    assert await store.finish_validation_job(job.id, worker_id="w2", now=after) is True
    assert await store.finish_validation_job(job.id, worker_id="w2", now=after) is False

    done = await store.get_validation_job(job.id)
    assert (done.status, done.claimed_by, done.claimed_until) == ("done", None, None)
    assert await store.count_pending_validation_jobs() == 0
    assert (
        await store.claim_validation_jobs(
            worker_id="w3", limit=1, lease=LEASE, now=after + timedelta(days=1)
        )
        == []
    )


async def test_retry_requeues_with_the_error(store: Store) -> None:
    await enqueue(store, 1)
    (job,) = await store.claim_validation_jobs(worker_id="w", limit=1, lease=LEASE, now=NOW)
    retry_at = NOW + timedelta(seconds=30)

    assert (
        await store.retry_validation_job(
            job.id, worker_id="w", run_after=retry_at, error="connection refused"
        )
        is True
    )
    assert (
        await store.retry_validation_job(job.id, worker_id="w", run_after=retry_at, error="again")
        is False
    )  # queued now, no longer this worker's

    queued = await store.get_validation_job(job.id)
    assert (queued.status, queued.run_after, queued.last_error) == (
        "queued",
        retry_at,
        "connection refused",
    )
    assert (queued.claimed_by, queued.claimed_until, queued.attempts) == (None, None, 1)
    assert await store.count_pending_validation_jobs() == 1
    assert await store.claim_validation_jobs(worker_id="w", limit=1, lease=LEASE, now=NOW) == []
    (again,) = await store.claim_validation_jobs(worker_id="w2", limit=1, lease=LEASE, now=retry_at)
    assert (again.id, again.attempts, again.last_error) == (job.id, 2, "connection refused")


async def test_due_before_leaves_fresh_jobs_but_takes_expired_leases(store: Store) -> None:
    await enqueue(store, 2)
    (crashed,) = await store.claim_validation_jobs(worker_id="w", limit=1, lease=LEASE, now=NOW)
    after = NOW + LEASE + timedelta(seconds=1)
    # The other job is queued, due since NOW; a claimer asking only for jobs due before
    # that gets the expired lease alone.
    (taken,) = await store.claim_validation_jobs(
        worker_id="w2", limit=5, lease=LEASE, now=after, due_before=NOW - timedelta(seconds=1)
    )
    assert taken.id == crashed.id
    (fresh,) = await store.claim_validation_jobs(
        worker_id="w2", limit=5, lease=LEASE, now=after, due_before=NOW
    )
    assert fresh.id != crashed.id


async def test_defer_requeues_without_counting_the_attempt(store: Store) -> None:
    await enqueue(store, 1)
    (job,) = await store.claim_validation_jobs(worker_id="w", limit=1, lease=LEASE, now=NOW)
    later = NOW + timedelta(seconds=1)

    assert await store.defer_validation_job(job.id, worker_id="other", run_after=later) is False
    assert await store.defer_validation_job(job.id, worker_id="w", run_after=later) is True
    assert await store.defer_validation_job(job.id, worker_id="w", run_after=later) is False

    queued = await store.get_validation_job(job.id)
    assert (queued.status, queued.run_after, queued.attempts) == ("queued", later, 0)
    assert (queued.claimed_by, queued.claimed_until, queued.last_error) == (None, None, None)
    assert await store.claim_validation_jobs(worker_id="w", limit=1, lease=LEASE, now=NOW) == []
    (again,) = await store.claim_validation_jobs(worker_id="w2", limit=1, lease=LEASE, now=later)
    assert (again.id, again.attempts) == (job.id, 1)


async def test_purge_deletes_only_finished_jobs(store: Store) -> None:
    await enqueue(store, 3)
    first, second = await store.claim_validation_jobs(worker_id="w", limit=2, lease=LEASE, now=NOW)
    await store.finish_validation_job(first.id, worker_id="w", now=NOW)
    await store.finish_validation_job(second.id, worker_id="w", now=NOW + timedelta(hours=2))

    assert await store.purge_validation_jobs(NOW + timedelta(hours=1)) == 1
    assert await store.count_pending_validation_jobs() == 1
    with pytest.raises(NotFound):
        await store.get_validation_job(first.id)
    assert (await store.get_validation_job(second.id)).status == "done"


async def test_unknown_jobs_are_not_found(store: Store) -> None:
    missing = str(uuid.uuid4())
    with pytest.raises(NotFound, match="validation job"):
        await store.get_validation_job(missing)
    with pytest.raises(NotFound, match="validation job"):
        await store.finish_validation_job(missing, worker_id="w")
    with pytest.raises(NotFound, match="validation job"):
        await store.retry_validation_job(missing, worker_id="w", run_after=NOW, error="x")
    with pytest.raises(NotFound, match="validation job"):
        await store.defer_validation_job(missing, worker_id="w", run_after=NOW)
