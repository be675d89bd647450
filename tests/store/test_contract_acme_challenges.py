"""The challenge flow (RFC 8555 sections 7.1.6, 7.5): start, record, authorization and
order transitions, deactivation and expiry, on both backends."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

import pytest

from store import NotFound, Store
from tests.store.acme_factories import (
    AUTHZ_LIFETIME,
    PROBLEM,
    make_account,
    make_order,
    new_authz,
    validate,
)
from tests.store.factories import NOW

NAMES = ("a.example.com", "b.example.com", "c.example.com")


async def test_s7_5_1_start_challenge_moves_it_to_processing_and_enqueues_a_job(
    store: Store,
) -> None:
    order = await make_order(store, await make_account(store))
    challenge = (await store.get_authorization(order.authorization_ids[0])).challenges[0]
    later = NOW + timedelta(seconds=30)

    assert await store.start_challenge(challenge.id, now=NOW, run_after=later) is True
    assert await store.start_challenge(challenge.id, now=NOW) is False  # already processing

    started = await store.get_challenge(challenge.id)
    assert (started.status, started.updated_at) == ("processing", NOW)
    assert await store.count_pending_validation_jobs() == 1
    assert (
        await store.claim_validation_jobs(
            worker_id="w", limit=10, lease=timedelta(minutes=1), now=NOW
        )
        == []
    )
    (job,) = await store.claim_validation_jobs(
        worker_id="w", limit=10, lease=timedelta(minutes=1), now=later
    )
    assert (job.challenge_id, job.attempts, job.created_at) == (challenge.id, 1, NOW)


async def test_s7_5_1_concurrent_starts_enqueue_one_job(store: Store) -> None:
    order = await make_order(store, await make_account(store))
    challenge = (await store.get_authorization(order.authorization_ids[0])).challenges[0]

    results = await asyncio.gather(
        *(store.start_challenge(challenge.id, now=NOW) for _ in range(10))
    )

    assert results.count(True) == 1
    assert await store.count_pending_validation_jobs() == 1


async def test_s7_5_1_challenge_of_an_expired_or_settled_authorization_does_not_start(
    store: Store,
) -> None:
    account = await make_account(store)
    order = await make_order(store, account, NAMES[:2])
    expiring, settled = [await store.get_authorization(a) for a in order.authorization_ids]
    await validate(store, settled.id)

    assert await store.start_challenge(expiring.challenges[0].id, now=expiring.expires) is False
    assert await store.start_challenge(settled.challenges[1].id, now=NOW) is False
    assert (await store.get_challenge(settled.challenges[1].id)).status == "pending"
    assert await store.count_pending_validation_jobs() == 1  # the finished validation's job


async def test_s7_1_6_valid_challenge_makes_authorization_valid_and_order_ready(
    store: Store,
) -> None:
    order = await make_order(store, await make_account(store))
    authz = await store.get_authorization(order.authorization_ids[0])
    challenge = authz.challenges[1]
    await store.start_challenge(challenge.id, now=NOW)
    later = NOW + timedelta(seconds=5)

    assert await store.record_validation(challenge.id, valid=True, error=None, now=later) is True
    assert await store.record_validation(challenge.id, valid=False, error=PROBLEM, now=later) is (
        False
    )

    done = await store.get_challenge(challenge.id)
    assert (done.status, done.validated_at, done.error) == ("valid", later, None)
    valid = await store.get_authorization(authz.id)
    assert (valid.status, valid.updated_at) == ("valid", later)
    assert valid.challenges[0].status == "pending"  # the other challenge stays as it was
    ready = await store.get_order(order.id)
    assert (ready.status, ready.updated_at) == ("ready", later)


async def test_s7_1_6_invalid_challenge_invalidates_authorization_and_orders(
    store: Store,
) -> None:
    account = await make_account(store)
    order = await make_order(store, account, NAMES)
    failing = order.authorization_ids[1]
    sharing = await make_order(store, account, NAMES[1:2], reuse=(failing,))
    await validate(store, order.authorization_ids[0])

    authz = await validate(store, failing, valid=False, error=PROBLEM)

    assert authz.status == "invalid"
    challenge = next(c for c in authz.challenges if c.status != "pending")
    assert (challenge.status, challenge.error, challenge.validated_at) == (
        "invalid",
        PROBLEM,
        None,
    )
    for order_id in (order.id, sharing.id):
        failed = await store.get_order(order_id)
        assert (failed.status, failed.error) == ("invalid", PROBLEM)
    assert (await store.get_authorization(order.authorization_ids[0])).status == "valid"


async def test_s7_1_6_order_is_ready_only_when_every_authorization_is_valid(
    store: Store,
) -> None:
    order = await make_order(store, await make_account(store), NAMES)

    for authz_id in order.authorization_ids[:-1]:
        await validate(store, authz_id)
        assert (await store.get_order(order.id)).status == "pending"
    await validate(store, order.authorization_ids[-1])

    assert (await store.get_order(order.id)).status == "ready"


async def test_s7_1_6_concurrent_validations_leave_the_order_ready(store: Store) -> None:
    """No write skew: each validation sees the others' results or is seen by them."""
    account = await make_account(store)
    for _ in range(5):
        order = await make_order(store, account, NAMES)
        challenge_ids = [
            (await store.get_authorization(authz_id)).challenges[0].id
            for authz_id in order.authorization_ids
        ]
        for challenge_id in challenge_ids:
            assert await store.start_challenge(challenge_id, now=NOW)

        results = await asyncio.gather(
            *(
                store.record_validation(challenge_id, valid=True, error=None, now=NOW)
                for challenge_id in challenge_ids
            )
        )

        assert results == [True, True, True]
        assert (await store.get_order(order.id)).status == "ready"


