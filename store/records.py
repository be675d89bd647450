"""Frozen rows as the store hands them out. Every datetime is timezone-aware UTC.

Enum-valued fields hold the `pki_types.model` StrEnum members, which compare equal to their
string values ("active" == CertificateStatus.ACTIVE). Every `serial_hex` is in the form
openssl prints (pki_types.serials: "0E85DF..."), whatever the column holds (the lookup key,
values.normalise_serial).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from pki_types.model import CertificateStatus, IssuerType, RequestMethod, RevocationReason

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
    # Server-driven renewal: "failed" (with the error) or "renewed"; None before any attempt.
    renewal_status: str | None = None
    renewal_error: str | None = None
    renewal_attempts: int = 0
    next_renewal_at: datetime | None = None  # the next retry after a failure
    expiry_warned_at: datetime | None = None
    # The machine identity it belongs to: the one whose REST request issued it, or the one
    # it is bound to as a client certificate. None: issued by ACME or the CLI (admins only).
    owner_identity_id: str | None = None
    # The server's own certificate (its TLS certificate): its key never leaves the server.
    internal: bool = False


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
    owner_identity_id: str | None = None  # the machine identity that asked, if one did


@dataclass(frozen=True, slots=True)
class CRLRecord:
    id: str
    ca_id: str
    number: int
    der: bytes
    this_update: datetime
    next_update: datetime
    created_at: datetime


# -- ACME (RFC 8555) -------------------------------------------------------------------

AccountStatus = Literal["valid", "deactivated", "revoked"]  # section 7.1.6
OrderStatus = Literal["pending", "ready", "processing", "valid", "invalid"]
AuthorizationStatus = Literal["pending", "valid", "invalid", "deactivated", "expired", "revoked"]
ChallengeStatus = Literal["pending", "processing", "valid", "invalid"]
ValidationJobStatus = Literal["queued", "running", "done"]


@dataclass(frozen=True, slots=True)
class AccountRecord:
    id: str
    profile_id: str
    jwk_thumbprint: str
    jwk: dict[str, Any]
    contact: list[str]
    status: AccountStatus
    terms_of_service_agreed: bool
    eab_key_id: str | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class EABKeyRecord:
    """An External Account Binding key (section 7.3.4); `id` is the kid clients send."""

    id: str
    profile_id: str
    encrypted_hmac_key: bytes
    hmac_alg: str
    reusable: bool
    used_at: datetime | None
    bound_account_id: str | None
    created_at: datetime
    revoked_at: datetime | None


@dataclass(frozen=True, slots=True)
class ChallengeRecord:
    id: str
    authorization_id: str
    type: str
    token: str
    status: ChallengeStatus
    validated_at: datetime | None
    error: dict[str, Any] | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class AuthorizationRecord:
    """`identifier_value` is the name without "*." when `wildcard` (section 7.1.4);
    `challenges` are sorted by type."""

    id: str
    account_id: str
    identifier_type: str
    identifier_value: str
    wildcard: bool
    status: AuthorizationStatus
    expires: datetime
    challenges: tuple[ChallengeRecord, ...]
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class OrderRecord:
    """`identifiers` as the client asked ({"type", "value"}); `authorization_ids` sorted by
    their identifier (type, value, wildcard)."""

    id: str
    account_id: str
    profile_id: str
    status: OrderStatus
    expires: datetime
    not_before: datetime | None
    not_after: datetime | None
    identifiers: list[dict[str, str]]
    error: dict[str, Any] | None
    certificate_id: str | None
    replaces: str | None
    authorization_ids: tuple[str, ...]
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class ValidationJobRecord:
    id: str
    challenge_id: str
    status: ValidationJobStatus
    attempts: int
    claimed_by: str | None
    claimed_until: datetime | None
    run_after: datetime
    last_error: str | None
    created_at: datetime


# Inputs to create_order: authorizations (with their challenges) to insert.


@dataclass(frozen=True, slots=True)
class NewChallenge:
    type: str
    token: str


@dataclass(frozen=True, slots=True)
class NewAuthorization:
    identifier_type: str
    identifier_value: str
    wildcard: bool
    expires: datetime
    challenges: Sequence[NewChallenge]


# -- REST API: machine identities, access tokens, audit log ------------------------------


@dataclass(frozen=True, slots=True)
class IdentityRecord:
    """A machine identity; `secret_hash` is a slow hash ("scrypt$n$r$p$salt$hash")."""

    id: str
    name: str
    client_id: str
    secret_hash: str
    disabled: bool
    created_at: datetime
    # admin | issuer | reader | auditor: acme_server/services/roles.py says what each may
    # do, acme_server/services/access.py checks it.
    role: str
    # The profile ids an issuer or reader reaches; None: every profile.
    profile_grants: tuple[str, ...] | None = None


@dataclass(frozen=True, slots=True)
class IdentityCertificateRecord:
    """A client certificate bound to a machine identity; `state` is active, pending (a
    rotation's new certificate before its first login) or revoked."""

    id: str
    identity_id: str
    certificate_id: str
    serial_hex: str
    fingerprint_sha256: str
    not_after: datetime
    state: str
    replaces_id: str | None
    csr_sha256: str | None
    first_used_at: datetime | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class AccessTokenRecord:
    """A Bearer token; only the SHA-256 hex of the token is stored."""

    id: str
    identity_id: str
    token_hash: str
    expires_at: datetime
    revoked_at: datetime | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class AuditRecord:
    id: str
    at: datetime
    actor: str
    action: str
    target_type: str
    target_id: str | None
    details: dict[str, Any]


@dataclass(frozen=True, slots=True)
class UserRecord:
    """A human user of the web console; `password_hash` is argon2id (PHC string). Roles
    and grants as IdentityRecord has them."""

    id: str
    name: str
    password_hash: str
    role: str
    profile_grants: tuple[str, ...] | None
    disabled: bool
    must_change_password: bool
    failed_logins: int
    locked_until: datetime | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class SessionRecord:
    """A console sign-in; only the SHA-256 of its cookie is kept."""

    id: str
    user_id: str
    token_hash: str
    csrf_token: str
    last_seen_at: datetime
    expires_at: datetime
    revoked_at: datetime | None
    created_at: datetime
