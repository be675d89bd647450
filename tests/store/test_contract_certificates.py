"""Certificate rows: reserve/activate, revoke, renewals, metadata, deletion; both backends."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta, timezone

import pytest

from pki_types.model import CertificateStatus, RequestMethod, RevocationReason
from store import Conflict, NotFound, Store
from store.db import Sql
from tests.store.factories import NOW, issue, make_ca, make_profile, reserve

INSERT_LEASE = Sql("INSERT INTO leases (name, holder, expires_at) VALUES (:name, :holder, :at)")
SERIAL_COLUMN = Sql("SELECT serial_hex FROM certificates WHERE id = :id")


async def test_reserve_stores_a_pending_row_before_signing(store: Store) -> None:
    ca = await make_ca(store)
    profile = await make_profile(store, issuer_type="ca", ca_id=ca.id)

    cert = await reserve(
        store,
        serial_hex="0A:BC:DE",
        profile_id=profile.id,
        ca_id=ca.id,
        request_method="acme",
        sans=[{"type": "dns_name", "value": "a.example"}, {"type": "ip_address", "value": "::1"}],
        friendly_name="front door",
        metadata={"team": "web", "env": "prod"},
        auto_renew=True,
    )

    assert cert == await store.get_certificate(cert.id)
    assert cert.status is CertificateStatus.PENDING
    assert cert.serial_hex == "0ABCDE"  # stored "abcde", shown as openssl prints it
    assert cert.request_method is RequestMethod.ACME
    assert cert.certificate_pem == "" and cert.fingerprint_sha256 == ""
    assert cert.encrypted_private_key is None
    assert cert.sans == [
        {"type": "dns_name", "value": "a.example"},
        {"type": "ip_address", "value": "::1"},
    ]
    assert cert.metadata == {"env": "prod", "team": "web"}
    assert cert.auto_renew is True
    assert cert.revoked_at is None and cert.revocation_reason is None
    uuid.UUID(cert.id, version=4)


async def test_activate_moves_pending_to_active_once(store: Store) -> None:
    cert = await reserve(store)

    first = await store.activate_certificate(
        cert.id,
        certificate_pem="PEM",
        chain_pem="CHAIN",
        fingerprint_sha256="f" * 64,
        encrypted_private_key=b"\x01key",
    )
    second = await store.activate_certificate(
        cert.id,
        certificate_pem="OTHER",
        chain_pem="",
        fingerprint_sha256="0" * 64,
        encrypted_private_key=None,
    )

    assert (first, second) == (True, False)
    active = await store.get_certificate(cert.id)
    assert active.status is CertificateStatus.ACTIVE
    assert (active.certificate_pem, active.chain_pem) == ("PEM", "CHAIN")
    assert active.fingerprint_sha256 == "f" * 64
    assert active.encrypted_private_key == b"\x01key"
    assert active.updated_at >= cert.updated_at


async def test_concurrent_activations_succeed_exactly_once(store: Store) -> None:
    cert = await reserve(store)

    results = await asyncio.gather(
        *(
            store.activate_certificate(
                cert.id,
                certificate_pem=f"PEM{i}",
                chain_pem="",
                fingerprint_sha256="a" * 64,
                encrypted_private_key=None,
            )
            for i in range(10)
        )
    )

    assert sorted(results) == [False] * 9 + [True]


async def test_activate_missing_certificate_is_not_found(store: Store) -> None:
    with pytest.raises(NotFound):
        await store.activate_certificate(
            str(uuid.uuid4()),
            certificate_pem="PEM",
            chain_pem="",
            fingerprint_sha256="a" * 64,
            encrypted_private_key=None,
        )


async def test_duplicate_serial_conflicts_in_any_spelling(store: Store) -> None:
    await reserve(store, serial_hex="00ab:cd")
    with pytest.raises(Conflict, match="certificate serial already exists"):
        await reserve(store, serial_hex="ABCD")
    assert await store.count_certificates() == 1


async def test_get_by_serial_accepts_any_spelling(store: Store) -> None:
    cert = await reserve(store, serial_hex="7f01")

    assert (await store.get_certificate_by_serial("7F:01")).id == cert.id
    assert (await store.get_certificate_by_serial("0x7f01".removeprefix("0x"))).id == cert.id
    with pytest.raises(NotFound):
        await store.get_certificate_by_serial("7f02")
    with pytest.raises(NotFound):
        await store.get_certificate_by_serial("not hex")


async def test_serials_are_shown_as_openssl_prints_them_and_stored_as_before(store: Store) -> None:
    """The column keeps the lookup key it always held (lower case, no leading zeros), so
    databases written before need no migration; records show openssl's form."""
    cert = await reserve(store, serial_hex="0E85DF")

    assert cert.serial_hex == "0E85DF"
    async with store.database.read() as tx:
        assert await tx.value(SERIAL_COLUMN, {"id": cert.id}) == "e85df"
    for spelling in ("0E85DF", "0e85df", "e85df", "E85DF", "0e:85:df", "00:0E:85:DF"):
        found = await store.get_certificate_by_serial(spelling)
        assert (found.id, found.serial_hex) == (cert.id, "0E85DF")


