"""Certificate reads: by id, serial or ordering account, filtered pages and counts, CRL rows.

The writes (reserve, activate, revoke, renew, metadata, delete) are in certificates.py. A
certificate and its metadata are read in one (LEFT JOIN) statement; a page reads its rows'
metadata in one more.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import datetime

from pki_types.model import CertificateStatus, RequestMethod, RevocationReason
from store.base import StoreBase
from store.certificate_filters import CertificateFilters, count_sql, page_sql
from store.certificate_rows import certificate_record, joined_record, metadata_of
from store.columns import optional_utc, require_utc, utc_now
from store.db import Sql, dynamic
from store.interface import NotFound
from store.records import CertificateRecord, RevokedRow
from store.values import normalise_serial, shown_serial

LIST_LIMIT_MAX = 1000

_REVOKED = CertificateStatus.REVOKED.value

# A certificate and its metadata (key order), one row per key; NULL key when it has none.
_WITH_METADATA = (
    'SELECT c.*, m."key" AS metadata_key, m.value AS metadata_value FROM certificates c '
    "LEFT JOIN certificate_metadata m ON m.certificate_id = c.id "
)
_BY_ID_WITH_METADATA = Sql(_WITH_METADATA + 'WHERE c.id = :id ORDER BY m."key"')
_ORDERED_BY_WITH_METADATA = Sql(
    _WITH_METADATA + "WHERE c.id = :id AND EXISTS (SELECT 1 FROM acme_orders o "
    'WHERE o.certificate_id = c.id AND o.account_id = :account_id) ORDER BY m."key"'
)
_BY_SERIAL_WITH_METADATA = Sql(_WITH_METADATA + 'WHERE c.serial_hex = :serial ORDER BY m."key"')
_REVOKED_OF_CA = Sql(
    "SELECT serial_hex, revoked_at, revocation_reason FROM certificates "
    f"WHERE ca_id = :ca_id AND status = '{_REVOKED}' AND not_after > :now "
    "ORDER BY revoked_at, serial_hex"
)


def _filters(
    status: CertificateStatus | str | None,
    profile_id: str | None,
    ca_id: str | None,
    name_contains: str | None,
    expires_before: datetime | None,
    expires_after: datetime | None,
    metadata: Mapping[str, str] | None,
    owner_identity_id: str | None,
    profile_ids: Collection[str] | None,
    search: str | None,
    request_method: RequestMethod | str | None,
) -> CertificateFilters:
    return CertificateFilters(
        status=status,
        profile_id=profile_id,
        ca_id=ca_id,
        name_contains=name_contains,
        expires_before=optional_utc(expires_before, "expires_before"),
        expires_after=optional_utc(expires_after, "expires_after"),
        metadata=metadata,
        owner_identity_id=owner_identity_id,
        profile_ids=profile_ids,
        search=search,
        request_method=request_method,
    )


class CertificateReadQueries(StoreBase):
    async def get_certificate(self, cert_id: str) -> CertificateRecord:
        async with self._read() as tx:
            record = joined_record(await tx.all(_BY_ID_WITH_METADATA, {"id": cert_id}))
        if record is None:
            raise NotFound(f"certificate {cert_id} not found")
        return record

    async def get_ordered_certificate(self, cert_id: str, account_id: str) -> CertificateRecord:
        """The certificate if an ACME order of `account_id` issued it (one statement);
        NotFound otherwise, whether it is missing or another account's."""
        params = {"id": cert_id, "account_id": account_id}
        async with self._read() as tx:
            record = joined_record(await tx.all(_ORDERED_BY_WITH_METADATA, params))
        if record is None:
            raise NotFound(f"certificate {cert_id} not found for account {account_id}")
        return record

    async def get_certificate_by_serial(self, serial_hex: str) -> CertificateRecord:
        """Look up by serial in any spelling normalise_serial accepts; NotFound if absent
        (and for a string that is not hexadecimal)."""
        try:
            serial = normalise_serial(serial_hex)
        except ValueError:
            raise NotFound(f"certificate with serial {serial_hex!r} not found") from None
        async with self._read() as tx:
            record = joined_record(await tx.all(_BY_SERIAL_WITH_METADATA, {"serial": serial}))
        if record is None:
            raise NotFound(f"certificate with serial {serial} not found")
        return record

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
        owner_identity_id: str | None = None,
        profile_ids: Collection[str] | None = None,
        search: str | None = None,
        request_method: RequestMethod | str | None = None,
        limit: int = 50,
        offset: int = 0,
        order_by: str = "created_at",
        descending: bool = True,
    ) -> list[CertificateRecord]:
        """One page of certificates matching every given filter (see CertificateFilters).
        `order_by` is one of certificate_filters.ORDER_COLUMNS; ties break on id."""
        if not 0 <= limit <= LIST_LIMIT_MAX or offset < 0:
            raise ValueError(f"limit must be 0-{LIST_LIMIT_MAX} and offset >= 0")
        filters = _filters(
            status,
            profile_id,
            ca_id,
            name_contains,
            expires_before,
            expires_after,
            metadata,
            owner_identity_id,
            profile_ids,
            search,
            request_method,
        )
        text, params = page_sql(filters, order_by, descending)
        sql = dynamic(text)
        async with self._read() as tx:
            rows = await tx.all(sql, {**params, "limit": limit, "offset": offset})
            meta = await metadata_of(tx, [row["id"] for row in rows])
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
        owner_identity_id: str | None = None,
        profile_ids: Collection[str] | None = None,
        search: str | None = None,
        request_method: RequestMethod | str | None = None,
    ) -> int:
        """How many certificates list_certificates would page through."""
        filters = _filters(
            status,
            profile_id,
            ca_id,
            name_contains,
            expires_before,
            expires_after,
            metadata,
            owner_identity_id,
            profile_ids,
            search,
            request_method,
        )
        text, params = count_sql(filters)
        async with self._read() as tx:
            count = await tx.value(dynamic(text), params)
        return int(count or 0)

    async def list_revoked(self, ca_id: str, *, now: datetime | None = None) -> list[RevokedRow]:
        """The CA's revoked certificates that have not expired by `now` (default: the
        current time), oldest revocation first: the entries of its next CRL."""
        at = utc_now() if now is None else require_utc(now, "now")
        async with self._read() as tx:
            rows = await tx.all(_REVOKED_OF_CA, {"ca_id": ca_id, "now": at})
        return [
            RevokedRow(
                serial_hex=shown_serial(row["serial_hex"]),
                revoked_at=row["revoked_at"],
                reason=RevocationReason(row["revocation_reason"]),
            )
            for row in rows
        ]