async def test_s7_1_6_validation_after_expiry_does_not_make_the_authorization_valid(
    store: Store,
) -> None:
    order = await make_order(store, await make_account(store))
    authz = await store.get_authorization(order.authorization_ids[0])
    await store.start_challenge(authz.challenges[0].id, now=NOW)

    late = authz.expires
    assert await store.record_validation(authz.challenges[0].id, valid=True, error=None, now=late)

    assert (await store.get_challenge(authz.challenges[0].id)).status == "valid"
    assert (await store.get_authorization(authz.id)).status == "pending"
    assert (await store.get_order(order.id)).status == "pending"


async def test_s7_5_2_deactivating_an_authorization_invalidates_its_open_orders(
    store: Store,
) -> None:
    account = await make_account(store)
    pending = await make_order(store, account)
    authz_id = pending.authorization_ids[0]
    await validate(store, authz_id)
    ready = await make_order(store, account, reuse=(authz_id,))
    other = await make_order(store, account, ("b.example.com",))
    later = NOW + timedelta(minutes=1)
    problem = {"type": "urn:ietf:params:acme:error:unauthorized", "detail": "deactivated"}

    assert await store.deactivate_authorization(authz_id, later, order_error=problem) is True
    assert await store.deactivate_authorization(authz_id, later) is False

    deactivated = await store.get_authorization(authz_id)
    assert (deactivated.status, deactivated.updated_at) == ("deactivated", later)
    for order_id in (pending.id, ready.id):
        invalid = await store.get_order(order_id)
        assert (invalid.status, invalid.error, invalid.updated_at) == ("invalid", problem, later)
    assert (await store.get_order(other.id)).status == "pending"


async def test_s7_5_2_deactivating_a_pending_authorization_leaves_no_error(
    store: Store,
) -> None:
    order = await make_order(store, await make_account(store), NAMES[:2])

    assert await store.deactivate_authorization(order.authorization_ids[0], NOW) is True

    invalid = await store.get_order(order.id)
    assert (invalid.status, invalid.error) == ("invalid", None)
    # a late validation of the other authorization does not revive the order
    await validate(store, order.authorization_ids[1])
    assert (await store.get_order(order.id)).status == "invalid"


async def test_s7_1_6_expire_authorizations_also_invalidates_their_open_orders(
    store: Store,
) -> None:
    account = await make_account(store)
    short = NOW + timedelta(hours=1)
    order = await make_order(
        store,
        account,
        new_authorizations=[new_authz("a.example.com", expires=short)],
        expires=NOW + timedelta(days=1),
    )
    valid = await make_order(
        store,
        account,
        ("b.example.com",),
        new_authorizations=[new_authz("b.example.com", expires=short)],
    )
    await validate(store, valid.authorization_ids[0])
    lasting = await make_order(store, account, ("c.example.com",))

    assert await store.expire_authorizations(short) == 2
    assert await store.expire_authorizations(short) == 0

    for expired_order in (order, valid):
        authz = await store.get_authorization(expired_order.authorization_ids[0])
        assert (authz.status, authz.updated_at) == ("expired", short)
        assert (await store.get_order(expired_order.id)).status == "invalid"
    assert (await store.get_order(lasting.id)).status == "pending"
    kept = await store.get_authorization(lasting.authorization_ids[0])
    assert (kept.status, kept.expires) == ("pending", NOW + AUTHZ_LIFETIME)


async def test_s7_5_unknown_challenges_and_authorizations_are_not_found(store: Store) -> None:
    missing = str(uuid.uuid4())
    with pytest.raises(NotFound, match="challenge"):
        await store.get_challenge(missing)
    with pytest.raises(NotFound, match="challenge"):
        await store.start_challenge(missing, now=NOW)
    with pytest.raises(NotFound, match="challenge"):
        await store.record_validation(missing, valid=True, error=None, now=NOW)
    with pytest.raises(NotFound, match="authorization"):
        await store.get_authorization(missing)
    with pytest.raises(NotFound, match="authorization"):
        await store.deactivate_authorization(missing, NOW)
