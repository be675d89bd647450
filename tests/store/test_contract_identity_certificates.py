"""Client-certificate bindings of machine identities, on both backends."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from store import CertificateRecord, Conflict, IdentityCertificateRecord, NotFound, Store
from tests.store.factories import NOW, issue
from tests.store.test_contract_identities import make_identity


async def bind(
    store: Store, identity_id: str, cert: CertificateRecord, **extra: object
) -> IdentityCertificateRecord:
    return await store.create_identity_certificate(
        identity_id=identity_id,
        certificate_id=cert.id,
        serial_hex=cert.serial_hex,
        fingerprint_sha256=f"fp-{cert.id}",
        not_after=NOW + timedelta(days=30),
        **extra,  # type: ignore[arg-type]
    )


async def test_bind_find_and_list(store: Store) -> None:
    identity = await make_identity(store)
    cert = await issue(store)

    binding = await bind(store, identity.id, cert)

    assert (binding.state, binding.first_used_at, binding.replaces_id) == ("active", None, None)
    assert binding.not_after == NOW + timedelta(days=30)
    found = await store.find_identity_certificate(f"fp-{cert.id}")
    assert found is not None and found == (binding, identity)
    assert await store.find_identity_certificate("unknown") is None
    assert await store.list_identity_certificates(identity.id) == [binding]
    assert await store.get_identity_certificate(binding.id) == binding
    assert binding.serial_hex == cert.serial_hex  # openssl's form, as the certificate shows it


async def test_a_certificate_binds_once_and_the_identity_must_exist(store: Store) -> None:
    identity = await make_identity(store)
    other = await make_identity(store, "other")
    cert = await issue(store)
    await bind(store, identity.id, cert)
    with pytest.raises(Conflict):
        await bind(store, other.id, cert)
    with pytest.raises(NotFound, match="identity"):
        await bind(store, str(uuid.uuid4()), await issue(store))
    with pytest.raises(ValueError, match="active or pending"):
        await bind(store, identity.id, await issue(store), state="revoked")


async def test_rotation_pending_first_use_and_revocation(store: Store) -> None:
    identity = await make_identity(store)
    old = await bind(store, identity.id, await issue(store))
    new = await bind(
        store, identity.id, await issue(store), state="pending", replaces_id=old.id,
        csr_sha256="c" * 64,
    )  # fmt: skip

    assert await store.find_rotation(old.id, "c" * 64) == new
    assert await store.find_rotation(old.id, "d" * 64) is None
    assert await store.list_pending_rotations(old.id) == [new]
    with pytest.raises(Conflict):  # the same CSR rotates a binding once
        await bind(
            store, identity.id, await issue(store), state="pending", replaces_id=old.id,
            csr_sha256="c" * 64,
        )  # fmt: skip

    assert await store.activate_identity_certificate(new.id, NOW) is True
    assert await store.activate_identity_certificate(new.id, NOW) is False
    activated = await store.get_identity_certificate(new.id)
    assert (activated.state, activated.first_used_at) == ("active", NOW)
    assert await store.list_pending_rotations(old.id) == []

    assert await store.revoke_identity_certificate(old.id) is True
    assert await store.revoke_identity_certificate(old.id) is False
    assert (await store.get_identity_certificate(old.id)).state == "revoked"


async def test_bindings_go_with_their_certificate(store: Store) -> None:
    identity = await make_identity(store)
    cert = await issue(store)
    await bind(store, identity.id, cert)
    await store.delete_certificate(cert.id)
    assert await store.list_identity_certificates(identity.id) == []
