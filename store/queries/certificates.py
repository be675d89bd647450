"""Certificate writes: reserve before signing, activate after, revoke, expire, renew, metadata.

Issuance is two conditional writes (DESIGN.md, "store what will be signed before signing"):
`reserve_certificate` stores the serial and to-be-signed facts as `pending`; after signing,
`activate_certificate` moves pending -> active exactly once. A crash in between leaves a
pending row that can still be revoked, so it reaches the CRL.

Both are on ACME's hot path, so each takes as few statements as it can: one existence
check for all of a reservation's references, INSERT/UPDATE ... RETURNING instead of a
read-back. The reads (by id or serial, pages, counts, CRL rows) are in certificate_reads.py.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from pki_types.model import CertificateStatus, RequestMethod, RevocationReason
from store.base import StoreBase, insert_sql
from store.certificate_filters import search_text
from store.certificate_rows import certificate_record, insert_metadata, written_metadata
from store.columns import require_utc, utc_now
from store.db import Sql, Tx
from store.interface import AlreadyRenewed, NotFound
from store.records import CertificateRecord
from store.schema import certificates as certs
from store.values import check_metadata, enum_value, new_uuid, normalise_serial

# Revocation is allowed from these states: a pending row may have been signed already.
REVOCABLE = (CertificateStatus.ACTIVE.value, CertificateStatus.PENDING.value)

_PENDING = CertificateStatus.PENDING.value
_ACTIVE = CertificateStatus.ACTIVE.value
_REVOKED = CertificateStatus.REVOKED.value
_EXPIRED = CertificateStatus.EXPIRED.value

_INSERT = Sql(insert_sql(certs).text + " RETURNING *")
_DELETE_METADATA = Sql("DELETE FROM certificate_metadata WHERE certificate_id = :id")
# Each subquery is NULL when its id is NULL or missing; callers look only at given ids.
_REFERENCES = Sql(
    "SELECT (SELECT 1 FROM certificate_profiles WHERE id = :profile_id) AS profile, "
    "(SELECT 1 FROM certificate_authorities WHERE id = :ca_id) AS ca, "
    "(SELECT 1 FROM certificates WHERE id = :renewed_from_id) AS renewed_from"
)
_ACTIVATE = Sql(
    f"UPDATE certificates SET status = '{_ACTIVE}', certificate_pem = :certificate_pem, "
    "chain_pem = :chain_pem, fingerprint_sha256 = :fingerprint_sha256, "
    "encrypted_private_key = :encrypted_private_key, updated_at = :updated_at "
    f"WHERE id = :id AND status = '{_PENDING}'"
)
_REVOKE = Sql(
    f"UPDATE certificates SET status = '{_REVOKED}', revoked_at = :revoked_at, "
    "revocation_reason = :reason, updated_at = :updated_at "
    "WHERE id = :id AND status IN (" + ", ".join(f"'{s}'" for s in REVOCABLE) + ")"
)
_EXPIRE = Sql(
    f"UPDATE certificates SET status = '{_EXPIRED}', updated_at = :updated_at "
    f"WHERE status = '{_ACTIVE}' AND not_after <= :now"
)
_TOUCH = Sql("UPDATE certificates SET updated_at = :updated_at WHERE id = :id RETURNING *")
_DELETE = Sql("DELETE FROM certificates WHERE id = :id")
# Also checks that the renewal exists, so a missing one writes nothing (see link_renewal).
_SET_RENEWED_BY = Sql(
    "UPDATE certificates SET renewed_by_id = :new_id, updated_at = :updated_at "
    "WHERE id = :old_id AND (renewed_by_id IS NULL OR renewed_by_id = :new_id) "
    "AND EXISTS (SELECT 1 FROM certificates n WHERE n.id = :new_id)"
)
# Reserving a renewal claims the renewed certificate in the same transaction: one successor.
_CLAIM_RENEWAL = Sql(
    "UPDATE certificates SET renewed_by_id = :new_id, updated_at = :updated_at "
    "WHERE id = :old_id AND renewed_by_id IS NULL"
)
_SET_RENEWED_FROM = Sql("UPDATE certificates SET renewed_from_id = :old_id WHERE id = :new_id")


async def _check_references(
    tx: Tx, profile_id: str | None, ca_id: str | None, renewed_from_id: str | None
) -> None:
    """NotFound for the first given id (profile, CA, renewed_from) without a row."""
    if profile_id is None and ca_id is None and renewed_from_id is None:
        return
    found = await tx.one(
        _REFERENCES,
        {"profile_id": profile_id, "ca_id": ca_id, "renewed_from_id": renewed_from_id},
    )
    assert found is not None  # a SELECT without FROM has its one row
    if profile_id is not None and found["profile"] is None:
        raise NotFound(f"profile {profile_id} not found")
    if ca_id is not None and found["ca"] is None:
        raise NotFound(f"CA {ca_id} not found")
    if renewed_from_id is not None and found["renewed_from"] is None:
        raise NotFound(f"certificate {renewed_from_id} not found")


class CertificateQueries(StoreBase):
    async def reserve_certificate(
        self,
        *,
        serial_hex: str,
        profile_id: str | None,
        ca_id: str | None,
        request_method: RequestMethod | str,
        common_name: str,
        subject: str,
        sans: Sequence[Mapping[str, str]],
        key_algorithm: str,
        hash_algorithm: str,
        not_before: datetime,
        not_after: datetime,
        friendly_name: str = "",
        metadata: Mapping[str, str] | None = None,
        auto_renew: bool = False,
        renewed_from_id: str | None = None,
        certificate_request_id: str | None = None,
        owner_identity_id: str | None = None,
        internal: bool = False,
    ) -> CertificateRecord:
        """Insert a `pending` certificate with a new id, before signing.

        `serial_hex` is normalised (values.normalise_serial); Conflict if that serial exists.
        `ca_id` None means self-signed. NotFound for a missing profile, CA or
        renewed_from certificate. With `renewed_from_id`, the renewed certificate's
        renewed_by_id is set to the new row in the same transaction, so a certificate gets
        at most one successor however many processes renew it: AlreadyRenewed (and nothing
        stored) when it already has one.
        """
        method = enum_value(RequestMethod, request_method, "request_method")
        meta = check_metadata(metadata or {})
        now = utc_now()
        values: dict[str, Any] = {
            "id": new_uuid(),
            "serial_hex": normalise_serial(serial_hex),
            "status": _PENDING,
            "profile_id": profile_id,
            "ca_id": ca_id,
            "request_method": method.value,
            "common_name": common_name,
            "subject": subject,
            "sans": [{"type": san["type"], "value": san["value"]} for san in sans],
            "key_algorithm": key_algorithm,
            "hash_algorithm": hash_algorithm,
            "not_before": require_utc(not_before, "not_before"),
            "not_after": require_utc(not_after, "not_after"),
            "certificate_pem": "",
            "chain_pem": "",
            "fingerprint_sha256": "",
            "encrypted_private_key": None,
            "friendly_name": friendly_name,
            "renewed_from_id": renewed_from_id,
            "renewed_by_id": None,
            "auto_renew": auto_renew,
            "revoked_at": None,
            "revocation_reason": None,
            "certificate_request_id": certificate_request_id,
            "owner_identity_id": owner_identity_id,
            "internal": internal,
            "search_text": search_text(common_name, friendly_name, sans),
            "renewal_status": None,
            "renewal_error": None,
            "renewal_attempts": 0,
            "next_renewal_at": None,
            "expiry_warned_at": None,
            "created_at": now,
            "updated_at": now,
        }
        async with self._write() as tx:
            await _check_references(tx, profile_id, ca_id, renewed_from_id)
            row = await tx.one(_INSERT, values)
            assert row is not None  # INSERT ... RETURNING of one row
            if meta:  # a new id has no metadata rows to replace
                await insert_metadata(tx, values["id"], meta)
            if renewed_from_id is not None:
                claim = {"old_id": renewed_from_id, "new_id": values["id"], "updated_at": now}
                if await tx.run(_CLAIM_RENEWAL, claim) == 0:
                    raise AlreadyRenewed(f"certificate {renewed_from_id} is already renewed")
        return certificate_record(row, written_metadata(meta))

    async def activate_certificate(
        self,
        cert_id: str,
        *,
        certificate_pem: str,
        chain_pem: str,
        fingerprint_sha256: str,
        encrypted_private_key: bytes | None,
        now: datetime | None = None,
    ) -> bool:
        """pending -> active with the signed certificate; False if it was not pending.
        `now` (default: the clock) becomes its updated_at."""
        if not certificate_pem or not fingerprint_sha256:
            raise ValueError("activation needs the certificate PEM and its fingerprint")
        params = {
            "id": cert_id,
            "certificate_pem": certificate_pem,
            "chain_pem": chain_pem,
            "fingerprint_sha256": fingerprint_sha256,
            "encrypted_private_key": encrypted_private_key,
            "updated_at": utc_now() if now is None else require_utc(now, "now"),
        }
        return await self._conditional(_ACTIVATE, params, certs, "certificate")

    async def revoke_certificate(
        self, cert_id: str, *, reason: RevocationReason | str, revoked_at: datetime
    ) -> bool:
        """active (or pending) -> revoked; False if it was already revoked or expired."""
        why = enum_value(RevocationReason, reason, "revocation reason")
        params = {
            "id": cert_id,
            "revoked_at": require_utc(revoked_at, "revoked_at"),
            "reason": why.value,
            "updated_at": utc_now(),
        }
        async with self._write() as tx:
            if await tx.run(_REVOKE, params) == 0:
                await self._require(tx, certs, cert_id, "certificate")
                return False
            return True

    async def expire_certificates(self, *, now: datetime) -> int:
        """active -> expired for every certificate whose not_after has passed by `now`;
        returns how many moved. Revoked certificates stay revoked."""
        params = {"now": require_utc(now, "now"), "updated_at": utc_now()}
        async with self._write() as tx:
            return await tx.run(_EXPIRE, params)

    async def set_certificate_metadata(
        self, cert_id: str, metadata: Mapping[str, str]
    ) -> CertificateRecord:
        """Replace the certificate's metadata with `metadata`; returns the updated record."""
        meta = check_metadata(metadata)
        async with self._write() as tx:
            row = await tx.one(_TOUCH, {"id": cert_id, "updated_at": utc_now()})
            if row is None:
                raise NotFound(f"certificate {cert_id} not found")
            await tx.run(_DELETE_METADATA, {"id": cert_id})
            await insert_metadata(tx, cert_id, meta)
        return certificate_record(row, written_metadata(meta))

    async def delete_certificate(self, cert_id: str) -> None:
        """Delete the row and its metadata; links to it (renewals, requests, orders) become
        None. NotFound if there is no such certificate."""
        async with self._write() as tx:
            if await tx.run(_DELETE, {"id": cert_id}) == 0:
                raise NotFound(f"certificate {cert_id} not found")

    async def link_renewal(self, old_id: str, new_id: str) -> bool:
        """Record that `new_id` renews `old_id` (both directions). False if `old_id` was
        already renewed by another certificate: one renewal wins. NotFound for either id."""
        if old_id == new_id:
            raise ValueError("a certificate cannot renew itself")
        params = {"old_id": old_id, "new_id": new_id, "updated_at": utc_now()}
        async with self._write() as tx:
            if await tx.run(_SET_RENEWED_BY, params) == 0:
                # Nothing written: say which id is missing (the new one first), else lost.
                await self._require(tx, certs, new_id, "certificate")
                await self._require(tx, certs, old_id, "certificate")
                return False
            await tx.run(_SET_RENEWED_FROM, {"old_id": old_id, "new_id": new_id})
            return True
