"""The initial schema: CA hierarchy, policies, profiles, certificates, CRLs, ACME, API access.

Written by hand to match store/schema.py at the time (tests compare the two); a later
change to schema.py needs a new revision, never an edit here.

Revision ID: 0001
Revises:
Create Date: 2025-01-01
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = 36


def _json() -> sa.types.TypeEngine[Any]:
    return sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def _id() -> sa.Column[str]:
    return sa.Column("id", sa.String(ID), nullable=False)


def _at(name: str, *, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _fk(
    column: str, target: str, name: str, ondelete: str | None = None
) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint([column], [target], name=op.f(name), ondelete=ondelete)


def _pk(table: str, *columns: str) -> sa.PrimaryKeyConstraint:
    return sa.PrimaryKeyConstraint(*(columns or ("id",)), name=op.f(f"pk_{table}"))


def _index(table: str, name: str, *columns: str) -> None:
    op.create_index(op.f(name), table, list(columns))


def upgrade() -> None:
    _core()
    _acme()
    _operations()


def _core() -> None:
    op.create_table(
        "certificate_authorities",
        _id(),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("parent_id", sa.String(ID), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("key_algorithm", sa.String(32), nullable=False),
        sa.Column("hash_algorithm", sa.String(16), nullable=False),
        sa.Column("certificate_pem", sa.Text(), nullable=False),
        sa.Column("chain_pem", sa.Text(), nullable=False),
        sa.Column("encrypted_key", sa.LargeBinary(), nullable=False),
        sa.Column("serial_hex", sa.String(64), nullable=False),
        _at("not_before"),
        _at("not_after"),
        sa.Column("crl_number", sa.BigInteger(), nullable=False),
        sa.Column("crl_distribution_url", sa.Text(), nullable=False),
        sa.Column("aia_issuer_url", sa.Text(), nullable=False),
        _at("created_at"),
        _pk("certificate_authorities"),
        _fk(
            "parent_id",
            "certificate_authorities.id",
            "fk_certificate_authorities_parent_id",
        ),
        sa.UniqueConstraint("name", name=op.f("uq_certificate_authorities_name")),
        sa.CheckConstraint(
            "kind IN ('root', 'intermediate')", name=op.f("ck_certificate_authorities_kind")
        ),
        sa.CheckConstraint(
            "kind <> 'root' OR parent_id IS NULL",
            name=op.f("ck_certificate_authorities_root_has_no_parent"),
        ),
        sa.CheckConstraint(
            "status IN ('active', 'disabled')", name=op.f("ck_certificate_authorities_status")
        ),
    )
    _index("certificate_authorities", "ix_certificate_authorities_parent_id", "parent_id")

    op.create_table(
        "certificate_policies",
        _id(),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("rules", _json(), nullable=False),
        _at("created_at"),
        _at("updated_at"),
        _pk("certificate_policies"),
        sa.UniqueConstraint("name", name=op.f("uq_certificate_policies_name")),
    )

    op.create_table(
        "certificate_profiles",
        _id(),
        sa.Column("slug", sa.String(64), nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("policy_id", sa.String(ID), nullable=False),
        sa.Column("issuer_type", sa.String(16), nullable=False),
        sa.Column("ca_id", sa.String(ID), nullable=True),
        sa.Column("enrollment", _json(), nullable=False),
        sa.Column("defaults", _json(), nullable=False),
        sa.Column("auto_renew", sa.Boolean(), nullable=False),
        sa.Column("renew_before_days", sa.Integer(), nullable=False),
        sa.Column("is_default", sa.Boolean(), nullable=False),
        _at("created_at"),
        _at("updated_at"),
        _pk("certificate_profiles"),
        _fk("policy_id", "certificate_policies.id", "fk_certificate_profiles_policy_id"),
        _fk("ca_id", "certificate_authorities.id", "fk_certificate_profiles_ca_id"),
        sa.UniqueConstraint("slug", name=op.f("uq_certificate_profiles_slug")),
        sa.CheckConstraint(
            "(issuer_type = 'ca' AND ca_id IS NOT NULL)"
            " OR (issuer_type = 'self_signed' AND ca_id IS NULL)",
            name=op.f("ck_certificate_profiles_issuer"),
        ),
        sa.CheckConstraint(
            "renew_before_days >= 0", name=op.f("ck_certificate_profiles_renew_before_days")
        ),
    )
    _index("certificate_profiles", "ix_certificate_profiles_policy_id", "policy_id")
    _index("certificate_profiles", "ix_certificate_profiles_ca_id", "ca_id")
    op.create_index(
        op.f("uq_certificate_profiles_one_default"),
        "certificate_profiles",
        ["is_default"],
        unique=True,
        sqlite_where=sa.text("is_default = 1"),
        postgresql_where=sa.text("is_default"),
    )

    op.create_table(
        "certificates",
        _id(),
        sa.Column("serial_hex", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("profile_id", sa.String(ID), nullable=True),
        sa.Column("ca_id", sa.String(ID), nullable=True),
        sa.Column("request_method", sa.String(16), nullable=False),
        sa.Column("common_name", sa.String(255), nullable=False),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("sans", _json(), nullable=False),
        sa.Column("key_algorithm", sa.String(32), nullable=False),
        sa.Column("hash_algorithm", sa.String(16), nullable=False),
        _at("not_before"),
        _at("not_after"),
        sa.Column("certificate_pem", sa.Text(), nullable=False),
        sa.Column("chain_pem", sa.Text(), nullable=False),
        sa.Column("fingerprint_sha256", sa.String(128), nullable=False),
        sa.Column("encrypted_private_key", sa.LargeBinary(), nullable=True),
        sa.Column("friendly_name", sa.String(255), nullable=False),
        sa.Column("renewed_from_id", sa.String(ID), nullable=True),
        sa.Column("renewed_by_id", sa.String(ID), nullable=True),
        sa.Column("auto_renew", sa.Boolean(), nullable=False),
        _at("revoked_at", nullable=True),
        sa.Column("revocation_reason", sa.String(32), nullable=True),
        sa.Column("certificate_request_id", sa.String(ID), nullable=True),
        _at("created_at"),
        _at("updated_at"),
        _pk("certificates"),
        _fk(
            "profile_id",
            "certificate_profiles.id",
            "fk_certificates_profile_id",
            ondelete="SET NULL",
        ),
        _fk("ca_id", "certificate_authorities.id", "fk_certificates_ca_id"),
        _fk(
            "renewed_from_id",
            "certificates.id",
            "fk_certificates_renewed_from_id",
            ondelete="SET NULL",
        ),
        _fk(
            "renewed_by_id",
            "certificates.id",
            "fk_certificates_renewed_by_id",
            ondelete="SET NULL",
        ),
        sa.UniqueConstraint("serial_hex", name=op.f("uq_certificates_serial_hex")),
    )
    _index("certificates", "ix_certificates_status", "status")
    _index("certificates", "ix_certificates_profile_id", "profile_id")
    _index("certificates", "ix_certificates_ca_id_status", "ca_id", "status")
    _index("certificates", "ix_certificates_not_after", "not_after")
    _index("certificates", "ix_certificates_created_at", "created_at")
    _index("certificates", "ix_certificates_common_name", "common_name")
    _index("certificates", "ix_certificates_renewed_from_id", "renewed_from_id")
    _index("certificates", "ix_certificates_renewed_by_id", "renewed_by_id")
    _index("certificates", "ix_certificates_certificate_request_id", "certificate_request_id")

    op.create_table(
        "certificate_metadata",
        sa.Column("certificate_id", sa.String(ID), nullable=False),
        sa.Column("key", sa.String(255), nullable=False),
        sa.Column("value", sa.String(1024), nullable=False),
        _pk("certificate_metadata", "certificate_id", "key"),
        _fk(
            "certificate_id",
            "certificates.id",
            "fk_certificate_metadata_certificate_id",
            ondelete="CASCADE",
        ),
    )
    _index("certificate_metadata", "ix_certificate_metadata_key_value", "key", "value")

    op.create_table(
        "certificate_requests",
        _id(),
        sa.Column("profile_id", sa.String(ID), nullable=True),
        sa.Column("method", sa.String(16), nullable=False),
        sa.Column("csr_pem", sa.Text(), nullable=True),
        sa.Column("attributes", _json(), nullable=False),
        sa.Column("metadata", _json(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("certificate_id", sa.String(ID), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        _at("created_at"),
        _pk("certificate_requests"),
        _fk(
            "profile_id",
            "certificate_profiles.id",
            "fk_certificate_requests_profile_id",
            ondelete="SET NULL",
        ),
        _fk(
            "certificate_id",
            "certificates.id",
            "fk_certificate_requests_certificate_id",
            ondelete="SET NULL",
        ),
    )
    _index("certificate_requests", "ix_certificate_requests_profile_id", "profile_id")
    _index("certificate_requests", "ix_certificate_requests_certificate_id", "certificate_id")

    op.create_table(
        "crls",
        _id(),
        sa.Column("ca_id", sa.String(ID), nullable=False),
        sa.Column("number", sa.BigInteger(), nullable=False),
        sa.Column("der", sa.LargeBinary(), nullable=False),
        _at("this_update"),
        _at("next_update"),
        _at("created_at"),
        _pk("crls"),
        _fk("ca_id", "certificate_authorities.id", "fk_crls_ca_id", ondelete="CASCADE"),
        sa.UniqueConstraint("ca_id", "number", name=op.f("uq_crls_ca_id_number")),
    )


def _acme() -> None:
    op.create_table(
        "acme_eab_keys",
        sa.Column("id", sa.String(255), nullable=False),
        sa.Column("profile_id", sa.String(ID), nullable=False),
        sa.Column("encrypted_hmac_key", sa.LargeBinary(), nullable=False),
        sa.Column("hmac_alg", sa.String(16), nullable=False),
        sa.Column("reusable", sa.Boolean(), nullable=False),
        _at("used_at", nullable=True),
        sa.Column("bound_account_id", sa.String(ID), nullable=True),
        _at("created_at"),
        _at("revoked_at", nullable=True),
        _pk("acme_eab_keys"),
        _fk("profile_id", "certificate_profiles.id", "fk_acme_eab_keys_profile_id"),
    )
    _index("acme_eab_keys", "ix_acme_eab_keys_profile_id", "profile_id")
    _index("acme_eab_keys", "ix_acme_eab_keys_bound_account_id", "bound_account_id")

    op.create_table(
        "acme_accounts",
        _id(),
        sa.Column("profile_id", sa.String(ID), nullable=False),
        sa.Column("jwk_thumbprint", sa.String(128), nullable=False),
        sa.Column("jwk", _json(), nullable=False),
        sa.Column("contact", _json(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("terms_of_service_agreed", sa.Boolean(), nullable=False),
        sa.Column("eab_key_id", sa.String(255), nullable=True),
        _at("created_at"),
        _at("updated_at"),
        _pk("acme_accounts"),
        _fk("profile_id", "certificate_profiles.id", "fk_acme_accounts_profile_id"),
        _fk("eab_key_id", "acme_eab_keys.id", "fk_acme_accounts_eab_key_id"),
        sa.UniqueConstraint(
            "profile_id",
            "jwk_thumbprint",
            name=op.f("uq_acme_accounts_profile_id_jwk_thumbprint"),
        ),
    )
    _index("acme_accounts", "ix_acme_accounts_eab_key_id", "eab_key_id")

    op.create_table(
        "acme_orders",
        _id(),
        sa.Column("account_id", sa.String(ID), nullable=False),
        sa.Column("profile_id", sa.String(ID), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        _at("expires"),
        _at("not_before", nullable=True),
        _at("not_after", nullable=True),
        sa.Column("identifiers", _json(), nullable=False),
        sa.Column("error", _json(), nullable=True),
        sa.Column("certificate_id", sa.String(ID), nullable=True),
        sa.Column("replaces", sa.String(255), nullable=True),
        _at("created_at"),
        _at("updated_at"),
        _pk("acme_orders"),
        _fk("account_id", "acme_accounts.id", "fk_acme_orders_account_id", ondelete="CASCADE"),
        _fk("profile_id", "certificate_profiles.id", "fk_acme_orders_profile_id"),
        _fk(
            "certificate_id",
            "certificates.id",
            "fk_acme_orders_certificate_id",
            ondelete="SET NULL",
        ),
    )
    _index("acme_orders", "ix_acme_orders_account_id_created_at", "account_id", "created_at")
    _index("acme_orders", "ix_acme_orders_profile_id", "profile_id")
    _index("acme_orders", "ix_acme_orders_certificate_id", "certificate_id")
    _index("acme_orders", "ix_acme_orders_replaces", "replaces")
    _index("acme_orders", "ix_acme_orders_expires", "expires")

    op.create_table(
        "acme_authorizations",
        _id(),
        sa.Column("account_id", sa.String(ID), nullable=False),
        sa.Column("identifier_type", sa.String(16), nullable=False),
        sa.Column("identifier_value", sa.String(255), nullable=False),
        sa.Column("wildcard", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        _at("expires"),
        _at("created_at"),
        _at("updated_at"),
        _pk("acme_authorizations"),
        _fk(
            "account_id",
            "acme_accounts.id",
            "fk_acme_authorizations_account_id",
            ondelete="CASCADE",
        ),
    )
    _index(
        "acme_authorizations",
        "ix_acme_authorizations_account_id_identifier",
        "account_id",
        "identifier_type",
        "identifier_value",
    )
    _index("acme_authorizations", "ix_acme_authorizations_expires", "expires")

    op.create_table(
        "acme_order_authorizations",
        sa.Column("order_id", sa.String(ID), nullable=False),
        sa.Column("authorization_id", sa.String(ID), nullable=False),
        _pk("acme_order_authorizations", "order_id", "authorization_id"),
        _fk(
            "order_id",
            "acme_orders.id",
            "fk_acme_order_authorizations_order_id",
            ondelete="CASCADE",
        ),
        _fk(
            "authorization_id",
            "acme_authorizations.id",
            "fk_acme_order_authorizations_authorization_id",
            ondelete="CASCADE",
        ),
    )
    _index(
        "acme_order_authorizations",
        "ix_acme_order_authorizations_authorization_id",
        "authorization_id",
    )

    op.create_table(
        "acme_challenges",
        _id(),
        sa.Column("authorization_id", sa.String(ID), nullable=False),
        sa.Column("type", sa.String(32), nullable=False),
        sa.Column("token", sa.String(255), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        _at("validated_at", nullable=True),
        sa.Column("error", _json(), nullable=True),
        _at("created_at"),
        _at("updated_at"),
        _pk("acme_challenges"),
        _fk(
            "authorization_id",
            "acme_authorizations.id",
            "fk_acme_challenges_authorization_id",
            ondelete="CASCADE",
        ),
        sa.UniqueConstraint(
            "authorization_id", "type", name=op.f("uq_acme_challenges_authorization_id_type")
        ),
    )

    op.create_table(
        "acme_nonces",
        sa.Column("value", sa.String(128), nullable=False),
        _at("expires_at"),
        _pk("acme_nonces", "value"),
    )
    _index("acme_nonces", "ix_acme_nonces_expires_at", "expires_at")


def _operations() -> None:
    op.create_table(
        "validation_jobs",
        _id(),
        sa.Column("challenge_id", sa.String(ID), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("claimed_by", sa.String(255), nullable=True),
        _at("claimed_until", nullable=True),
        _at("run_after"),
        sa.Column("last_error", sa.Text(), nullable=True),
        _at("created_at"),
        _at("updated_at"),
        _pk("validation_jobs"),
        _fk(
            "challenge_id",
            "acme_challenges.id",
            "fk_validation_jobs_challenge_id",
            ondelete="CASCADE",
        ),
    )
    _index("validation_jobs", "ix_validation_jobs_status_run_after", "status", "run_after")
    _index("validation_jobs", "ix_validation_jobs_challenge_id", "challenge_id")

    op.create_table(
        "machine_identities",
        _id(),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("client_id", sa.String(255), nullable=False),
        sa.Column("secret_hash", sa.Text(), nullable=False),
        sa.Column("disabled", sa.Boolean(), nullable=False),
        _at("created_at"),
        _pk("machine_identities"),
        sa.UniqueConstraint("client_id", name=op.f("uq_machine_identities_client_id")),
    )

    op.create_table(
        "access_tokens",
        _id(),
        sa.Column("identity_id", sa.String(ID), nullable=False),
        sa.Column("token_hash", sa.String(128), nullable=False),
        _at("expires_at"),
        _at("revoked_at", nullable=True),
        _at("created_at"),
        _pk("access_tokens"),
        _fk(
            "identity_id",
            "machine_identities.id",
            "fk_access_tokens_identity_id",
            ondelete="CASCADE",
        ),
        sa.UniqueConstraint("token_hash", name=op.f("uq_access_tokens_token_hash")),
    )
    _index("access_tokens", "ix_access_tokens_identity_id", "identity_id")
    _index("access_tokens", "ix_access_tokens_expires_at", "expires_at")

    op.create_table(
        "audit_log",
        _id(),
        _at("at"),
        sa.Column("actor", sa.String(255), nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("target_type", sa.String(64), nullable=False),
        sa.Column("target_id", sa.String(255), nullable=True),
        sa.Column("details", _json(), nullable=False),
        _pk("audit_log"),
    )
    _index("audit_log", "ix_audit_log_at", "at")
    _index("audit_log", "ix_audit_log_target", "target_type", "target_id")

    op.create_table(
        "leases",
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("holder", sa.String(255), nullable=False),
        _at("expires_at"),
        _pk("leases", "name"),
    )


def downgrade() -> None:
    for table in (
        "leases",
        "audit_log",
        "access_tokens",
        "machine_identities",
        "validation_jobs",
        "acme_nonces",
        "acme_challenges",
        "acme_order_authorizations",
        "acme_authorizations",
        "acme_orders",
        "acme_accounts",
        "acme_eab_keys",
        "crls",
        "certificate_requests",
        "certificate_metadata",
        "certificates",
        "certificate_profiles",
        "certificate_policies",
        "certificate_authorities",
    ):
        op.drop_table(table)