async def test_missing_certificate_is_not_found(store: Store) -> None:
    with pytest.raises(NotFound):
        await store.get_certificate(str(uuid.uuid4()))


async def test_reserve_checks_its_references(store: Store) -> None:
    with pytest.raises(NotFound, match="profile"):
        await reserve(store, profile_id=str(uuid.uuid4()))
    with pytest.raises(NotFound, match="CA"):
        await reserve(store, ca_id=str(uuid.uuid4()))
    with pytest.raises(NotFound, match="certificate"):
        await reserve(store, renewed_from_id=str(uuid.uuid4()))


async def test_revoke_succeeds_once(store: Store) -> None:
    cert = await issue(store)
    at = NOW + timedelta(hours=1)

    first = await store.revoke_certificate(cert.id, reason="KEY_COMPROMISE", revoked_at=at)
    second = await store.revoke_certificate(
        cert.id, reason=RevocationReason.SUPERSEDED, revoked_at=at + timedelta(hours=1)
    )

    assert (first, second) == (True, False)
    revoked = await store.get_certificate(cert.id)
    assert revoked.status is CertificateStatus.REVOKED
    assert revoked.revocation_reason is RevocationReason.KEY_COMPROMISE
    assert revoked.revoked_at == at


async def test_pending_certificate_is_revocable(store: Store) -> None:
    """A crash between signing and activation must leave something that can reach a CRL."""
    cert = await reserve(store)

    assert await store.revoke_certificate(cert.id, reason="UNSPECIFIED", revoked_at=NOW)
    assert not await store.activate_certificate(
        cert.id,
        certificate_pem="PEM",
        chain_pem="",
        fingerprint_sha256="a" * 64,
        encrypted_private_key=None,
    )


async def test_revoke_refuses_bad_input(store: Store) -> None:
    cert = await issue(store)
    with pytest.raises(ValueError, match="revocation reason"):
        await store.revoke_certificate(cert.id, reason="BORED", revoked_at=NOW)
    with pytest.raises(ValueError, match="timezone-aware"):
        await store.revoke_certificate(
            cert.id, reason="UNSPECIFIED", revoked_at=datetime(2030, 1, 1)
        )
    with pytest.raises(NotFound):
        await store.revoke_certificate(str(uuid.uuid4()), reason="UNSPECIFIED", revoked_at=NOW)
    assert (await store.get_certificate(cert.id)).status is CertificateStatus.ACTIVE


async def test_list_revoked_gives_the_cas_unexpired_revocations(store: Store) -> None:
    ca = await make_ca(store)
    other_ca = await make_ca(store)
    now = datetime.now(UTC)
    early = await issue(store, ca_id=ca.id, serial_hex="01")
    late = await issue(store, ca_id=ca.id, serial_hex="02")
    expired = await issue(store, ca_id=ca.id, serial_hex="03", not_after=now - timedelta(days=1))
    await issue(store, ca_id=ca.id, serial_hex="04")  # active, not revoked
    elsewhere = await issue(store, ca_id=other_ca.id, serial_hex="05")
    for cert, minutes in ((late, 20), (early, 10), (expired, 5), (elsewhere, 1)):
        at = now - timedelta(minutes=minutes)
        assert await store.revoke_certificate(cert.id, reason="SUPERSEDED", revoked_at=at)

    rows = await store.list_revoked(ca.id)

    assert [(row.serial_hex, row.reason) for row in rows] == [
        ("02", RevocationReason.SUPERSEDED),
        ("01", RevocationReason.SUPERSEDED),
    ]
    assert rows[0].revoked_at == now - timedelta(minutes=20)
    assert len(await store.list_revoked(ca.id, now=now - timedelta(days=2))) == 3


