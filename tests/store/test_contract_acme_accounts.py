"""ACME accounts (RFC 8555 section 7.3) and their EAB binding (7.3.4), on both backends."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

import pytest

from store import Conflict, NotFound, Store
from tests.store.acme_factories import make_account, make_eab_key
from tests.store.factories import NOW, make_profile

JWK = {
    "kty": "RSA",
    "n": "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6",
    "e": "AQAB",
    "ext": {"nested": [1, 2.5, None, True, "ü"]},
}


async def test_s7_3_account_round_trip(store: Store) -> None:
    profile = await make_profile(store)

    account = await make_account(
        store,
        profile=profile,
        jwk_thumbprint="thumb-1",
        jwk=JWK,
        contact=["mailto:a@example.com", "mailto:b@example.com"],
        terms_of_service_agreed=False,
    )

    assert account == await store.get_account(account.id)
    assert account == await store.get_account_by_thumbprint(profile.id, "thumb-1")
    assert (account.profile_id, account.jwk_thumbprint, account.status) == (
        profile.id,
        "thumb-1",
        "valid",
    )
    assert account.jwk == JWK
    assert account.contact == ["mailto:a@example.com", "mailto:b@example.com"]
    assert account.terms_of_service_agreed is False and account.eab_key_id is None
    assert account.created_at == account.updated_at == NOW
    uuid.UUID(account.id, version=4)


async def test_s7_3_1_one_account_per_key_and_profile(store: Store) -> None:
    first, second = await make_profile(store), await make_profile(store)
    account = await make_account(store, profile=first, jwk_thumbprint="same")

    with pytest.raises(Conflict, match="an account with this key already exists"):
        await make_account(store, profile=first, jwk_thumbprint="same")
    other = await make_account(store, profile=second, jwk_thumbprint="same")

    assert other.id != account.id
    assert await store.get_account_by_thumbprint(first.id, "same") == account
    assert await store.get_account_by_thumbprint(second.id, "same") == other
    assert await store.get_account_by_thumbprint(first.id, "unknown") is None


async def test_s7_3_2_contact_is_replaced(store: Store) -> None:
    account = await make_account(store)

    updated = await store.update_account_contact(account.id, ["mailto:new@example.com"])

    assert updated.contact == ["mailto:new@example.com"]
    assert updated == await store.get_account(account.id)
    assert (await store.update_account_contact(account.id, [])).contact == []
    with pytest.raises(ValueError, match="contact"):
        await store.update_account_contact(account.id, "mailto:x@example.com")


async def test_s7_3_6_account_is_deactivated_once(store: Store) -> None:
    account = await make_account(store)
    later = NOW + timedelta(hours=1)

    assert await store.deactivate_account(account.id, later) is True
    assert await store.deactivate_account(account.id, later) is False
    deactivated = await store.get_account(account.id)
    assert (deactivated.status, deactivated.updated_at) == ("deactivated", later)


async def test_s7_3_5_key_change(store: Store) -> None:
    profile = await make_profile(store)
    account = await make_account(store, profile=profile, jwk_thumbprint="old")
    taken = await make_account(store, profile=profile, jwk_thumbprint="taken")
    new_jwk = {"kty": "EC", "crv": "P-384", "x": "AA", "y": "BB"}

    await store.change_account_key(account.id, jwk=new_jwk, jwk_thumbprint="new")

    changed = await store.get_account(account.id)
    assert (changed.jwk, changed.jwk_thumbprint) == (new_jwk, "new")
    assert await store.get_account_by_thumbprint(profile.id, "old") is None
    with pytest.raises(Conflict, match="an account with this key already exists"):
        await store.change_account_key(account.id, jwk=new_jwk, jwk_thumbprint="taken")
    assert (await store.get_account(account.id)).jwk_thumbprint == "new"
    assert (await store.get_account(taken.id)).jwk_thumbprint == "taken"


async def test_s7_3_unknown_accounts_are_not_found(store: Store) -> None:
    missing = str(uuid.uuid4())
    with pytest.raises(NotFound, match="account"):
        await store.get_account(missing)
    with pytest.raises(NotFound, match="account"):
        await store.update_account_contact(missing, [])
    with pytest.raises(NotFound, match="account"):
        await store.deactivate_account(missing, NOW)
    with pytest.raises(NotFound, match="account"):
        await store.change_account_key(missing, jwk={}, jwk_thumbprint="t")
    with pytest.raises(NotFound, match="profile"):
        await store.create_account(
            profile_id=missing,
            jwk_thumbprint="t",
            jwk={},
            contact=[],
            terms_of_service_agreed=True,
            eab_key_id=None,
            now=NOW,
        )


async def test_s7_3_4_single_use_eab_key_is_consumed_by_the_account(store: Store) -> None:
    profile = await make_profile(store)
    key = await make_eab_key(store, profile)

    account = await make_account(store, profile=profile, eab_key_id=key.id)

    assert account.eab_key_id == key.id
    consumed = await store.get_eab_key(key.id)
    assert (consumed.used_at, consumed.bound_account_id) == (NOW, account.id)
    with pytest.raises(Conflict, match=f"external account binding key {key.id} already used"):
        await make_account(store, profile=profile, eab_key_id=key.id)


async def test_s7_3_4_duplicate_account_does_not_burn_the_eab_key(store: Store) -> None:
    profile = await make_profile(store)
    await make_account(store, profile=profile, jwk_thumbprint="taken")
    key = await make_eab_key(store, profile)

    with pytest.raises(Conflict, match="an account with this key already exists"):
        await make_account(store, profile=profile, jwk_thumbprint="taken", eab_key_id=key.id)

    unused = await store.get_eab_key(key.id)
    assert unused.used_at is None and unused.bound_account_id is None
    account = await make_account(store, profile=profile, jwk_thumbprint="fresh", eab_key_id=key.id)
    assert (await store.get_eab_key(key.id)).bound_account_id == account.id


async def test_s7_3_4_reusable_eab_key_binds_many_accounts(store: Store) -> None:
    profile = await make_profile(store)
    key = await make_eab_key(store, profile, reusable=True)

    first = await make_account(store, profile=profile, eab_key_id=key.id)
    second = await make_account(
        store, profile=profile, eab_key_id=key.id, now=NOW + timedelta(days=1)
    )

    assert first.eab_key_id == second.eab_key_id == key.id
    used = await store.get_eab_key(key.id)
    assert (used.used_at, used.bound_account_id) == (NOW, None)


async def test_s7_3_4_revoked_or_foreign_eab_keys_are_refused(store: Store) -> None:
    profile, other = await make_profile(store), await make_profile(store)
    revoked = await make_eab_key(store, profile, reusable=True)
    await store.revoke_eab_key(revoked.id, NOW)
    foreign = await make_eab_key(store, other)

    with pytest.raises(Conflict, match=f"external account binding key {revoked.id} was revoked"):
        await make_account(store, profile=profile, eab_key_id=revoked.id)
    with pytest.raises(NotFound, match="external account binding key"):
        await make_account(store, profile=profile, eab_key_id=foreign.id)
    with pytest.raises(NotFound, match="external account binding key"):
        await make_account(store, profile=profile, eab_key_id="no-such-kid")

    assert await store.get_account_by_thumbprint(profile.id, "t") is None
    assert (await store.get_eab_key(foreign.id)).used_at is None


async def test_s7_3_4_concurrent_registrations_share_one_single_use_key_once(
    store: Store,
) -> None:
    profile = await make_profile(store)
    key = await make_eab_key(store, profile)

    results = await asyncio.gather(
        *(
            make_account(store, profile=profile, jwk_thumbprint=f"racer-{n}", eab_key_id=key.id)
            for n in range(8)
        ),
        return_exceptions=True,
    )

    winners = [result for result in results if not isinstance(result, BaseException)]
    losers = [result for result in results if isinstance(result, BaseException)]
    assert len(winners) == 1
    assert all(isinstance(loser, Conflict) for loser in losers), losers
    assert all("already used" in str(loser) for loser in losers)
    assert (await store.get_eab_key(key.id)).bound_account_id == winners[0].id
    for n in range(8):
        found = await store.get_account_by_thumbprint(profile.id, f"racer-{n}")
        assert found is None or found == winners[0]
