"""Frozen rows as the store hands them out. Every datetime is timezone-aware UTC.

Enum-valued fields hold the `policy.model` StrEnum members, which compare equal to their
string values ("active" == CertificateStatus.ACTIVE).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from policy.model import CertificateStatus, IssuerType, RequestMethod, RevocationReason

CAKind = Literal["root", "intermediate"]
CAStatus = Literal["active", "disabled"]
RequestStatus = Literal["pending", "issued", "failed"]


@dataclass(frozen=True, slots=True)
class CARecord:
    id: str
    name: str
    kind: CAKind
    parent_id: str | None
    status: CAStatus
    subject: str
    key_algorithm: str
    hash_algorithm: str
    certificate_pem: str
    chain_pem: str
    encrypted_key: bytes
    serial_hex: str
    not_before: datetime
    not_after: datetime
    crl_number: int
    crl_distribution_url: str
    aia_issuer_url: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class PolicyRecord:
    id: str
    name: str
    description: str
    rules: dict[str, Any]
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class ProfileRecord:
    id: str
    slug: str
    name: str
    description: str
    policy_id: str
    issuer_type: IssuerType
    ca_id: str | None
    enrollment: dict[str, Any]
    defaults: dict[str, Any]
    auto_renew: bool
    renew_before_days: int
    is_default: bool
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class CertificateRecord:
    id: str
    serial_hex: str
    status: CertificateStatus
    profile_id: str | None
    ca_id: str | None
    request_method: RequestMethod
    common_name: str
    subject: str
    sans: list[dict[str, str]]
    key_algorithm: str
    hash_algorithm: str
    not_before: datetime
    not_after: datetime
    certificate_pem: str
    chain_pem: str
    fingerprint_sha256: str
    encrypted_private_key: bytes | None
    friendly_name: str
    metadata: dict[str, str]
    renewed_from_id: str | None
    renewed_by_id: str | None
    auto_renew: bool
    revoked_at: datetime | None
    revocation_reason: RevocationReason | None
    certificate_request_id: str | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class RevokedRow:
    """One entry of a CRL's revokedCertificates list."""

    serial_hex: str
    revoked_at: datetime
    reason: RevocationReason


@dataclass(frozen=True, slots=True)
class CertificateRequestRecord:
    id: str
    profile_id: str | None
    method: RequestMethod
    csr_pem: str | None
    attributes: dict[str, Any]
    metadata: dict[str, str]
    status: RequestStatus
    certificate_id: str | None
    error: str | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class CRLRecord:
    id: str
    ca_id: str
    number: int
    der: bytes
    this_update: datetime
    next_update: datetime
    created_at: datetime
