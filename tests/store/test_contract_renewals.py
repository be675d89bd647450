"""Server-driven renewal in the store: the scheduler lease, one successor per certificate,
candidates, failure bookkeeping and crash recovery; both backends."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from pki_types.model import CertificateStatus, RevocationReason
from store import AlreadyRenewed, NotFound, Store
from tests.store.factories import NOW, issue, make_profile, reserve

LEASE = "renewal-scheduler"


async def test_lease_has_one_holder_until_it_expires(store: Store) -> None:
    ttl = timedelta(seconds=30)
    assert await store.take_lease(LEASE, "a", ttl=ttl, now=NOW)
    assert not await store.take_lease(LEASE, "b", ttl=ttl, now=NOW + timedelta(seconds=10))
    assert await store.take_lease(LEASE, "a", ttl=ttl, now=NOW + timedelta(seconds=20))  # extends
    assert await store.lease_holder(LEASE, now=NOW + timedelta(seconds=45)) == "a"
    assert not await store.take_lease(LEASE, "b", ttl=ttl, now=NOW + timedelta(seconds=45))
    # Expired (20 s + 30 s): b takes over, and a cannot take it back.
    assert await store.take_lease(LEASE, "b", ttl=ttl, now=NOW + timedelta(seconds=51))
    assert not await store.take_lease(LEASE, "a", ttl=ttl, now=NOW + timedelta(seconds=52))
    assert not await store.release_lease(LEASE, "a")
    assert await store.release_lease(LEASE, "b")
    assert await store.lease_holder(LEASE, now=NOW) is None
    with pytest.raises(ValueError):
        await store.take_lease(LEASE, "a", ttl=timedelta(0), now=NOW)


async def test_concurrent_lease_takers_get_one_winner(store: Store) -> None:
    ttl = timedelta(minutes=1)
    won = await asyncio.gather(
        *(store.take_lease(LEASE, f"h{i}", ttl=ttl, now=NOW) for i in range(8))
    )
    assert sum(won) == 1


async def test_reserving_a_renewal_claims_the_renewed_certificate(store: Store) -> None:
    old = await issue(store)
    new = await reserve(store, renewed_from_id=old.id)

    assert (await store.get_certificate(old.id)).renewed_by_id == new.id
    with pytest.raises(AlreadyRenewed):
        await reserve(store, renewed_from_id=old.id, serial_hex="abcdef01")
    # Nothing of the refused reservation was stored.
    with pytest.raises(NotFound):
        await store.get_certificate_by_serial("abcdef01")
    assert await store.link_renewal(old.id, new.id) is True  # activation's link: harmless


async def test_concurrent_renewals_of_one_certificate_reserve_one_successor(store: Store) -> None:
    old = await issue(store)
    results = await asyncio.gather(
        *(reserve(store, renewed_from_id=old.id) for _ in range(6)), return_exceptions=True
    )
    reserved = [r for r in results if not isinstance(r, BaseException)]
    assert len(reserved) == 1
    assert all(isinstance(r, AlreadyRenewed) for r in results if isinstance(r, BaseException))
    assert await store.count_certificates() == 2


async def test_candidates_are_in_their_window_managed_and_not_renewed(store: Store) -> None:
    profile = await make_profile(store, auto_renew=True, renew_before_days=10)
    due = await issue(store, profile_id=profile.id, auto_renew=True, not_after=NOW + timedelta(5))
    await issue(store, profile_id=profile.id, auto_renew=False, not_after=NOW + timedelta(5))
    await issue(store, profile_id=profile.id, auto_renew=True, not_after=NOW + timedelta(20))
    renewed = await issue(
        store, profile_id=profile.id, auto_renew=True, not_after=NOW + timedelta(3)
    )
    await reserve(store, profile_id=profile.id, renewed_from_id=renewed.id)

    found = await store.renewal_candidates(now=NOW)

    assert [(c.certificate.id, c.renew_before_days) for c in found] == [(due.id, 10)]


async def test_a_failure_is_recorded_and_waits_for_its_retry(store: Store) -> None:
    profile = await make_profile(store, auto_renew=True, renew_before_days=10)
    cert = await issue(store, profile_id=profile.id, auto_renew=True, not_after=NOW + timedelta(5))
    retry = NOW + timedelta(minutes=2)

    assert await store.record_renewal_failure(cert.id, error="CA disabled", next_attempt_at=retry)
    assert await store.record_renewal_failure(cert.id, error="still", next_attempt_at=retry) == 2

    failed = await store.get_certificate(cert.id)
    assert (failed.renewal_status, failed.renewal_error, failed.renewal_attempts) == (
        "failed",
        "still",
        2,
    )
    assert failed.next_renewal_at == retry
    assert await store.renewal_candidates(now=NOW) == []
    assert [c.certificate.id for c in await store.renewal_candidates(now=retry)] == [cert.id]

    assert await store.record_renewal_success(cert.id)
    done = await store.get_certificate(cert.id)
    assert (done.renewal_status, done.renewal_error, done.next_renewal_at) == (
        "renewed",
        None,
        None,
    )


async def test_set_auto_renew_toggles_and_resets_the_backoff(store: Store) -> None:
    cert = await issue(store)
    await store.record_renewal_failure(cert.id, error="x", next_attempt_at=NOW)
    await store.set_auto_renew(cert.id, True)
    on = await store.get_certificate(cert.id)
    assert on.auto_renew is True
    assert (on.renewal_status, on.renewal_attempts, on.next_renewal_at) == (None, 0, None)
    await store.set_auto_renew(cert.id, False)
    assert (await store.get_certificate(cert.id)).auto_renew is False
    with pytest.raises(NotFound):
        await store.set_auto_renew("00000000-0000-4000-8000-000000000000", True)


async def test_a_stale_pending_successor_is_revoked_and_unlinked(store: Store) -> None:
    old = await issue(store)
    stuck = await reserve(store, renewed_from_id=old.id)
    # Not stale yet: left alone.
    assert await store.abandon_stale_renewals(older_than=stuck.created_at - timedelta(1)) == []

    later = stuck.created_at + timedelta(minutes=10)
    assert await store.abandon_stale_renewals(older_than=later) == [(old.id, stuck.id)]

    gone = await store.get_certificate(stuck.id)
    assert gone.status is CertificateStatus.REVOKED
    assert gone.revocation_reason is RevocationReason.SUPERSEDED
    assert (await store.get_certificate(old.id)).renewed_by_id is None
    assert await store.abandon_stale_renewals(older_than=later) == []
    # The certificate can be renewed again.
    again = await reserve(store, renewed_from_id=old.id)
    assert (await store.get_certificate(old.id)).renewed_by_id == again.id


async def test_an_activated_successor_is_never_abandoned(store: Store) -> None:
    old = await issue(store)
    new = await issue(store, renewed_from_id=old.id)
    later = new.created_at + timedelta(days=1)
    assert await store.abandon_stale_renewals(older_than=later) == []
    assert (await store.get_certificate(old.id)).renewed_by_id == new.id


async def test_expiry_warnings_are_marked_once(store: Store) -> None:
    profile = await make_profile(store, renew_before_days=10)
    soon = await issue(store, profile_id=profile.id, not_after=NOW + timedelta(5))
    await issue(store, profile_id=profile.id, not_after=NOW + timedelta(50))

    assert [c.certificate.id for c in await store.expiry_warning_candidates(now=NOW)] == [soon.id]
    assert await store.mark_expiry_warned(soon.id, at=NOW)
    assert not await store.mark_expiry_warned(soon.id, at=NOW)
    assert await store.expiry_warning_candidates(now=NOW) == []
    assert (await store.get_certificate(soon.id)).expiry_warned_at == NOW
