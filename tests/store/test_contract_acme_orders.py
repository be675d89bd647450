"""ACME orders (RFC 8555 sections 7.1.3, 7.1.6, 7.4): creation, reuse, listing and the
order's own transitions, on both backends."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

import pytest

from store import AuthorizationRecord, AuthorizationStatus, Conflict, NotFound, Store
from tests.store.acme_factories import (
    AUTHZ_LIFETIME,
    PROBLEM,
    make_account,
    make_order,
    new_authz,
    validate,
)
from tests.store.factories import NOW, issue, make_profile


async def test_s7_4_order_is_created_with_its_authorizations_and_challenges(
    store: Store,
) -> None:
    account = await make_account(store)
    identifiers = [
        {"type": "dns", "value": "b.example.com"},
        {"type": "dns", "value": "*.example.com"},
    ]

    order = await make_order(
        store,
        account,
        identifiers=identifiers,
        new_authorizations=[
            new_authz("b.example.com"),
            new_authz("example.com", wildcard=True, types=("dns-01",)),
        ],
        not_before=NOW + timedelta(hours=1),
        not_after=NOW + timedelta(days=30),
        replaces="aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE",
    )

    assert order == await store.get_order(order.id)
    assert (order.status, order.account_id, order.profile_id) == (
        "pending",
        account.id,
        account.profile_id,
    )
    assert order.identifiers == identifiers
    assert order.not_before == NOW + timedelta(hours=1)
    assert order.not_after == NOW + timedelta(days=30)
    assert order.replaces == "aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE"
    assert order.error is None and order.certificate_id is None
    assert order.created_at == order.updated_at == NOW
    authzs = [await store.get_authorization(a_id) for a_id in order.authorization_ids]
    # sorted by identifier: (dns, b.example.com, False) before (dns, example.com, True)
    assert [(a.identifier_value, a.wildcard) for a in authzs] == [
        ("b.example.com", False),
        ("example.com", True),
    ]
    for authz in authzs:
        assert (authz.status, authz.account_id, authz.expires) == (
            "pending",
            account.id,
            NOW + AUTHZ_LIFETIME,
        )
        for challenge in authz.challenges:
            assert challenge == await store.get_challenge(challenge.id)
            assert (challenge.authorization_id, challenge.status) == (authz.id, "pending")
            assert challenge.validated_at is None and challenge.error is None
            assert len(challenge.token) >= 16
    assert [c.type for c in authzs[0].challenges] == ["dns-01", "http-01"]
    assert [c.type for c in authzs[1].challenges] == ["dns-01"]


async def test_s7_4_order_with_only_valid_reused_authorizations_starts_ready(
    store: Store,
) -> None:
    account = await make_account(store)
    first = await make_order(store, account, ("a.example.com",))
    authz_id = first.authorization_ids[0]
    await validate(store, authz_id)

    again = await make_order(store, account, ("a.example.com",), reuse=(authz_id,))
    mixed = await make_order(store, account, ("a.example.com", "b.example.com"), reuse=(authz_id,))

    assert again.status == "ready" and again.authorization_ids == (authz_id,)
    assert mixed.status == "pending" and authz_id in mixed.authorization_ids
    assert len(mixed.authorization_ids) == 2


async def test_s7_4_pending_authorization_can_be_reused(store: Store) -> None:
    account = await make_account(store)
    first = await make_order(store, account)
    authz_id = first.authorization_ids[0]

    second = await make_order(store, account, reuse=(authz_id, authz_id))

    assert (second.status, second.authorization_ids) == ("pending", (authz_id,))
    await validate(store, authz_id)
    assert (await store.get_order(first.id)).status == "ready"
    assert (await store.get_order(second.id)).status == "ready"


async def test_s7_4_unusable_reused_authorizations_are_refused(store: Store) -> None:
    profile = await make_profile(store)
    account = await make_account(store, profile=profile)
    stranger = await make_account(store, profile=profile)
    theirs = (await make_order(store, stranger)).authorization_ids[0]
    deactivated = (await make_order(store, account)).authorization_ids[0]
    await store.deactivate_authorization(deactivated, NOW)
    short = await make_order(
        store, account, new_authorizations=[new_authz("a.example.com", expires=NOW)]
    )

    with pytest.raises(NotFound, match="authorization"):
        await make_order(store, account, reuse=(theirs,))
    with pytest.raises(NotFound, match="authorization"):
        await make_order(store, account, reuse=(str(uuid.uuid4()),))
    with pytest.raises(Conflict, match="can no longer be reused"):
        await make_order(store, account, reuse=(deactivated,))
    with pytest.raises(Conflict, match="can no longer be reused"):
        await make_order(store, account, reuse=(short.authorization_ids[0],))
    listed = await store.list_account_orders(account.id, limit=10, after=None)
    assert len(listed) == 2  # the refused orders left nothing behind


async def test_s7_4_order_needs_a_valid_account_of_its_profile(store: Store) -> None:
    account = await make_account(store)
    other_profile = await make_profile(store)

    with pytest.raises(Conflict, match="another profile"):
        await make_order(store, account, profile_id=other_profile.id)
    with pytest.raises(NotFound, match="account"):
        await make_order(store, account, account_id=str(uuid.uuid4()))
    with pytest.raises(ValueError, match="identifier"):
        await make_order(store, account, identifiers=[])
    with pytest.raises(ValueError, match="authorization"):
        await make_order(store, account, new_authorizations=[])
    with pytest.raises(ValueError, match="distinct"):
        await make_order(
            store, account, new_authorizations=[new_authz("a.example.com", types=("x", "x"))]
        )
    await store.deactivate_account(account.id, NOW)
    with pytest.raises(Conflict, match="deactivated"):
        await make_order(store, account)
    assert await store.list_account_orders(account.id, limit=10, after=None) == []


async def test_s7_1_2_1_orders_list_pages_by_creation_then_id(store: Store) -> None:
    account = await make_account(store)
    other = await make_account(store)
    await make_order(store, other)
    same_time = [await make_order(store, account) for _ in range(3)]
    later = await make_order(store, account, now=NOW + timedelta(seconds=1))
    earlier = await make_order(store, account, now=NOW - timedelta(seconds=1))
    expected = [earlier.id, *sorted(order.id for order in same_time), later.id]

    pages: list[list[str]] = []
    after = None
    while True:
        page = await store.list_account_orders(account.id, limit=2, after=after)
        if not page:
            break
        pages.append([order.id for order in page])
        after = page[-1].id

    assert pages == [expected[0:2], expected[2:4], expected[4:5]]
    first = await store.list_account_orders(account.id, limit=1, after=None)
    assert first == [await store.get_order(earlier.id)]


async def test_s7_1_2_1_orders_list_filters_and_errors(store: Store) -> None:
    account = await make_account(store)
    stranger = await make_account(store)
    kept = await make_order(store, account)
    failed = await make_order(store, account)
    theirs = await make_order(store, stranger)
    await store.fail_order(failed.id, error=PROBLEM, now=NOW)

    listed = await store.list_account_orders(
        account.id, limit=10, after=None, statuses=("pending", "ready", "processing", "valid")
    )

    assert [order.id for order in listed] == [kept.id]
    with pytest.raises(NotFound, match="order"):
        await store.list_account_orders(account.id, limit=10, after=theirs.id)
    with pytest.raises(NotFound, match="account"):
        await store.list_account_orders(str(uuid.uuid4()), limit=10, after=None)
    with pytest.raises(ValueError, match="limit"):
        await store.list_account_orders(account.id, limit=0, after=None)
    with pytest.raises(ValueError, match="statuses"):
        await store.list_account_orders(account.id, limit=1, after=None, statuses=("done",))


async def test_s7_4_find_reusable_authorization(store: Store) -> None:
    account = await make_account(store)
    stranger = await make_account(store)
    old = (await make_order(store, account)).authorization_ids[0]
    new = (await make_order(store, account, now=NOW + timedelta(minutes=1))).authorization_ids[0]
    await make_order(store, stranger)
    wildcard = await make_order(
        store, account, new_authorizations=[new_authz("a.example.com", wildcard=True)]
    )

    async def find(
        *,
        account_id: str = account.id,
        wildcard: bool = False,
        now: datetime = NOW + timedelta(minutes=2),
        statuses: tuple[AuthorizationStatus, ...] = ("valid",),
    ) -> AuthorizationRecord | None:
        return await store.find_reusable_authorization(
            account_id=account_id,
            identifier_type="dns",
            identifier_value="a.example.com",
            wildcard=wildcard,
            now=now,
            statuses=statuses,
        )

    assert await find() is None  # nothing valid yet
    assert await find(statuses=("pending",)) == await store.get_authorization(new)  # newest
    await validate(store, old)
    assert await find() == await store.get_authorization(old)
    both = await find(statuses=("pending", "valid"))
    assert both is not None and both.id == new
    found_wildcard = await find(wildcard=True, statuses=("pending",))
    assert found_wildcard is not None
    assert found_wildcard.id == wildcard.authorization_ids[0]
    assert await find(now=NOW + AUTHZ_LIFETIME) is None
    assert await find(account_id=stranger.id) is None
    with pytest.raises(ValueError, match="statuses"):
        await find(statuses=("bogus",))  # type: ignore[arg-type]


async def test_s7_4_finalize_moves_ready_to_processing_to_valid_once(store: Store) -> None:
    account = await make_account(store)
    order = await make_order(store, account)
    cert = await issue(store, profile_id=account.profile_id)
    later = NOW + timedelta(minutes=5)

    assert await store.begin_finalize(order.id, NOW) is False  # pending: orderNotReady
    await validate(store, order.authorization_ids[0])
    assert await store.complete_order(order.id, certificate_id=cert.id, now=later) is False
    assert await store.begin_finalize(order.id, NOW) is True
    assert await store.begin_finalize(order.id, NOW) is False  # finalize twice issues once
    assert (await store.get_order(order.id)).status == "processing"
    assert await store.complete_order(order.id, certificate_id=cert.id, now=later) is True
    assert await store.complete_order(order.id, certificate_id=cert.id, now=later) is False

    done = await store.get_order(order.id)
    assert (done.status, done.certificate_id, done.updated_at) == ("valid", cert.id, later)
    assert await store.find_orders_by_certificate(cert.id) == [done]
    assert await store.fail_order(order.id, error=PROBLEM, now=later) is False


async def test_s7_4_2_a_certificate_is_read_only_by_the_account_whose_order_issued_it(
    store: Store,
) -> None:
    account = await make_account(store)
    stranger = await make_account(store)
    order = await make_order(store, account)
    cert = await issue(store, profile_id=account.profile_id)
    with pytest.raises(NotFound):  # issued, but by no order yet
        await store.get_ordered_certificate(cert.id, account.id)
    await validate(store, order.authorization_ids[0])
    assert await store.begin_finalize(order.id, NOW) is True
    assert await store.complete_order(order.id, certificate_id=cert.id, now=NOW) is True

    assert await store.get_ordered_certificate(cert.id, account.id) == (
        await store.get_certificate(cert.id)
    )
    with pytest.raises(NotFound):
        await store.get_ordered_certificate(cert.id, stranger.id)
    with pytest.raises(NotFound):
        await store.get_ordered_certificate(str(uuid.uuid4()), account.id)


async def test_s7_4_expired_ready_order_cannot_be_finalized(store: Store) -> None:
    account = await make_account(store)
    order = await make_order(store, account)
    await validate(store, order.authorization_ids[0])

    assert await store.begin_finalize(order.id, order.expires) is False
    assert (await store.get_order(order.id)).status == "ready"


async def test_s7_1_6_fail_order_records_the_problem(store: Store) -> None:
    account = await make_account(store)
    pending = await make_order(store, account)
    processing = await make_order(store, account)
    await validate(store, processing.authorization_ids[0])
    await store.begin_finalize(processing.id, NOW)

    assert await store.fail_order(pending.id, error=PROBLEM, now=NOW) is True
    assert await store.fail_order(processing.id, error={"type": "x"}, now=NOW) is True
    assert await store.fail_order(pending.id, error={"type": "again"}, now=NOW) is False

    failed = await store.get_order(pending.id)
    assert (failed.status, failed.error) == ("invalid", PROBLEM)
    assert (await store.get_order(processing.id)).error == {"type": "x"}


async def test_s7_1_6_expire_orders_invalidates_pending_and_ready_past_expiry(
    store: Store,
) -> None:
    account = await make_account(store)
    before = NOW - timedelta(seconds=1)
    pending = await make_order(store, account, expires=NOW)
    ready = await make_order(store, account, expires=NOW)
    await validate(store, ready.authorization_ids[0], now=before)
    processing = await make_order(store, account, expires=NOW)
    await validate(store, processing.authorization_ids[0], now=before)
    await store.begin_finalize(processing.id, before)
    fresh = await make_order(store, account, expires=NOW + timedelta(seconds=1))

    assert await store.expire_orders(NOW) == 2
    assert await store.expire_orders(NOW) == 0

    assert (await store.get_order(pending.id)).status == "invalid"
    assert (await store.get_order(ready.id)).status == "invalid"
    assert (await store.get_order(processing.id)).status == "processing"
    assert (await store.get_order(fresh.id)).status == "pending"


async def test_s7_4_unknown_orders_are_not_found(store: Store) -> None:
    account = await make_account(store)
    order = await make_order(store, account)
    missing = str(uuid.uuid4())

    with pytest.raises(NotFound, match="order"):
        await store.get_order(missing)
    with pytest.raises(NotFound, match="order"):
        await store.begin_finalize(missing, NOW)
    with pytest.raises(NotFound, match="order"):
        await store.fail_order(missing, error=PROBLEM, now=NOW)
    with pytest.raises(NotFound, match="certificate"):
        await store.complete_order(order.id, certificate_id=missing, now=NOW)
    cert = await issue(store)
    with pytest.raises(NotFound, match="order"):
        await store.complete_order(missing, certificate_id=cert.id, now=NOW)
    assert await store.find_orders_by_certificate(missing) == []
