"""The certificate inventory: list and filter, describe one certificate (parsing its PEM),
replace its metadata, delete it, the latest active certificate of a profile, and the
certificate requests behind them.

Status: the store marks certificates `expired` lazily, so listing first catches statuses up
(`expire_certificates`, an idempotent conditional write) and a description shows
`effective_status`, never "active" past notAfter.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from cryptography import x509
from cryptography.x509.oid import SignatureAlgorithmOID

from acme_server.services.certificates.enrollment import checked_metadata
from acme_server.services.context import Services
from acme_server.services.errors import ConflictError, InvalidRequestError, NotFoundError
from acme_server.services.events import CertificateDeleted
from ca_core.errors import CAError
from ca_core.extensions import basic_constraints, extended_key_usages_of, key_usages_of
from ca_core.fingerprints import sha1_fingerprint, sha256_fingerprint
from ca_core.names import name_to_subject
from pki_types.model import (
    CertificateStatus,
    RequestMethod,
    SignatureAlgorithm,
    SubjectAttributes,
)
from store import (
    CARecord,
    CertificateRecord,
    CertificateRequestRecord,
    NotFound,
    ProfileRecord,
)

SORT_COLUMNS = ("created_at", "not_after", "common_name")
LIST_LIMIT_MAX = 100
REQUEST_STATUSES = ("pending", "issued", "failed")
_SIGNATURES: dict[x509.ObjectIdentifier, SignatureAlgorithm] = {
    SignatureAlgorithmOID.RSA_WITH_SHA256: SignatureAlgorithm.RSA_SHA256,
    SignatureAlgorithmOID.RSA_WITH_SHA384: SignatureAlgorithm.RSA_SHA384,
    SignatureAlgorithmOID.RSA_WITH_SHA512: SignatureAlgorithm.RSA_SHA512,
    SignatureAlgorithmOID.ECDSA_WITH_SHA256: SignatureAlgorithm.ECDSA_SHA256,
    SignatureAlgorithmOID.ECDSA_WITH_SHA384: SignatureAlgorithm.ECDSA_SHA384,
    SignatureAlgorithmOID.ECDSA_WITH_SHA512: SignatureAlgorithm.ECDSA_SHA512,
}


@dataclass(frozen=True, slots=True)
class CertificateQuery:
    """Every given filter must hold. `search`: a case-insensitive part of the common name,
    the friendly name or any SAN value; `request_method`: how the certificate was enrolled;
    `expires_within`: notAfter between now and now + it; `profile_ids`: only the
    certificates of these profiles (the caller's reach: access.profile_filter; None: every
    profile)."""

    status: CertificateStatus | None = None
    profile_id: str | None = None
    ca_id: str | None = None
    search: str | None = None
    request_method: RequestMethod | None = None
    expires_within: timedelta | None = None
    metadata: Mapping[str, str] = field(default_factory=dict)
    profile_ids: tuple[str, ...] | None = None
    limit: int = 25
    offset: int = 0
    order_by: str = "created_at"
    descending: bool = True


@dataclass(frozen=True, slots=True)
class CertificateDetails:
    """A certificate as its details page shows it; the parsed fields are None while the
    certificate is pending (reserved, not signed)."""

    record: CertificateRecord
    status: CertificateStatus
    ca: CARecord | None
    profile: ProfileRecord | None
    subject: SubjectAttributes | None
    subject_dn: str
    issuer_dn: str | None
    is_ca: bool | None
    path_length: int | None
    key_usages: tuple[str, ...] | None
    extended_key_usages: tuple[str, ...] | None
    signature_algorithm: str | None
    sha256_fingerprint: str | None
    sha1_fingerprint: str | None


def effective_status(record: CertificateRecord, now: datetime) -> CertificateStatus:
    if record.status == CertificateStatus.ACTIVE and record.not_after <= now:
        return CertificateStatus.EXPIRED
    return record.status


def signature_algorithm_name(cert: x509.Certificate) -> str:
    """ "RSA-SHA256", "ECDSA-SHA384", ...; the dotted OID for anything else."""
    oid = cert.signature_algorithm_oid
    known = _SIGNATURES.get(oid)
    return known.value if known is not None else oid.dotted_string


async def list_certificates(
    services: Services, query: CertificateQuery, now: datetime
) -> tuple[list[CertificateRecord], int]:
    """One page and the total count of certificates matching `query`."""
    if not 1 <= query.limit <= LIST_LIMIT_MAX or query.offset < 0:
        raise InvalidRequestError(f"limit must be 1-{LIST_LIMIT_MAX} and offset at least 0")
    if query.order_by not in SORT_COLUMNS:
        raise InvalidRequestError(f"sort by one of {', '.join(SORT_COLUMNS)}")
    await services.store.expire_certificates(now=now)
    within = query.expires_within
    filters: dict[str, Any] = {
        "status": query.status,
        "profile_id": query.profile_id,
        "ca_id": query.ca_id,
        "search": query.search or None,
        "request_method": query.request_method,
        "expires_after": now if within is not None else None,
        "expires_before": now + within if within is not None else None,
        "metadata": checked_metadata(query.metadata) or None,
        "profile_ids": query.profile_ids,
    }
    rows = await services.store.list_certificates(
        **filters,
        limit=query.limit,
        offset=query.offset,
        order_by=query.order_by,
        descending=query.descending,
    )
    return rows, await services.store.count_certificates(**filters)


async def _optional_ca(services: Services, ca_id: str | None) -> CARecord | None:
    if ca_id is None:
        return None
    try:
        return await services.store.get_ca(ca_id)
    except NotFound:
        return None


async def _optional_profile(services: Services, profile_id: str | None) -> ProfileRecord | None:
    if profile_id is None:
        return None
    try:
        return await services.store.get_profile(profile_id)
    except NotFound:
        return None


async def describe(
    services: Services, record: CertificateRecord, now: datetime
) -> CertificateDetails:
    ca = await _optional_ca(services, record.ca_id)
    profile = await _optional_profile(services, record.profile_id)
    status = effective_status(record, now)
    if not record.certificate_pem:
        return CertificateDetails(
            record=record, status=status, ca=ca, profile=profile, subject=None,
            subject_dn=record.subject, issuer_dn=None, is_ca=None, path_length=None,
            key_usages=None, extended_key_usages=None, signature_algorithm=None,
            sha256_fingerprint=None, sha1_fingerprint=None,
        )  # fmt: skip
    cert = x509.load_pem_x509_certificate(record.certificate_pem.encode())
    constraints = basic_constraints(cert)
    try:
        ku = cert.extensions.get_extension_for_class(x509.KeyUsage).value
        key_usages = tuple(sorted(u.value for u in key_usages_of(ku)))
    except x509.ExtensionNotFound:
        key_usages = ()
    try:
        eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
        ekus = tuple(sorted(u.value for u in extended_key_usages_of(eku)))
    except x509.ExtensionNotFound:
        ekus = ()
    except CAError:
        ekus = tuple(oid.dotted_string for oid in eku)
    try:
        subject: SubjectAttributes | None = name_to_subject(cert.subject)
    except CAError:
        subject = None
    return CertificateDetails(
        record=record,
        status=status,
        ca=ca,
        profile=profile,
        subject=subject,
        subject_dn=cert.subject.rfc4514_string(),
        issuer_dn=cert.issuer.rfc4514_string(),
        is_ca=constraints.ca if constraints is not None else False,
        path_length=constraints.path_length if constraints is not None else None,
        key_usages=key_usages,
        extended_key_usages=ekus,
        signature_algorithm=signature_algorithm_name(cert),
        sha256_fingerprint=sha256_fingerprint(cert),
        sha1_fingerprint=sha1_fingerprint(cert),
    )


async def set_metadata(
    services: Services, record: CertificateRecord, metadata: Mapping[str, str]
) -> CertificateRecord:
    """Replace the certificate's metadata (its request's metadata stays as it was)."""
    return await services.store.set_certificate_metadata(record.id, checked_metadata(metadata))


async def delete_certificate(services: Services, record: CertificateRecord, now: datetime) -> None:
    """Remove a certificate from the inventory. This does NOT revoke it: revoke first if it
    must stop being trusted. A revoked certificate stays until it expires (its CRL entries
    come from the inventory), and a pending one (perhaps signed) must be revoked instead."""
    if record.status == CertificateStatus.PENDING:
        raise ConflictError(
            f"certificate {record.id} is pending (it may have been signed): revoke it instead"
        )
    if record.status == CertificateStatus.REVOKED and record.not_after > now:
        raise ConflictError(
            f"certificate {record.id} is revoked and must stay on its CA's CRL until it expires "
            f"at {record.not_after.isoformat()}"
        )
    try:
        await services.store.delete_certificate(record.id)
    except NotFound:
        raise NotFoundError(f"no certificate with id {record.id!r}") from None
    services.events.publish(CertificateDeleted.of(record, status=record.status))


async def latest_active(
    services: Services, profile: ProfileRecord, now: datetime
) -> CertificateRecord:
    """The profile's newest active, unrevoked, unexpired certificate; NotFoundError if
    none."""
    rows = await services.store.list_certificates(
        profile_id=profile.id,
        status=CertificateStatus.ACTIVE,
        expires_after=now + timedelta(seconds=1),
        order_by="created_at",
        descending=True,
        limit=1,
    )
    if not rows:
        raise NotFoundError(f"profile {profile.slug!r} has no active certificate")
    return rows[0]


def no_request(request_id: str) -> NotFoundError:
    """The answer for a request that is missing, or that the caller may not see."""
    return NotFoundError(f"no certificate request with id {request_id!r}")


async def find_request(services: Services, request_id: str) -> CertificateRequestRecord:
    try:
        return await services.store.get_certificate_request(request_id)
    except NotFound:
        raise no_request(request_id) from None


async def list_requests(
    services: Services,
    *,
    profile_id: str | None,
    status: str | None,
    metadata: Mapping[str, str],
    limit: int,
    offset: int,
    profile_ids: tuple[str, ...] | None = None,
) -> tuple[list[CertificateRequestRecord], int]:
    """One page (newest first) and the total count of requests matching every filter
    (`profile_ids`: only the requests of these profiles; None: every profile)."""
    if not 1 <= limit <= LIST_LIMIT_MAX or offset < 0:
        raise InvalidRequestError(f"limit must be 1-{LIST_LIMIT_MAX} and offset at least 0")
    if status is not None and status not in REQUEST_STATUSES:
        raise InvalidRequestError(f"status must be one of {', '.join(REQUEST_STATUSES)}")
    wanted = checked_metadata(metadata) or None
    rows = await services.store.list_certificate_requests(
        profile_id=profile_id,
        status=status,
        metadata=wanted,
        profile_ids=profile_ids,
        limit=limit,
        offset=offset,
    )
    total = await services.store.count_certificate_requests(
        profile_id=profile_id, status=status, metadata=wanted, profile_ids=profile_ids
    )
    return rows, total
