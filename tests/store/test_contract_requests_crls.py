"""CertificateRequest and CRL rows, on both backends."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from pki_types.model import RequestMethod
from store import Conflict, NotFound, Store
from tests.store.factories import NOW, issue, make_ca, make_profile


async def test_request_is_created_pending_and_attached_once(store: Store) -> None:
    profile = await make_profile(store)
    request = await store.create_certificate_request(
        profile_id=profile.id,
        method="api_csr",
        csr_pem="-----BEGIN CERTIFICATE REQUEST-----\n...",
        attributes={"ttl": "30d", "common_name": "a.example"},
        metadata={"ticket": "OPS-1"},
    )
    cert = await issue(store, profile_id=profile.id, certificate_request_id=request.id)
    other = await issue(store, profile_id=profile.id)

    assert request == await store.get_certificate_request(request.id)
    assert request.status == "pending" and request.method is RequestMethod.API_CSR
    assert request.attributes["ttl"] == "30d" and request.metadata == {"ticket": "OPS-1"}
    assert request.certificate_id is None and request.error is None

    assert await store.attach_certificate(request.id, cert.id) is True
    assert await store.attach_certificate(request.id, other.id) is False
    attached = await store.get_certificate_request(request.id)
    assert (attached.status, attached.certificate_id) == ("issued", cert.id)
    assert (await store.get_certificate(cert.id)).certificate_request_id == request.id


async def test_request_fails_once(store: Store) -> None:
    profile = await make_profile(store)
    request = await store.create_certificate_request(
        profile_id=profile.id, method=RequestMethod.API_MANAGED
    )

    assert await store.fail_certificate_request(request.id, "policy: CN not allowed") is True
    assert await store.fail_certificate_request(request.id, "again") is False
    failed = await store.get_certificate_request(request.id)
    assert (failed.status, failed.error) == ("failed", "policy: CN not allowed")


async def test_request_references_must_exist(store: Store) -> None:
    profile = await make_profile(store)
    request = await store.create_certificate_request(profile_id=profile.id, method="acme")
    with pytest.raises(NotFound, match="profile"):
        await store.create_certificate_request(profile_id=str(uuid.uuid4()), method="acme")
    with pytest.raises(NotFound, match="certificate"):
        await store.attach_certificate(request.id, str(uuid.uuid4()))
    with pytest.raises(NotFound, match="request"):
        await store.get_certificate_request(str(uuid.uuid4()))
    with pytest.raises(NotFound, match="request"):
        await store.fail_certificate_request(str(uuid.uuid4()), "x")


async def test_crls_are_kept_by_number(store: Store) -> None:
    ca = await make_ca(store)
    assert await store.latest_crl(ca.id) is None

    stored = []
    for _ in range(3):
        number = await store.next_crl_number(ca.id)
        stored.append(
            await store.insert_crl(
                ca_id=ca.id,
                number=number,
                der=bytes([0x30, number, 0x00]),
                this_update=NOW,
                next_update=NOW + timedelta(days=7),
            )
        )

    assert await store.latest_crl(ca.id) == stored[-1]
    assert [crl.number for crl in await store.list_crls(ca.id)] == [3, 2, 1]
    assert stored[0].der == b"\x30\x01\x00"
    assert stored[0].next_update == NOW + timedelta(days=7)
    assert await store.list_crls(str(uuid.uuid4())) == []


async def test_duplicate_crl_number_conflicts(store: Store) -> None:
    ca = await make_ca(store)
    other = await make_ca(store)
    fields = {"number": 1, "der": b"0", "this_update": NOW, "next_update": NOW}
    await store.insert_crl(ca_id=ca.id, **fields)  # type: ignore[arg-type]
    await store.insert_crl(ca_id=other.id, **fields)  # type: ignore[arg-type]

    with pytest.raises(Conflict, match="CRL number already exists for this CA"):
        await store.insert_crl(ca_id=ca.id, **fields)  # type: ignore[arg-type]
    with pytest.raises(NotFound, match="CA"):
        await store.insert_crl(ca_id=str(uuid.uuid4()), **fields)  # type: ignore[arg-type]
