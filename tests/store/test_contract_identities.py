"""Machine identities, access tokens and the audit log, on both backends."""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime, timedelta

import pytest

from store import Conflict, IdentityRecord, NotFound, Store
from tests.store.factories import NOW

LATER = NOW + timedelta(hours=1)


async def make_identity(store: Store, name: str = "bot") -> IdentityRecord:
    return await store.create_identity(
        name=name, client_id=str(uuid.uuid4()), secret_hash="scrypt$16384$8$1$c2FsdA$aGFzaA"
    )


async def test_create_get_and_list_identities(store: Store) -> None:
    first = await make_identity(store, "first")
    second = await make_identity(store, "second")

    assert first.disabled is False
    assert first.secret_hash == "scrypt$16384$8$1$c2FsdA$aGFzaA"
    assert first.created_at.tzinfo is not None
    assert await store.get_identity(first.id) == first
    assert await store.get_identity_by_client_id(second.client_id) == second
    assert await store.get_identity_by_client_id("unknown") is None
    assert [i.id for i in await store.list_identities()] == [first.id, second.id]
    with pytest.raises(NotFound, match="identity"):
        await store.get_identity(str(uuid.uuid4()))


async def test_client_id_is_unique_and_fields_are_checked(store: Store) -> None:
    taken = await make_identity(store)
    with pytest.raises(Conflict):
        await store.create_identity(name="other", client_id=taken.client_id, secret_hash="x")
    with pytest.raises(ValueError, match="name"):
        await store.create_identity(name="", client_id="c", secret_hash="x")
    with pytest.raises(ValueError, match="name"):
        await store.create_identity(name="n" * 256, client_id="c", secret_hash="x")
    with pytest.raises(ValueError, match="client id"):
        await store.create_identity(name="n", client_id="", secret_hash="x")
    with pytest.raises(ValueError, match="secret_hash"):
        await store.create_identity(name="n", client_id="c", secret_hash="")


async def test_set_identity_disabled_is_a_transition(store: Store) -> None:
    identity = await make_identity(store)

    assert await store.set_identity_disabled(identity.id, True) is True
    assert await store.set_identity_disabled(identity.id, True) is False
    assert (await store.get_identity(identity.id)).disabled is True
    assert await store.set_identity_disabled(identity.id, False) is True
    with pytest.raises(NotFound):
        await store.set_identity_disabled(str(uuid.uuid4()), True)


async def test_find_access_token_returns_the_token_and_its_identity(store: Store) -> None:
    identity = await make_identity(store)
    token = await store.create_access_token(
        identity_id=identity.id, token_hash="a" * 64, expires_at=LATER
    )

    assert token.identity_id == identity.id
    assert token.expires_at == LATER
    assert token.revoked_at is None
    assert await store.find_access_token("a" * 64, NOW) == (token, identity)
    assert await store.find_access_token("b" * 64, NOW) is None


async def test_expired_revoked_and_disabled_tokens_are_not_found(store: Store) -> None:
    identity = await make_identity(store)
    await store.create_access_token(identity_id=identity.id, token_hash="e" * 64, expires_at=NOW)
    await store.create_access_token(identity_id=identity.id, token_hash="r" * 64, expires_at=LATER)
    await store.create_access_token(identity_id=identity.id, token_hash="d" * 64, expires_at=LATER)

    # expires_at is exclusive
    assert await store.find_access_token("e" * 64, NOW) is None
    assert await store.find_access_token("e" * 64, NOW - timedelta(microseconds=1)) is not None

    assert await store.revoke_access_token("r" * 64, NOW) is True
    assert await store.revoke_access_token("r" * 64, NOW) is False
    assert await store.find_access_token("r" * 64, NOW) is None

    assert await store.find_access_token("d" * 64, NOW) is not None
    await store.set_identity_disabled(identity.id, True)
    assert await store.find_access_token("d" * 64, NOW) is None
    await store.set_identity_disabled(identity.id, False)
    assert await store.find_access_token("d" * 64, NOW) is not None


async def test_revoking_unknown_or_expired_tokens_returns_false(store: Store) -> None:
    identity = await make_identity(store)
    await store.create_access_token(identity_id=identity.id, token_hash="o" * 64, expires_at=NOW)

    assert await store.revoke_access_token("o" * 64, NOW) is False
    assert await store.revoke_access_token("unknown", NOW) is False


