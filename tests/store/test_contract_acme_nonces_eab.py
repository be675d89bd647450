"""ACME nonces (RFC 8555 section 6.5) and EAB keys (section 7.3.4), on both backends."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

import pytest

from store import Conflict, NotFound, Store
from tests.store.acme_factories import make_account, make_eab_key
from tests.store.factories import NOW, make_profile

LATER = NOW + timedelta(minutes=5)


async def test_s6_5_nonce_is_used_once(store: Store) -> None:
    assert await store.use_nonce("n-1", LATER) is True
    assert await store.use_nonce("n-1", LATER) is False
    assert await store.use_nonce("n-2", LATER) is True


async def test_s6_5_concurrent_uses_of_one_nonce_succeed_once(store: Store) -> None:
    results = await asyncio.gather(*(store.use_nonce("shared", LATER) for _ in range(20)))

    assert results.count(True) == 1
    assert results.count(False) == 19


async def test_s6_5_use_nonce_checks_its_arguments(store: Store) -> None:
    with pytest.raises(ValueError, match="nonce"):
        await store.use_nonce("", LATER)
    with pytest.raises(ValueError, match="nonce"):
        await store.use_nonce("x" * 129, LATER)
    with pytest.raises(ValueError, match="naive"):
        await store.use_nonce("naive", LATER.replace(tzinfo=None))


async def test_s6_5_use_nonce_and_get_account_in_one_transaction(store: Store) -> None:
    account = await make_account(store)

    fresh, found = await store.use_nonce_and_get_account("n-acct", LATER, account.id)
    assert fresh is True
    assert found == account
    fresh, found = await store.use_nonce_and_get_account("n-acct", LATER, account.id)
    assert fresh is False
    assert found == account
    assert await store.use_nonce("n-acct", LATER) is False
    fresh, missing = await store.use_nonce_and_get_account("n-other", LATER, str(uuid.uuid4()))
    assert fresh is True
    assert missing is None


async def test_s6_5_concurrent_use_nonce_and_get_account_succeed_once(store: Store) -> None:
    account = await make_account(store)

    results = await asyncio.gather(
        *(store.use_nonce_and_get_account("shared", LATER, account.id) for _ in range(20))
    )

    assert [fresh for fresh, _ in results].count(True) == 1
    assert all(found == account for _, found in results)


async def test_s6_5_purge_deletes_only_expired_nonces(store: Store) -> None:
    await store.use_nonce("expired-1", NOW - timedelta(seconds=1))
    await store.use_nonce("expired-2", NOW)
    await store.use_nonce("fresh", LATER)

    assert await store.purge_nonces(NOW) == 2
    assert await store.purge_nonces(NOW) == 0
    assert await store.use_nonce("fresh", LATER) is False  # still remembered as used
    assert await store.use_nonce("expired-1", LATER) is True  # purged: the caller's expiry
    # check (acme_server/acme/nonces.py) is what refuses it from then on


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
