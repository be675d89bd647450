"""Console users and their sessions, on both backends."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from store import Conflict, NotFound, Store, UserRecord
from tests.store.factories import NOW

HASH = "$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo"


async def make_user(store: Store, name: str = "alice", role: str = "admin") -> UserRecord:
    return await store.create_user(
        name=name, password_hash=HASH, role=role, profile_grants=None, must_change_password=False
    )


async def make_session(store: Store, user: UserRecord, token_hash: str = "h1") -> None:  # noqa: S107
    await store.create_session(
        user_id=user.id,
        token_hash=token_hash,
        csrf_token="c" * 43,
        now=NOW,
        expires_at=NOW + timedelta(hours=12),
    )


async def test_create_find_list_and_unique_names(store: Store) -> None:
    alice = await make_user(store)
    bob = await store.create_user(
        name="bob",
        password_hash=HASH,
        role="reader",
        profile_grants=("p1", "p2"),
        must_change_password=True,
    )
    assert alice.disabled is False and alice.failed_logins == 0 and alice.locked_until is None
    assert bob.profile_grants == ("p1", "p2") and bob.must_change_password is True
    assert await store.get_user(alice.id) == alice
    assert await store.get_user_by_name("bob") == bob
    assert await store.get_user_by_name("carol") is None
    assert {u.name for u in await store.list_users()} == {"alice", "bob"}
    with pytest.raises(Conflict):
        await make_user(store, "alice")
    with pytest.raises(NotFound):
        await store.get_user(str(uuid.uuid4()))
    with pytest.raises(ValueError, match="name"):
        await make_user(store, "")


async def test_access_password_and_lock_updates(store: Store) -> None:
    alice = await make_user(store)
    changed = await store.set_user_access(alice.id, role="issuer", profile_grants=("p1",))
    assert (changed.role, changed.profile_grants) == ("issuer", ("p1",))
    everything = await store.set_user_access(alice.id, role="reader", profile_grants=None)
    assert everything.profile_grants is None
    await store.record_failed_login(alice.id, None)
    await store.record_failed_login(alice.id, NOW + timedelta(minutes=5))
    locked = await store.get_user(alice.id)
    assert locked.failed_logins == 2 and locked.locked_until == NOW + timedelta(minutes=5)
    await store.record_login(alice.id)
    assert (await store.get_user(alice.id)).failed_logins == 0
    await store.record_failed_login(alice.id, NOW + timedelta(minutes=5))
    reset = await store.set_user_password(alice.id, "$argon2id$new", must_change=True)
    assert reset.password_hash == "$argon2id$new" and reset.must_change_password is True
    assert reset.failed_logins == 0 and reset.locked_until is None
    with pytest.raises(NotFound):
        await store.set_user_password(str(uuid.uuid4()), HASH, must_change=False)


async def test_sessions_expire_when_idle_absolute_revoked_or_the_user_is_disabled(
    store: Store,
) -> None:
    alice = await make_user(store)
    await make_session(store, alice, "h1")
    idle_limit = NOW - timedelta(minutes=30)
    found = await store.find_session("h1", NOW + timedelta(minutes=1), idle_limit)
    assert found is not None and found[1].id == alice.id and found[0].csrf_token == "c" * 43
    assert await store.find_session("unknown", NOW, idle_limit) is None
    # idle: last seen before the idle limit
    later = NOW + timedelta(hours=1)
    assert await store.find_session("h1", later, later - timedelta(minutes=30)) is None
    await store.touch_session(found[0].id, later)
    assert await store.find_session("h1", later, later - timedelta(minutes=30)) is not None
    # absolute: past expires_at whatever the activity
    end = NOW + timedelta(hours=12, seconds=1)
    await store.touch_session(found[0].id, end)
    assert await store.find_session("h1", end, end - timedelta(minutes=30)) is None
    # revoked
    await make_session(store, alice, "h2")
    assert await store.revoke_session("h2", NOW) is True
    assert await store.revoke_session("h2", NOW) is False
    assert await store.find_session("h2", NOW, idle_limit) is None
    # a disabled user's sessions end in the same transaction, and stay ended when enabled
    await make_session(store, alice, "h3")
    await store.set_user_disabled(alice.id, True, NOW)
    assert await store.find_session("h3", NOW, idle_limit) is None
    await store.set_user_disabled(alice.id, False, NOW)
    assert await store.find_session("h3", NOW, idle_limit) is None
    # a password reset may end every session too
    await make_session(store, alice, "h4")
    await store.set_user_password(alice.id, HASH, must_change=True, end_sessions_at=NOW)
    assert await store.find_session("h4", NOW, idle_limit) is None


async def test_a_session_needs_a_user_and_a_unique_hash(store: Store) -> None:
    alice = await make_user(store)
    await make_session(store, alice, "same")
    with pytest.raises(Conflict):
        await make_session(store, alice, "same")
    ghost = UserRecord(**{**{f: getattr(alice, f) for f in alice.__slots__}, "id": "nobody"})
    with pytest.raises(NotFound):
        await make_session(store, ghost, "other")
