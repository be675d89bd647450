"""ACME (RFC 8555) tables, the validation work queue, API identities, audit and leases.

ACME queries live in queries/acme_*.py and queries/validation_jobs.py; identities, audit
and leases get theirs later (the tables exist so the first migration holds the whole
schema). Import tables through `store.schema`.
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)

from store.columns import UtcDateTime, json_type
from store.schema_common import ID, created_column, id_column, metadata, updated_column

# -- ACME (RFC 8555) ---------------------------------------------------------------------

# RFC 8555 section 7.3.4: key id (the "kid" clients send) -> HMAC key, per profile.
acme_eab_keys = Table(
    "acme_eab_keys",
    metadata,
    Column("id", String(255), primary_key=True),
    Column(
        "profile_id",
        String(ID),
        ForeignKey("certificate_profiles.id", name="fk_acme_eab_keys_profile_id"),
        nullable=False,
    ),
    Column("encrypted_hmac_key", LargeBinary, nullable=False),
    Column("hmac_alg", String(16), nullable=False),
    Column("reusable", Boolean, nullable=False),
    Column("used_at", UtcDateTime(), nullable=True),
    Column("bound_account_id", String(ID), nullable=True),
    created_column(),
    Column("revoked_at", UtcDateTime(), nullable=True),
    Index("ix_acme_eab_keys_profile_id", "profile_id"),
    Index("ix_acme_eab_keys_bound_account_id", "bound_account_id"),
)

# Section 7.1.2; an account key is unique per profile (7.3.1 finds accounts by key, 7.3.5
# refuses a keyChange to a key in use).
acme_accounts = Table(
    "acme_accounts",
    metadata,
    id_column(),
    Column(
        "profile_id",
        String(ID),
        ForeignKey("certificate_profiles.id", name="fk_acme_accounts_profile_id"),
        nullable=False,
    ),
    Column("jwk_thumbprint", String(128), nullable=False),
    Column("jwk", json_type(), nullable=False),
    Column("contact", json_type(), nullable=False),
    Column("status", String(16), nullable=False),
    Column("terms_of_service_agreed", Boolean, nullable=False),
    Column(
        "eab_key_id",
        String(255),
        ForeignKey("acme_eab_keys.id", name="fk_acme_accounts_eab_key_id"),
        nullable=True,
    ),
    created_column(),
    updated_column(),
    UniqueConstraint(
        "profile_id", "jwk_thumbprint", name="uq_acme_accounts_profile_id_jwk_thumbprint"
    ),
    Index("ix_acme_accounts_eab_key_id", "eab_key_id"),
)

# Section 7.1.3; `replaces` is the ARI certID (RFC 9773 section 5) of the certificate renewed.
acme_orders = Table(
    "acme_orders",
    metadata,
    id_column(),
    Column(
        "account_id",
        String(ID),
        ForeignKey("acme_accounts.id", name="fk_acme_orders_account_id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column(
        "profile_id",
        String(ID),
        ForeignKey("certificate_profiles.id", name="fk_acme_orders_profile_id"),
        nullable=False,
    ),
    Column("status", String(16), nullable=False),
    Column("expires", UtcDateTime(), nullable=False),
    Column("not_before", UtcDateTime(), nullable=True),
    Column("not_after", UtcDateTime(), nullable=True),
    Column("identifiers", json_type(), nullable=False),
    Column("error", json_type(nullable=True), nullable=True),
    Column(
        "certificate_id",
        String(ID),
        ForeignKey("certificates.id", name="fk_acme_orders_certificate_id", ondelete="SET NULL"),
        nullable=True,
    ),
    Column("replaces", String(255), nullable=True),
    created_column(),
    updated_column(),
    Index("ix_acme_orders_account_id_created_at", "account_id", "created_at"),
    Index("ix_acme_orders_profile_id", "profile_id"),
    Index("ix_acme_orders_certificate_id", "certificate_id"),
    Index("ix_acme_orders_replaces", "replaces"),
    Index("ix_acme_orders_expires", "expires"),
    # Only the orders in finalize: the recovery sweep's scan (store/queries/finalize_recovery.py)
    Index(
        "ix_acme_orders_processing",
        "updated_at",
        sqlite_where=text("status = 'processing'"),
        postgresql_where=text("status = 'processing'"),
    ),
)

# Section 7.1.4; reused across orders of one account, hence the association table.
acme_authorizations = Table(
    "acme_authorizations",
    metadata,
    id_column(),
    Column(
        "account_id",
        String(ID),
        ForeignKey(
            "acme_accounts.id", name="fk_acme_authorizations_account_id", ondelete="CASCADE"
        ),
        nullable=False,
    ),
    Column("identifier_type", String(16), nullable=False),
    Column("identifier_value", String(255), nullable=False),
    Column("wildcard", Boolean, nullable=False),
    Column("status", String(16), nullable=False),
    Column("expires", UtcDateTime(), nullable=False),
    created_column(),
    updated_column(),
    Index(
        "ix_acme_authorizations_account_id_identifier",
        "account_id",
        "identifier_type",
        "identifier_value",
    ),
    Index("ix_acme_authorizations_expires", "expires"),
)

acme_order_authorizations = Table(
    "acme_order_authorizations",
    metadata,
    Column(
        "order_id",
        String(ID),
        ForeignKey(
            "acme_orders.id", name="fk_acme_order_authorizations_order_id", ondelete="CASCADE"
        ),
        nullable=False,
    ),
    Column(
        "authorization_id",
        String(ID),
        ForeignKey(
            "acme_authorizations.id",
            name="fk_acme_order_authorizations_authorization_id",
            ondelete="CASCADE",
        ),
        nullable=False,
    ),
    PrimaryKeyConstraint("order_id", "authorization_id", name="pk_acme_order_authorizations"),
    Index("ix_acme_order_authorizations_authorization_id", "authorization_id"),
)

# Section 7.1.5 and 8; one challenge of each type per authorization.
acme_challenges = Table(
    "acme_challenges",
    metadata,
    id_column(),
    Column(
        "authorization_id",
        String(ID),
        ForeignKey(
            "acme_authorizations.id",
            name="fk_acme_challenges_authorization_id",
            ondelete="CASCADE",
        ),
        nullable=False,
    ),
    Column("type", String(32), nullable=False),
    Column("token", String(255), nullable=False),
    Column("status", String(16), nullable=False),
    Column("validated_at", UtcDateTime(), nullable=True),
    Column("error", json_type(nullable=True), nullable=True),
    created_column(),
    updated_column(),
    UniqueConstraint("authorization_id", "type", name="uq_acme_challenges_authorization_id_type"),
)

# Section 6.5: a row per USED nonce (the insert succeeds once, across all processes);
# issued nonces are not stored (acme_server/acme/nonces.py), expired rows are purged.
acme_nonces = Table(
    "acme_nonces",
    metadata,
    Column("value", String(128), primary_key=True),
    Column("expires_at", UtcDateTime(), nullable=False),
    Index("ix_acme_nonces_expires_at", "expires_at"),
)

# -- work queue, API identities, audit, singletons --------------------------------------

# Claimed with a lease (claimed_by/claimed_until); an expired lease is claimable again.
validation_jobs = Table(
    "validation_jobs",
    metadata,
    id_column(),
    Column(
        "challenge_id",
        String(ID),
        ForeignKey(
            "acme_challenges.id", name="fk_validation_jobs_challenge_id", ondelete="CASCADE"
        ),
        nullable=False,
    ),
    Column("status", String(16), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("claimed_by", String(255), nullable=True),
    Column("claimed_until", UtcDateTime(), nullable=True),
    Column("run_after", UtcDateTime(), nullable=False),
    Column("last_error", Text, nullable=True),
    created_column(),
    updated_column(),
    Index("ix_validation_jobs_status_run_after", "status", "run_after"),
    Index("ix_validation_jobs_challenge_id", "challenge_id"),
)

machine_identities = Table(
    "machine_identities",
    metadata,
    id_column(),
    Column("name", String(255), nullable=False),
    Column("client_id", String(255), nullable=False),
    Column("secret_hash", Text, nullable=False),
    Column("disabled", Boolean, nullable=False),
    created_column(),
    # admin | issuer | reader | auditor (acme_server/services/roles.py). The default is for
    # the rows made before roles (0005), which keep doing everything; the store always
    # writes a role.
    Column("role", String(16), nullable=False, server_default="admin"),
    # The profiles an issuer or reader reaches (0006): a JSON array of profile ids; NULL
    # for every profile.
    Column("profile_grants", Text, nullable=True),
    UniqueConstraint("client_id", name="uq_machine_identities_client_id"),
)

access_tokens = Table(
    "access_tokens",
    metadata,
    id_column(),
    Column(
        "identity_id",
        String(ID),
        ForeignKey(
            "machine_identities.id", name="fk_access_tokens_identity_id", ondelete="CASCADE"
        ),
        nullable=False,
    ),
    Column("token_hash", String(128), nullable=False),
    Column("expires_at", UtcDateTime(), nullable=False),
    Column("revoked_at", UtcDateTime(), nullable=True),
    created_column(),
    UniqueConstraint("token_hash", name="uq_access_tokens_token_hash"),
    Index("ix_access_tokens_identity_id", "identity_id"),
    Index("ix_access_tokens_expires_at", "expires_at"),
)

# A client certificate that logs a machine identity in (proof of possession of its key).
# `pending` until its first login (a rotation's new certificate); `replaces_id` is the
# binding it supersedes; `csr_sha256` makes a replayed rotation answer the same certificate.
identity_certificates = Table(
    "identity_certificates",
    metadata,
    id_column(),
    Column(
        "identity_id",
        String(ID),
        ForeignKey(
            "machine_identities.id",
            name="fk_identity_certificates_identity_id",
            ondelete="CASCADE",
        ),
        nullable=False,
    ),
    Column(
        "certificate_id",
        String(ID),
        ForeignKey(
            "certificates.id", name="fk_identity_certificates_certificate_id", ondelete="CASCADE"
        ),
        nullable=False,
    ),
    Column("serial_hex", String(64), nullable=False),
    Column("fingerprint_sha256", String(128), nullable=False),
    Column("not_after", UtcDateTime(), nullable=False),
    Column("state", String(16), nullable=False),
    Column("replaces_id", String(ID), nullable=True),
    Column("csr_sha256", String(64), nullable=True),
    Column("first_used_at", UtcDateTime(), nullable=True),
    created_column(),
    UniqueConstraint("fingerprint_sha256", name="uq_identity_certificates_fingerprint_sha256"),
    UniqueConstraint("replaces_id", "csr_sha256", name="uq_identity_certificates_rotation"),
    CheckConstraint("state IN ('active', 'pending', 'revoked')", name="state"),
    Index("ix_identity_certificates_identity_id", "identity_id"),
    Index("ix_identity_certificates_replaces_id", "replaces_id"),
)

audit_log = Table(
    "audit_log",
    metadata,
    id_column(),
    Column("at", UtcDateTime(), nullable=False),
    Column("actor", String(255), nullable=False),
    Column("action", String(64), nullable=False),
    Column("target_type", String(64), nullable=False),
    Column("target_id", String(255), nullable=True),
    Column("details", json_type(), nullable=False),
    Index("ix_audit_log_at", "at"),
    Index("ix_audit_log_target", "target_type", "target_id"),
)

# Singletons (CRL regeneration, the renewal scheduler): a named row with a holder and expiry.
leases = Table(
    "leases",
    metadata,
    Column("name", String(128), primary_key=True),
    Column("holder", String(255), nullable=False),
    Column("expires_at", UtcDateTime(), nullable=False),
)