async def test_expire_moves_only_active_certificates_past_not_after(store: Store) -> None:
    due = await issue(store, not_after=NOW)
    later = await issue(store, not_after=NOW + timedelta(seconds=1))
    pending = await reserve(store, not_after=NOW - timedelta(days=1))
    revoked = await issue(store, not_after=NOW - timedelta(days=1))
    await store.revoke_certificate(revoked.id, reason="UNSPECIFIED", revoked_at=NOW)

    assert await store.expire_certificates(now=NOW) == 1
    assert await store.expire_certificates(now=NOW) == 0

    statuses = {c.id: c.status for c in await store.list_certificates()}
    assert statuses == {
        due.id: CertificateStatus.EXPIRED,
        later.id: CertificateStatus.ACTIVE,
        pending.id: CertificateStatus.PENDING,
        revoked.id: CertificateStatus.REVOKED,
    }


async def test_timestamps_round_trip_as_aware_utc(store: Store) -> None:
    plus_two = timezone(timedelta(hours=2))
    not_before = datetime(2031, 6, 1, 12, 30, 15, 123456, tzinfo=plus_two)

    cert = await reserve(store, not_before=not_before, not_after=not_before + timedelta(days=1))
    fetched = await store.get_certificate(cert.id)

    assert fetched.not_before == not_before
    assert fetched.not_before.tzinfo is UTC
    assert fetched.not_before.hour == 10 and fetched.not_before.microsecond == 123456
    for value in (fetched.not_after, fetched.created_at, fetched.updated_at):
        assert value.tzinfo is UTC


async def test_naive_datetimes_are_refused(store: Store) -> None:
    with pytest.raises(ValueError, match="not_before must be timezone-aware"):
        await reserve(store, not_before=datetime(2030, 1, 1))
    with pytest.raises(ValueError, match="expires_before must be timezone-aware"):
        await store.list_certificates(expires_before=datetime(2030, 1, 1))
    assert await store.count_certificates() == 0


async def test_column_type_refuses_naive_datetimes_too(store: Store) -> None:
    """Binding is the backstop for queries written outside the store methods."""
    with pytest.raises(ValueError, match="timezone-aware"):
        async with store.database.write() as tx:
            await tx.run(INSERT_LEASE, {"name": "crl", "holder": "a", "at": datetime(2030, 1, 1)})


async def test_metadata_is_replaced_as_a_whole(store: Store) -> None:
    cert = await reserve(store, metadata={"team": "web", "env": "dev"})

    updated = await store.set_certificate_metadata(cert.id, {"env": "prod", "owner": "ops"})

    assert updated.metadata == {"env": "prod", "owner": "ops"}
    assert (await store.get_certificate(cert.id)).metadata == updated.metadata
    assert (await store.set_certificate_metadata(cert.id, {})).metadata == {}
    with pytest.raises(NotFound):
        await store.set_certificate_metadata(str(uuid.uuid4()), {"a": "b"})


@pytest.mark.parametrize("metadata", [{"": "x"}, {"k": 1}, {"k" * 256: "v"}, {"k": "v" * 1025}])
async def test_bad_metadata_is_refused(store: Store, metadata: dict[str, object]) -> None:
    cert = await reserve(store)
    with pytest.raises(ValueError, match="metadata"):
        await store.set_certificate_metadata(cert.id, metadata)  # type: ignore[arg-type]


async def test_link_renewal_links_both_ways_once(store: Store) -> None:
    old = await issue(store)
    new = await reserve(store)
    rival = await reserve(store)

    assert await store.link_renewal(old.id, new.id) is True
    assert await store.link_renewal(old.id, new.id) is True  # repeating is harmless
    assert await store.link_renewal(old.id, rival.id) is False

    assert (await store.get_certificate(old.id)).renewed_by_id == new.id
    assert (await store.get_certificate(new.id)).renewed_from_id == old.id
    assert (await store.get_certificate(rival.id)).renewed_from_id is None
    with pytest.raises(NotFound):
        await store.link_renewal(str(uuid.uuid4()), new.id)
    with pytest.raises(NotFound):
        await store.link_renewal(old.id, str(uuid.uuid4()))
    with pytest.raises(ValueError):
        await store.link_renewal(old.id, old.id)


async def test_delete_certificate_removes_it_and_unlinks_renewals(store: Store) -> None:
    old = await issue(store, metadata={"k": "v"})
    new = await reserve(store, renewed_from_id=old.id)
    assert await store.link_renewal(old.id, new.id)

    await store.delete_certificate(new.id)

    with pytest.raises(NotFound):
        await store.get_certificate(new.id)
    assert (await store.get_certificate(old.id)).renewed_by_id is None
    with pytest.raises(NotFound):
        await store.delete_certificate(new.id)
    await store.delete_certificate(old.id)
    assert await store.count_certificates(metadata={"k": "v"}) == 0
