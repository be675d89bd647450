"""Certificate rows to records, and the metadata rows that go with them (one row per
key in certificate_metadata): shared by the certificate and renewal queries."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from pki_types.model import CertificateStatus, RequestMethod, RevocationReason
from store.base import insert_sql
from store.db import Row, Sql, Tx, dynamic, in_list
from store.records import CertificateRecord
from store.schema import certificate_metadata as cert_meta
from store.values import shown_serial

_INSERT_METADATA: Sql = insert_sql(cert_meta)
_METADATA_OF_ONE = Sql(
    'SELECT certificate_id, "key", value FROM certificate_metadata '
    'WHERE certificate_id = :id ORDER BY "key"'
)


def certificate_record(row: Row, metadata: Mapping[str, str]) -> CertificateRecord:
    reason = row["revocation_reason"]
    key = row["encrypted_private_key"]
    return CertificateRecord(
        id=row["id"],
        serial_hex=shown_serial(row["serial_hex"]),
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
        renewal_status=row["renewal_status"],
        renewal_error=row["renewal_error"],
        renewal_attempts=int(row["renewal_attempts"] or 0),
        next_renewal_at=row["next_renewal_at"],
        expiry_warned_at=row["expiry_warned_at"],
        owner_identity_id=row["owner_identity_id"],
        internal=bool(row["internal"]),
    )


def joined_record(rows: Sequence[Row]) -> CertificateRecord | None:
    """The record from the rows of a certificate LEFT JOIN its metadata (metadata_key,
    metadata_value; one row per key), None for none."""
    if not rows:
        return None
    metadata = {
        row["metadata_key"]: row["metadata_value"]
        for row in rows
        if row["metadata_key"] is not None
    }
    return certificate_record(rows[0], metadata)


def written_metadata(metadata: Mapping[str, str]) -> dict[str, str]:
    """The metadata just written, in the key order a read returns it."""
    return dict(sorted(metadata.items()))


async def metadata_of(tx: Tx, ids: Sequence[str]) -> dict[str, dict[str, str]]:
    found: dict[str, dict[str, str]] = {cert_id: {} for cert_id in ids}
    if len(found) == 1:
        (only,) = found
        rows = await tx.all(_METADATA_OF_ONE, {"id": only})
    elif found:
        placeholders, params = in_list("c", found)
        sql = dynamic(
            'SELECT certificate_id, "key", value FROM certificate_metadata '
            f'WHERE certificate_id IN {placeholders} ORDER BY "key"'
        )
        rows = await tx.all(sql, params)
    else:
        return found
    for row in rows:
        found[row["certificate_id"]][row["key"]] = row["value"]
    return found


async def insert_metadata(tx: Tx, cert_id: str, metadata: Mapping[str, str]) -> None:
    await tx.run_many(
        _INSERT_METADATA,
        [{"certificate_id": cert_id, "key": k, "value": v} for k, v in metadata.items()],
    )
