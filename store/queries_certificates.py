"""Certificate rows: reserve before signing, activate after, revoke, renew, list, metadata.

Issuance is two conditional writes (DESIGN.md, "store what will be signed before signing"):
`reserve_certificate` stores the serial and to-be-signed facts as `pending`; after signing,
`activate_certificate` moves pending -> active exactly once. A crash in between leaves a
pending row that can still be revoked, so it reaches the CRL.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from policy.model import CertificateStatus, RequestMethod, RevocationReason
from store.base import StoreBase
from store.certificate_filters import CertificateFilters, filter_clauses, order_clauses
from store.columns import optional_utc, require_utc, utc_now
from store.interface import NotFound
from store.records import CertificateRecord, RevokedRow
from store.schema import certificate_authorities as cas
from store.schema import certificate_metadata as cert_meta
from store.schema import certificate_profiles as profiles
from store.schema import certificates as certs
from store.values import check_metadata, enum_value, new_uuid, normalise_serial

# Revocation is allowed from these states: a pending row may have been signed already.
REVOCABLE = (CertificateStatus.ACTIVE.value, CertificateStatus.PENDING.value)
LIST_LIMIT_MAX = 1000


def certificate_record(row: Any, metadata: Mapping[str, str]) -> CertificateRecord:
    reason = row["revocation_reason"]
    key = row["encrypted_private_key"]
    return CertificateRecord(
        id=row["id"],
        serial_hex=row["serial_hex"],
        status=CertificateStatus(row["status"]),
        profile_id=row["profile_id"],
        ca_id=row["ca_id"],
        request_method=RequestMethod(row["request_method"]),
        common_name=row["common_name"],
        subject=row["subject"],
        sans=[dict(san) for san in row["sans"]],
        key_algorithm=row["key_algorithm"],
        hash_algorithm=row["hash_algorithm"],
        not_before=row["not_before"],
        not_after=row["not_after"],
        certificate_pem=row["certificate_pem"],
        chain_pem=row["chain_pem"],
        fingerprint_sha256=row["fingerprint_sha256"],
        encrypted_private_key=None if key is None else bytes(key),
        friendly_name=row["friendly_name"],
        metadata=dict(metadata),
        renewed_from_id=row["renewed_from_id"],
        renewed_by_id=row["renewed_by_id"],
        auto_renew=bool(row["auto_renew"]),
        revoked_at=row["revoked_at"],
        revocation_reason=None if reason is None else RevocationReason(reason),
        certificate_request_id=row["certificate_request_id"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


async def _metadata_of(conn: AsyncConnection, ids: Iterable[str]) -> dict[str, dict[str, str]]:
    wanted = list(ids)
    found: dict[str, dict[str, str]] = {cert_id: {} for cert_id in wanted}
    if wanted:
        result = await conn.execute(
            select(cert_meta.c.certificate_id, cert_meta.c.key, cert_meta.c.value)
            .where(cert_meta.c.certificate_id.in_(wanted))
            .order_by(cert_meta.c.key)
        )
        for cert_id, key, value in result:
            found[cert_id][key] = value
    return found


async def _load(conn: AsyncConnection, cert_id: str) -> CertificateRecord:
    row = await StoreBase._one(conn, certs, cert_id, "certificate")
    return certificate_record(row, (await _metadata_of(conn, [cert_id]))[cert_id])


async def _replace_metadata(conn: AsyncConnection, cert_id: str, metadata: dict[str, str]) -> None:
    await conn.execute(delete(cert_meta).where(cert_meta.c.certificate_id == cert_id))
    if metadata:
        await conn.execute(
            cert_meta.insert(),
            [{"certificate_id": cert_id, "key": k, "value": v} for k, v in metadata.items()],
        )


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
    ) -> CertificateRecord:
        """Insert a `pending` certificate with a new id, before signing.

        `serial_hex` is normalised (values.normalise_serial); Conflict if that serial exists.
        `ca_id` None means self-signed. NotFound for a missing profile, CA or
        renewed_from certificate. Use link_renewal to also set the old one's renewed_by_id.
        """
        method = enum_value(RequestMethod, request_method, "request_method")
        meta = check_metadata(metadata or {})
        now = utc_now()
        values: dict[str, Any] = {
            "id": new_uuid(),
            "serial_hex": normalise_serial(serial_hex),
            "status": CertificateStatus.PENDING.value,
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
            "created_at": now,
            "updated_at": now,
        }
        async with self._write() as conn:
            if profile_id is not None:
                await self._require(conn, profiles, profile_id, "profile")
            if ca_id is not None:
                await self._require(conn, cas, ca_id, "CA")
            if renewed_from_id is not None:
                await self._require(conn, certs, renewed_from_id, "certificate")
            await conn.execute(certs.insert().values(values))
            await _replace_metadata(conn, values["id"], meta)
            return await _load(conn, values["id"])

    async def activate_certificate(
        self,
        cert_id: str,
        *,
        certificate_pem: str,
        chain_pem: str,
        fingerprint_sha256: str,
        encrypted_private_key: bytes | None,
    ) -> bool:
        """pending -> active with the signed certificate; False if it was not pending."""
        if not certificate_pem or not fingerprint_sha256:
            raise ValueError("activation needs the certificate PEM and its fingerprint")
        async with self._write() as conn:
            result = await conn.execute(
                update(certs)
                .where(certs.c.id == cert_id, certs.c.status == CertificateStatus.PENDING.value)
                .values(
                    status=CertificateStatus.ACTIVE.value,
                    certificate_pem=certificate_pem,
                    chain_pem=chain_pem,
                    fingerprint_sha256=fingerprint_sha256,
                    encrypted_private_key=encrypted_private_key,
                    updated_at=utc_now(),
                )
            )
            if result.rowcount == 0:
                await self._require(conn, certs, cert_id, "certificate")
                return False
            return True

    async def get_certificate(self, cert_id: str) -> CertificateRecord:
        async with self._read() as conn:
            return await _load(conn, cert_id)

    async def get_certificate_by_serial(self, serial_hex: str) -> CertificateRecord:
        """Look up by serial in any spelling normalise_serial accepts; NotFound if absent
        (and for a string that is not hexadecimal)."""
        try:
            serial = normalise_serial(serial_hex)
        except ValueError:
            raise NotFound(f"certificate with serial {serial_hex!r} not found") from None
        async with self._read() as conn:
            cert_id = await conn.scalar(select(certs.c.id).where(certs.c.serial_hex == serial))
            if cert_id is None:
                raise NotFound(f"certificate with serial {serial} not found")
            return await _load(conn, cert_id)

    async def list_certificates(
        self,
        *,
        status: CertificateStatus | str | None = None,
        profile_id: str | None = None,
        ca_id: str | None = None,
        name_contains: str | None = None,
        expires_before: datetime | None = None,
        expires_after: datetime | None = None,
        metadata: Mapping[str, str] | None = None,
        limit: int = 50,
        offset: int = 0,
        order_by: str = "created_at",
        descending: bool = True,
    ) -> list[CertificateRecord]:
        """One page of certificates matching every given filter (see CertificateFilters).
        `order_by` is one of certificate_filters.ORDER_COLUMNS; ties break on id."""
        if not 0 <= limit <= LIST_LIMIT_MAX or offset < 0:
            raise ValueError(f"limit must be 0-{LIST_LIMIT_MAX} and offset >= 0")
        filters = CertificateFilters(
            status=status,
            profile_id=profile_id,
            ca_id=ca_id,
            name_contains=name_contains,
            expires_before=optional_utc(expires_before, "expires_before"),
            expires_after=optional_utc(expires_after, "expires_after"),
            metadata=metadata,
        )
        query = (
            select(certs)
            .where(*filter_clauses(filters))
            .order_by(*order_clauses(order_by, descending))
            .limit(limit)
            .offset(offset)
        )
        async with self._read() as conn:
            rows = list((await conn.execute(query)).mappings())
            meta = await _metadata_of(conn, (row["id"] for row in rows))
        return [certificate_record(row, meta[row["id"]]) for row in rows]

    async def count_certificates(
        self,
        *,
        status: CertificateStatus | str | None = None,
        profile_id: str | None = None,
        ca_id: str | None = None,
        name_contains: str | None = None,
        expires_before: datetime | None = None,
        expires_after: datetime | None = None,
        metadata: Mapping[str, str] | None = None,
    ) -> int:
        """How many certificates list_certificates would page through."""
        filters = CertificateFilters(
            status=status,
            profile_id=profile_id,
            ca_id=ca_id,
            name_contains=name_contains,
            expires_before=optional_utc(expires_before, "expires_before"),
            expires_after=optional_utc(expires_after, "expires_after"),
            metadata=metadata,
        )
        async with self._read() as conn:
            count = await conn.scalar(
                select(func.count()).select_from(certs).where(*filter_clauses(filters))
            )
        return int(count or 0)

    async def revoke_certificate(
        self, cert_id: str, *, reason: RevocationReason | str, revoked_at: datetime
    ) -> bool:
        """active (or pending) -> revoked; False if it was already revoked or expired."""
        why = enum_value(RevocationReason, reason, "revocation reason")
        at = require_utc(revoked_at, "revoked_at")
        async with self._write() as conn:
            result = await conn.execute(
                update(certs)
                .where(certs.c.id == cert_id, certs.c.status.in_(REVOCABLE))
                .values(
                    status=CertificateStatus.REVOKED.value,
                    revoked_at=at,
                    revocation_reason=why.value,
                    updated_at=utc_now(),
                )
            )
            if result.rowcount == 0:
                await self._require(conn, certs, cert_id, "certificate")
                return False
            return True

    async def expire_certificates(self, *, now: datetime) -> int:
        """active -> expired for every certificate whose not_after has passed by `now`;
        returns how many moved. Revoked certificates stay revoked."""
        at = require_utc(now, "now")
        async with self._write() as conn:
            result = await conn.execute(
                update(certs)
                .where(
                    certs.c.status == CertificateStatus.ACTIVE.value,
                    certs.c.not_after <= at,
                )
                .values(status=CertificateStatus.EXPIRED.value, updated_at=utc_now())
            )
            return int(result.rowcount)

    async def list_revoked(self, ca_id: str, *, now: datetime | None = None) -> list[RevokedRow]:
        """The CA's revoked certificates that have not expired by `now` (default: the
        current time), oldest revocation first: the entries of its next CRL."""
        at = utc_now() if now is None else require_utc(now, "now")
        query = (
            select(certs.c.serial_hex, certs.c.revoked_at, certs.c.revocation_reason)
            .where(
                certs.c.ca_id == ca_id,
                certs.c.status == CertificateStatus.REVOKED.value,
                certs.c.not_after > at,
            )
            .order_by(certs.c.revoked_at, certs.c.serial_hex)
        )
        async with self._read() as conn:
            rows = (await conn.execute(query)).all()
        return [
            RevokedRow(serial_hex=serial, revoked_at=revoked, reason=RevocationReason(reason))
            for serial, revoked, reason in rows
        ]

    async def set_certificate_metadata(
        self, cert_id: str, metadata: Mapping[str, str]
    ) -> CertificateRecord:
        """Replace the certificate's metadata with `metadata`; returns the updated record."""
        meta = check_metadata(metadata)
        async with self._write() as conn:
            result = await conn.execute(
                update(certs).where(certs.c.id == cert_id).values(updated_at=utc_now())
            )
            if result.rowcount == 0:
                raise NotFound(f"certificate {cert_id} not found")
            await _replace_metadata(conn, cert_id, meta)
            return await _load(conn, cert_id)

    async def delete_certificate(self, cert_id: str) -> None:
        """Delete the row and its metadata; links to it (renewals, requests, orders) become
        None. NotFound if there is no such certificate."""
        async with self._write() as conn:
            result = await conn.execute(delete(certs).where(certs.c.id == cert_id))
            if result.rowcount == 0:
                raise NotFound(f"certificate {cert_id} not found")

    async def link_renewal(self, old_id: str, new_id: str) -> bool:
        """Record that `new_id` renews `old_id` (both directions). False if `old_id` was
        already renewed by another certificate: one renewal wins. NotFound for either id."""
        if old_id == new_id:
            raise ValueError("a certificate cannot renew itself")
        async with self._write() as conn:
            await self._require(conn, certs, new_id, "certificate")
            result = await conn.execute(
                update(certs)
                .where(
                    certs.c.id == old_id,
                    (certs.c.renewed_by_id.is_(None)) | (certs.c.renewed_by_id == new_id),
                )
                .values(renewed_by_id=new_id, updated_at=utc_now())
            )
            if result.rowcount == 0:
                await self._require(conn, certs, old_id, "certificate")
                return False
            await conn.execute(
                update(certs).where(certs.c.id == new_id).values(renewed_from_id=old_id)
            )
            return True
