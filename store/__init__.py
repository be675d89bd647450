"""Persistence: one schema, migrations, SQLite and PostgreSQL backends.

store = await open_store("sqlite:////var/lib/kms/kms.db")
cert = await store.reserve_certificate(...)   # pending, before signing
await store.activate_certificate(cert.id, ...)  # True once, then False
"""

from store.interface import UNSET, Backend, Conflict, NotFound, StoreError, Unset
from store.records import (
    CAKind,
    CARecord,
    CAStatus,
    CertificateRecord,
    CertificateRequestRecord,
    CRLRecord,
    PolicyRecord,
    ProfileRecord,
    RequestStatus,
    RevokedRow,
)
from store.store import Store, open_store

__all__ = [
    "UNSET",
    "Backend",
    "CAKind",
    "CARecord",
    "CAStatus",
    "CRLRecord",
    "CertificateRecord",
    "CertificateRequestRecord",
    "Conflict",
    "NotFound",
    "PolicyRecord",
    "ProfileRecord",
    "RequestStatus",
    "RevokedRow",
    "Store",
    "StoreError",
    "Unset",
    "open_store",
]