async def test_concurrent_revokes_succeed_once(store: Store) -> None:
    identity = await make_identity(store)
    await store.create_access_token(identity_id=identity.id, token_hash="c" * 64, expires_at=LATER)

    results = await asyncio.gather(*(store.revoke_access_token("c" * 64, NOW) for _ in range(10)))

    assert results.count(True) == 1


async def test_access_token_checks(store: Store) -> None:
    identity = await make_identity(store)
    await store.create_access_token(identity_id=identity.id, token_hash="x" * 64, expires_at=LATER)
    with pytest.raises(Conflict):
        await store.create_access_token(
            identity_id=identity.id, token_hash="x" * 64, expires_at=LATER
        )
    with pytest.raises(NotFound, match="identity"):
        await store.create_access_token(
            identity_id=str(uuid.uuid4()), token_hash="y" * 64, expires_at=LATER
        )
    with pytest.raises(ValueError, match="naive"):
        await store.create_access_token(
            identity_id=identity.id, token_hash="z" * 64, expires_at=LATER.replace(tzinfo=None)
        )
    with pytest.raises(ValueError, match="token hash"):
        await store.create_access_token(identity_id=identity.id, token_hash="", expires_at=LATER)


async def test_purge_deletes_only_expired_tokens(store: Store) -> None:
    identity = await make_identity(store)
    for name, expires in (("1", NOW - timedelta(seconds=1)), ("2", NOW), ("3", LATER)):
        await store.create_access_token(
            identity_id=identity.id, token_hash=name * 64, expires_at=expires
        )

    assert await store.purge_access_tokens(NOW) == 2
    assert await store.purge_access_tokens(NOW) == 0
    assert await store.find_access_token("3" * 64, NOW) is not None


async def test_audit_entries_are_listed_newest_first(store: Store) -> None:
    for minute in range(3):
        await store.add_audit(
            at=NOW + timedelta(minutes=minute),
            actor="cli",
            action=f"thing.{minute}",
            target_type="thing",
            target_id=str(minute),
            details={"n": minute, "nested": {"list": [1, "two"]}},
        )

    entries = await store.list_audit(limit=10, offset=0)

    assert [e.action for e in entries] == ["thing.2", "thing.1", "thing.0"]
    assert entries[0].at == NOW + timedelta(minutes=2)
    assert entries[0].details == {"n": 2, "nested": {"list": [1, "two"]}}
    assert [e.action for e in await store.list_audit(limit=1, offset=1)] == ["thing.1"]
    assert await store.list_audit(limit=5, offset=3) == []
    assert await store.count_audit() == 3


async def test_audit_filters_combine(store: Store) -> None:
    rows = [
        ("cli", "identity", "i-1"),
        ("cli", "certificate", "c-1"),
        ("identity:x", "certificate", "c-1"),
        ("identity:x", "certificate", None),
    ]
    for actor, target_type, target_id in rows:
        await store.add_audit(
            at=NOW,
            actor=actor,
            action="act",
            target_type=target_type,
            target_id=target_id,
            details={},
        )

    assert await store.count_audit(target_type="certificate") == 3
    assert await store.count_audit(target_type="certificate", target_id="c-1") == 2
    assert await store.count_audit(actor="identity:x") == 2
    assert await store.count_audit(actor="identity:x", target_id="c-1") == 1
    assert await store.count_audit(actor="nobody") == 0
    found = await store.list_audit(limit=10, offset=0, actor="cli", target_type="identity")
    assert [(e.actor, e.target_id) for e in found] == [("cli", "i-1")]
    none_target = await store.list_audit(limit=10, offset=0, target_type="certificate")
    assert None in [e.target_id for e in none_target]


async def _add(
    store: Store,
    *,
    at: datetime = NOW,
    actor: str = "a",
    action: str = "b",
    target_id: str | None = None,
) -> None:
    await store.add_audit(
        at=at, actor=actor, action=action, target_type="c", target_id=target_id, details={}
    )


async def test_audit_checks(store: Store) -> None:
    with pytest.raises(ValueError, match="actor"):
        await _add(store, actor="")
    with pytest.raises(ValueError, match="action"):
        await _add(store, action="x" * 65)
    with pytest.raises(ValueError, match="target_id"):
        await _add(store, target_id="x" * 256)
    with pytest.raises(ValueError, match="naive"):
        await _add(store, at=NOW.replace(tzinfo=None))
    with pytest.raises(ValueError, match="limit"):
        await store.list_audit(limit=0, offset=0)
    with pytest.raises(ValueError, match="offset"):
        await store.list_audit(limit=1, offset=-1)
    assert await store.count_audit() == 0
