"""CertificateAuthority rows and CRL numbering, on both backends."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from store import Conflict, NotFound, Store
from tests.store.factories import NOW, make_ca


async def test_create_ca_round_trips_every_field(store: Store) -> None:
    created = await make_ca(store, name="Root One", serial_hex="00:1A:2B:3C")

    fetched = await store.get_ca(created.id)

    assert fetched == created
    assert fetched.name == "Root One"
    assert fetched.kind == "root" and fetched.parent_id is None
    assert fetched.status == "active"
    assert fetched.encrypted_key == b"\x00\x01sealed-key\xff"
    assert fetched.serial_hex == "1A2B3C"  # stored "1a2b3c", shown as openssl prints it
    assert fetched.crl_number == 0
    assert fetched.not_before == NOW - timedelta(days=1)
    assert fetched.created_at.tzinfo is UTC
    assert await store.get_ca_by_name("Root One") == created


async def test_intermediate_names_its_parent(store: Store) -> None:
    root = await make_ca(store)
    child = await make_ca(store, kind="intermediate", parent_id=root.id, chain_pem="root-pem")

    assert (await store.get_ca(child.id)).parent_id == root.id
    assert [ca.id for ca in await store.list_cas()] == [root.id, child.id]


async def test_intermediate_with_missing_parent_is_not_found(store: Store) -> None:
    with pytest.raises(NotFound, match="parent CA"):
        await make_ca(store, kind="intermediate", parent_id=str(uuid.uuid4()))


async def test_root_with_parent_is_refused(store: Store) -> None:
    root = await make_ca(store)
    with pytest.raises(ValueError, match="root CA has no parent"):
        await make_ca(store, kind="root", parent_id=root.id)


async def test_duplicate_ca_name_conflicts(store: Store) -> None:
    await make_ca(store, name="dup")
    with pytest.raises(Conflict, match="CA name already exists"):
        await make_ca(store, name="dup")


async def test_duplicate_ca_id_conflicts(store: Store) -> None:
    first = await make_ca(store)
    with pytest.raises(Conflict, match="CA id already exists"):
        await make_ca(store, id=first.id)


async def test_ca_id_must_be_a_uuid(store: Store) -> None:
    with pytest.raises(ValueError, match="UUID"):
        await make_ca(store, id="not-a-uuid")


async def test_missing_ca_is_not_found(store: Store) -> None:
    with pytest.raises(NotFound):
        await store.get_ca(str(uuid.uuid4()))
    with pytest.raises(NotFound):
        await store.get_ca_by_name("nobody")


async def test_naive_datetime_is_refused(store: Store) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        await make_ca(store, not_after=datetime(2040, 1, 1))
    assert await store.list_cas() == []


async def test_set_ca_status_is_a_transition(store: Store) -> None:
    ca = await make_ca(store)

    assert await store.set_ca_status(ca.id, "disabled") is True
    assert await store.set_ca_status(ca.id, "disabled") is False
    assert (await store.get_ca(ca.id)).status == "disabled"
    with pytest.raises(NotFound):
        await store.set_ca_status(str(uuid.uuid4()), "active")


async def test_next_crl_number_counts_up_from_one(store: Store) -> None:
    ca = await make_ca(store)

    assert [await store.next_crl_number(ca.id) for _ in range(3)] == [1, 2, 3]
    assert (await store.get_ca(ca.id)).crl_number == 3


async def test_next_crl_number_concurrent_callers_get_distinct_numbers(store: Store) -> None:
    ca = await make_ca(store)
    other = await make_ca(store)

    numbers = await asyncio.gather(*(store.next_crl_number(ca.id) for _ in range(20)))

    assert sorted(numbers) == list(range(1, 21))
    assert (await store.get_ca(ca.id)).crl_number == 20
    assert (await store.get_ca(other.id)).crl_number == 0


async def test_next_crl_number_of_missing_ca_is_not_found(store: Store) -> None:
    with pytest.raises(NotFound):
        await store.next_crl_number(str(uuid.uuid4()))
