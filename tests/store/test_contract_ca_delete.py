"""Deleting a CA: only while nothing refers to it, on both backends."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from pki_types.model import IssuerType
from store import Conflict, NotFound, Store
from tests.store.factories import NOW, issue, make_ca, make_profile


async def test_unused_ca_is_deleted_with_its_crls(store: Store) -> None:
    ca = await make_ca(store)
    await store.insert_crl(
        ca_id=ca.id,
        number=await store.next_crl_number(ca.id),
        der=b"crl",
        this_update=NOW,
        next_update=NOW + timedelta(days=1),
    )

    await store.delete_ca(ca.id)

    with pytest.raises(NotFound):
        await store.get_ca(ca.id)
    assert await store.list_crls(ca.id) == []


async def test_missing_ca_is_not_found(store: Store) -> None:
    with pytest.raises(NotFound):
        await store.delete_ca(str(uuid.uuid4()))


async def test_ca_with_a_certificate_is_kept(store: Store) -> None:
    ca = await make_ca(store)
    cert = await issue(store, ca_id=ca.id)
    await store.revoke_certificate(cert.id, reason="SUPERSEDED", revoked_at=NOW)

    with pytest.raises(Conflict, match="1 certificate"):
        await store.delete_ca(ca.id)
    assert (await store.get_ca(ca.id)).id == ca.id


async def test_ca_with_a_child_is_kept(store: Store) -> None:
    root = await make_ca(store)
    await make_ca(store, kind="intermediate", parent_id=root.id)

    with pytest.raises(Conflict, match="child CA"):
        await store.delete_ca(root.id)


async def test_ca_used_by_a_profile_is_kept_until_the_profile_goes(store: Store) -> None:
    ca = await make_ca(store)
    profile = await make_profile(store, issuer_type=IssuerType.CA, ca_id=ca.id)

    with pytest.raises(Conflict, match="profile"):
        await store.delete_ca(ca.id)
    await store.delete_profile(profile.id)
    await store.delete_ca(ca.id)
    assert await store.list_cas() == []
