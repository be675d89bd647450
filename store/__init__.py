"""Persistence: one schema, migrations, SQLite and PostgreSQL backends.

store = await open_store("sqlite:////var/lib/kms/kms.db")
cert = await store.reserve_certificate(...)   # pending, before signing
await store.activate_certificate(cert.id, ...)  # True once, then False
"""

from store.interface import UNSET, Backend, Conflict, NotFound, StoreError, Unset
from store.records import (
    AccessTokenRecord,
    AccountRecord,
    AccountStatus,
    AuditRecord,
    AuthorizationRecord,
    AuthorizationStatus,
    CAKind,
    CARecord,
    CAStatus,
    CertificateRecord,
    CertificateRequestRecord,
    ChallengeRecord,
    ChallengeStatus,
    CRLRecord,
    EABKeyRecord,
    IdentityRecord,
    NewAuthorization,
    NewChallenge,
    OrderRecord,
    OrderStatus,
    PolicyRecord,
    ProfileRecord,
    RequestStatus,
    RevokedRow,
    ValidationJobRecord,
    ValidationJobStatus,
)
from store.store import Store, open_store

__all__ = [
    "UNSET",
    "AccessTokenRecord",
    "AccountRecord",
    "AccountStatus",
    "AuditRecord",
    "AuthorizationRecord",
    "AuthorizationStatus",
    "Backend",
    "CAKind",
    "CARecord",
    "CAStatus",
    "CRLRecord",
    "CertificateRecord",
    "CertificateRequestRecord",
    "ChallengeRecord",
    "ChallengeStatus",
    "Conflict",
    "EABKeyRecord",
    "IdentityRecord",
    "NewAuthorization",
    "NewChallenge",
    "NotFound",
    "OrderRecord",
    "OrderStatus",
    "PolicyRecord",
    "ProfileRecord",
    "RequestStatus",
    "RevokedRow",
    "Store",
    "StoreError",
    "Unset",
    "ValidationJobRecord",
    "ValidationJobStatus",
    "open_store",
]
