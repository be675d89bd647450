"""The schema as SQLAlchemy Core tables: the single description queries are written against.

`migrations/versions/` must produce exactly `metadata` (tests compare a migrated database
with it on both backends). Every constraint and index is named, so errors can be mapped to
messages (errors.py) and migrations can refer to them. This module holds the CA, policy,
profile, certificate and CRL tables; schema_acme.py the rest, re-exported here.

Two links are plain indexed columns rather than foreign keys, to avoid reference cycles:
`certificates.certificate_request_id` (the request's `certificate_id` is the enforced link)
and `acme_eab_keys.bound_account_id` (the account's `eab_key_id` is).
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
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
    false,
    text,
)

from store.certificate_filters import LONG_SEARCH, SEARCH_COLUMNS, SHORT_SEARCH
from store.columns import UtcDateTime, json_type
from store.schema_acme import (
    access_tokens,
    acme_accounts,
    acme_authorizations,
    acme_challenges,
    acme_eab_keys,
    acme_nonces,
    acme_order_authorizations,
    acme_orders,
    audit_log,
    identity_certificates,
    leases,
    machine_identities,
    validation_jobs,
)
from store.schema_common import ID, created_column, id_column, metadata, updated_column
from store.schema_users import console_sessions, console_users

__all__ = [
    "access_tokens",
    "acme_accounts",
    "acme_authorizations",
    "acme_challenges",
    "acme_eab_keys",
    "acme_nonces",
    "acme_order_authorizations",
    "acme_orders",
    "audit_log",
    "certificate_authorities",
    "certificate_metadata",
    "certificate_policies",
    "certificate_profiles",
    "certificate_requests",
    "certificates",
    "console_sessions",
    "console_users",
    "crls",
    "identity_certificates",
    "leases",
    "machine_identities",
    "metadata",
    "validation_jobs",
]

# -- the CA hierarchy, policies and profiles --------------------------------------------

certificate_authorities = Table(
    "certificate_authorities",
    metadata,
    id_column(),
    Column("name", String(255), nullable=False),
    Column("kind", String(16), nullable=False),
    Column(
        "parent_id",
        String(ID),
        ForeignKey("certificate_authorities.id", name="fk_certificate_authorities_parent_id"),
        nullable=True,
    ),
    Column("status", String(16), nullable=False),
    Column("subject", Text, nullable=False),
    Column("key_algorithm", String(32), nullable=False),
    Column("hash_algorithm", String(16), nullable=False),
    Column("certificate_pem", Text, nullable=False),
    Column("chain_pem", Text, nullable=False),
    Column("encrypted_key", LargeBinary, nullable=False),
    Column("serial_hex", String(64), nullable=False),
    Column("not_before", UtcDateTime(), nullable=False),
    Column("not_after", UtcDateTime(), nullable=False),
    Column("crl_number", BigInteger, nullable=False),
    Column("crl_distribution_url", Text, nullable=False),
    Column("aia_issuer_url", Text, nullable=False),
    created_column(),
    UniqueConstraint("name", name="uq_certificate_authorities_name"),
    CheckConstraint("kind IN ('root', 'intermediate')", name="kind"),
    CheckConstraint("kind <> 'root' OR parent_id IS NULL", name="root_has_no_parent"),
    CheckConstraint("status IN ('active', 'disabled')", name="status"),
    Index("ix_certificate_authorities_parent_id", "parent_id"),
)

certificate_policies = Table(
    "certificate_policies",
    metadata,
    id_column(),
    Column("name", String(255), nullable=False),
    Column("description", Text, nullable=False),
    Column("rules", json_type(), nullable=False),
    created_column(),
    updated_column(),
    UniqueConstraint("name", name="uq_certificate_policies_name"),
)

certificate_profiles = Table(
    "certificate_profiles",
    metadata,
    id_column(),
    Column("slug", String(64), nullable=False),
    Column("name", String(255), nullable=False),
    Column("description", Text, nullable=False),
    Column(
        "policy_id",
        String(ID),
        ForeignKey("certificate_policies.id", name="fk_certificate_profiles_policy_id"),
        nullable=False,
    ),
    Column("issuer_type", String(16), nullable=False),
    Column(
        "ca_id",
        String(ID),
        ForeignKey("certificate_authorities.id", name="fk_certificate_profiles_ca_id"),
        nullable=True,
    ),
    Column("enrollment", json_type(), nullable=False),
    Column("defaults", json_type(), nullable=False),
    Column("auto_renew", Boolean, nullable=False),
    Column("renew_before_days", Integer, nullable=False),
    Column("is_default", Boolean, nullable=False),
    created_column(),
    updated_column(),
    UniqueConstraint("slug", name="uq_certificate_profiles_slug"),
    CheckConstraint(
        "(issuer_type = 'ca' AND ca_id IS NOT NULL)"
        " OR (issuer_type = 'self_signed' AND ca_id IS NULL)",
        name="issuer",
    ),
    CheckConstraint("renew_before_days >= 0", name="renew_before_days"),
    Index("ix_certificate_profiles_policy_id", "policy_id"),
    Index("ix_certificate_profiles_ca_id", "ca_id"),
    # At most one default profile: a partial unique index over the TRUE rows only.
    Index(
        "uq_certificate_profiles_one_default",
        "is_default",
        unique=True,
        sqlite_where=text("is_default = 1"),
        postgresql_where=text("is_default"),
    ),
)

# -- certificates ----------------------------------------------------------------------

certificates = Table(
    "certificates",
    metadata,
    id_column(),
    Column("serial_hex", String(64), nullable=False),
    Column("status", String(16), nullable=False),
    Column(
        "profile_id",
        String(ID),
        ForeignKey(
            "certificate_profiles.id", name="fk_certificates_profile_id", ondelete="SET NULL"
        ),
        nullable=True,
    ),
    Column(
        "ca_id",
        String(ID),
        ForeignKey("certificate_authorities.id", name="fk_certificates_ca_id"),
        nullable=True,
    ),
    Column("request_method", String(16), nullable=False),
    Column("common_name", String(255), nullable=False),
    Column("subject", Text, nullable=False),
    Column("sans", json_type(), nullable=False),
    Column("key_algorithm", String(32), nullable=False),
    Column("hash_algorithm", String(16), nullable=False),
    Column("not_before", UtcDateTime(), nullable=False),
    Column("not_after", UtcDateTime(), nullable=False),
    Column("certificate_pem", Text, nullable=False),
    Column("chain_pem", Text, nullable=False),
    Column("fingerprint_sha256", String(128), nullable=False),
    Column("encrypted_private_key", LargeBinary, nullable=True),
    Column("friendly_name", String(255), nullable=False),
    Column(
        "renewed_from_id",
        String(ID),
        ForeignKey("certificates.id", name="fk_certificates_renewed_from_id", ondelete="SET NULL"),
        nullable=True,
    ),
    Column(
        "renewed_by_id",
        String(ID),
        ForeignKey("certificates.id", name="fk_certificates_renewed_by_id", ondelete="SET NULL"),
        nullable=True,
    ),
    Column("auto_renew", Boolean, nullable=False),
    Column("revoked_at", UtcDateTime(), nullable=True),
    Column("revocation_reason", String(32), nullable=True),
    Column("certificate_request_id", String(ID), nullable=True),
    # Server-driven renewal (0002): the last failure, attempts since the last success and
    # when the scheduler tries again; when the expiry warning was sent.
    Column("renewal_status", String(16), nullable=True),
    Column("renewal_error", Text, nullable=True),
    Column("renewal_attempts", Integer, nullable=False, server_default=text("0")),
    Column("next_renewal_at", UtcDateTime(), nullable=True),
    Column("expiry_warned_at", UtcDateTime(), nullable=True),
    # The machine identity it belongs to (0005); no foreign key: identities are disabled,
    # never deleted. NULL for ACME and CLI certificates, which only admins see over REST.
    Column("owner_identity_id", String(ID), nullable=True),
    # The server's own certificates (0006: its TLS certificate): the key never leaves it.
    Column("internal", Boolean, nullable=False, server_default=false()),
    # The common name, friendly name and SAN values, lower-cased, one per line (0008): a
    # search is one LIKE over a narrow covering index on both backends, instead of
    # lower() of three columns and the JSON of every (wide) row.
    Column("search_text", Text, nullable=False, server_default=text("''")),
    created_column(),
    updated_column(),
    UniqueConstraint("serial_hex", name="uq_certificates_serial_hex"),
    Index("ix_certificates_status", "status"),
    Index("ix_certificates_profile_id", "profile_id"),
    Index("ix_certificates_ca_id_status", "ca_id", "status"),
    # 0008: with the id, so a page ordered by "<column>, id" is read from the index alone
    Index("ix_certificates_not_after_id", "not_after", "id"),
    Index("ix_certificates_created_at_id", "created_at", "id"),
    Index("ix_certificates_common_name_id", "common_name", "id"),
    Index("ix_certificates_renewed_from_id", "renewed_from_id"),
    Index("ix_certificates_renewed_by_id", "renewed_by_id"),
    Index("ix_certificates_certificate_request_id", "certificate_request_id"),
    Index("ix_certificates_owner_identity_id", "owner_identity_id"),
    # 0008: the inventory's filters and sorts at 100k certificates.
    Index("ix_certificates_status_not_after", "status", "not_after"),
    Index("ix_certificates_status_created_at_id", "status", "created_at", "id"),
    Index("ix_certificates_request_method", "request_method", "profile_id", "created_at", "id"),
    Index("ix_certificates_profile_id_created_at", "profile_id", "created_at", "id"),
    # A search's matches read from an index alone (every column the other filters and the
    # sorts need: certificate_filters.SEARCH_COLUMNS); rows with a longer search_text than
    # an index entry may hold (many SANs) by their ids, then from the table.
    Index(
        "ix_certificates_search",
        "search_text",
        *SEARCH_COLUMNS,
        sqlite_where=text(SHORT_SEARCH),
        postgresql_where=text(SHORT_SEARCH),
    ),
    Index(
        "ix_certificates_search_long",
        "id",
        sqlite_where=text(LONG_SEARCH),
        postgresql_where=text(LONG_SEARCH),
    ),
)

# One row per key: filtering by several key=value pairs is one indexed EXISTS per pair.
certificate_metadata = Table(
    "certificate_metadata",
    metadata,
    Column(
        "certificate_id",
        String(ID),
        ForeignKey(
            "certificates.id", name="fk_certificate_metadata_certificate_id", ondelete="CASCADE"
        ),
        nullable=False,
    ),
    Column("key", String(255), nullable=False),
    Column("value", String(1024), nullable=False),
    PrimaryKeyConstraint("certificate_id", "key", name="pk_certificate_metadata"),
    Index("ix_certificate_metadata_key_value", "key", "value"),
)

certificate_requests = Table(
    "certificate_requests",
    metadata,
    id_column(),
    Column(
        "profile_id",
        String(ID),
        ForeignKey(
            "certificate_profiles.id",
            name="fk_certificate_requests_profile_id",
            ondelete="SET NULL",
        ),
        nullable=True,
    ),
    Column("method", String(16), nullable=False),
    Column("csr_pem", Text, nullable=True),
    Column("attributes", json_type(), nullable=False),
    Column("metadata", json_type(), nullable=False),
    Column("status", String(16), nullable=False),
    Column(
        "certificate_id",
        String(ID),
        ForeignKey(
            "certificates.id", name="fk_certificate_requests_certificate_id", ondelete="SET NULL"
        ),
        nullable=True,
    ),
    Column("error", Text, nullable=True),
    created_column(),
    Column("owner_identity_id", String(ID), nullable=True),  # the identity that asked (0005)
    Index("ix_certificate_requests_profile_id", "profile_id"),
    Index("ix_certificate_requests_certificate_id", "certificate_id"),
    Index("ix_certificate_requests_owner_identity_id", "owner_identity_id"),
)

crls = Table(
    "crls",
    metadata,
    id_column(),
    Column(
        "ca_id",
        String(ID),
        ForeignKey("certificate_authorities.id", name="fk_crls_ca_id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("number", BigInteger, nullable=False),
    Column("der", LargeBinary, nullable=False),
    Column("this_update", UtcDateTime(), nullable=False),
    Column("next_update", UtcDateTime(), nullable=False),
    created_column(),
    UniqueConstraint("ca_id", "number", name="uq_crls_ca_id_number"),
)
