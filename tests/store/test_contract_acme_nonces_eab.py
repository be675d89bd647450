"""ACME nonces (RFC 8555 section 6.5) and EAB keys (section 7.3.4), on both backends."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

import pytest

from store import Conflict, NotFound, Store
from tests.store.acme_factories import make_eab_key
from tests.store.factories import NOW, make_profile

LATER = NOW + timedelta(minutes=5)


async def test_s6_5_nonce_is_redeemed_once(store: Store) -> None:
    await store.create_nonce("n-1", LATER)

    assert await store.redeem_nonce("n-1", NOW) is True
    assert await store.redeem_nonce("n-1", NOW) is False


async def test_s6_5_unknown_and_expired_nonces_are_refused(store: Store) -> None:
    await store.create_nonce("old", NOW)

    assert await store.redeem_nonce("never-issued", NOW - timedelta(days=1)) is False
    assert await store.redeem_nonce("old", NOW) is False  # expires_at is exclusive
    assert await store.redeem_nonce("old", NOW - timedelta(microseconds=1)) is True


async def test_s6_5_concurrent_redeems_of_one_nonce_succeed_once(store: Store) -> None:
    await store.create_nonce("shared", LATER)

    results = await asyncio.gather(*(store.redeem_nonce("shared", NOW) for _ in range(20)))

    assert results.count(True) == 1
    assert results.count(False) == 19


async def test_s6_5_duplicate_nonce_is_a_conflict(store: Store) -> None:
    await store.create_nonce("dup", LATER)
    with pytest.raises(Conflict, match="nonce already exists"):
        await store.create_nonce("dup", LATER)
    with pytest.raises(ValueError, match="nonce"):
        await store.create_nonce("", LATER)
    with pytest.raises(ValueError, match="naive"):
        await store.create_nonce("naive", LATER.replace(tzinfo=None))


async def test_s6_5_purge_deletes_only_expired_nonces(store: Store) -> None:
    await store.create_nonce("expired-1", NOW - timedelta(seconds=1))
    await store.create_nonce("expired-2", NOW)
    await store.create_nonce("fresh", LATER)

    assert await store.purge_nonces(NOW) == 2
    assert await store.purge_nonces(NOW) == 0
    assert await store.redeem_nonce("fresh", NOW) is True


async def test_s7_3_4_eab_key_round_trip(store: Store) -> None:
    profile = await make_profile(store)

    key = await store.create_eab_key(
        kid="kid-1",
        profile_id=profile.id,
        encrypted_hmac_key=b"\x00sealed\xff",
        hmac_alg="HS256",
        reusable=False,
    )

    assert key == await store.get_eab_key("kid-1")
    assert (key.id, key.profile_id, key.hmac_alg) == ("kid-1", profile.id, "HS256")
    assert key.encrypted_hmac_key == b"\x00sealed\xff"
    assert key.reusable is False
    assert key.used_at is None and key.bound_account_id is None and key.revoked_at is None
    assert key.created_at.tzinfo is not None


async def test_s7_3_4_eab_keys_are_listed_per_profile(store: Store) -> None:
    first, second = await make_profile(store), await make_profile(store)
    for kid, profile in (("a", first), ("b", second), ("c", first)):
        await make_eab_key(store, profile, kid=kid, reusable=True)

    assert [key.id for key in await store.list_eab_keys(first.id)] == ["a", "c"]
    assert [key.id for key in await store.list_eab_keys(second.id)] == ["b"]


async def test_s7_3_4_eab_key_is_revoked_once(store: Store) -> None:
    key = await make_eab_key(store, await make_profile(store))

    assert await store.revoke_eab_key(key.id, NOW) is True
    assert await store.revoke_eab_key(key.id, NOW + timedelta(hours=1)) is False
    assert (await store.get_eab_key(key.id)).revoked_at == NOW


async def test_s7_3_4_eab_key_errors(store: Store) -> None:
    profile = await make_profile(store)
    await make_eab_key(store, profile, kid="k")

    with pytest.raises(Conflict, match="EAB key id already exists"):
        await make_eab_key(store, profile, kid="k")
    with pytest.raises(NotFound, match="profile"):
        await store.create_eab_key(
            kid="x",
            profile_id=str(uuid.uuid4()),
            encrypted_hmac_key=b"k",
            hmac_alg="HS256",
            reusable=False,
        )
    with pytest.raises(ValueError, match="hmac_alg"):
        await store.create_eab_key(
            kid="y", profile_id=profile.id, encrypted_hmac_key=b"k", hmac_alg="", reusable=False
        )
    with pytest.raises(NotFound, match="EAB key"):
        await store.get_eab_key("missing")
    with pytest.raises(NotFound, match="EAB key"):
        await store.revoke_eab_key("missing", NOW)
    with pytest.raises(NotFound, match="profile"):
        await store.list_eab_keys(str(uuid.uuid4()))
