"""Client certificates of machine identities: which certificate logs which identity in,
its state (active, pending until its first login after a rotation, revoked), and the
binding it replaces.

Revision ID: 0003_identity_certificates
Revises: 0002_auto_renewal
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003_identity_certificates"
down_revision: str | None = "0002_auto_renewal"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = 36
_TABLE = "identity_certificates"


def _at(name: str, *, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        _TABLE,
        sa.Column("id", sa.String(ID), nullable=False),
        sa.Column("identity_id", sa.String(ID), nullable=False),
        sa.Column("certificate_id", sa.String(ID), nullable=False),
        sa.Column("serial_hex", sa.String(64), nullable=False),
        sa.Column("fingerprint_sha256", sa.String(128), nullable=False),
        _at("not_after"),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("replaces_id", sa.String(ID), nullable=True),
        sa.Column("csr_sha256", sa.String(64), nullable=True),
        _at("first_used_at", nullable=True),
        _at("created_at"),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{_TABLE}")),
        sa.ForeignKeyConstraint(
            ["identity_id"],
            ["machine_identities.id"],
            name=op.f("fk_identity_certificates_identity_id"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["certificate_id"],
            ["certificates.id"],
            name=op.f("fk_identity_certificates_certificate_id"),
            ondelete="CASCADE",
        ),
        sa.UniqueConstraint(
            "fingerprint_sha256", name=op.f("uq_identity_certificates_fingerprint_sha256")
        ),
        sa.UniqueConstraint(
            "replaces_id", "csr_sha256", name=op.f("uq_identity_certificates_rotation")
        ),
        sa.CheckConstraint(
            "state IN ('active', 'pending', 'revoked')",
            name=op.f("ck_identity_certificates_state"),
        ),
    )
    op.create_index(op.f("ix_identity_certificates_identity_id"), _TABLE, ["identity_id"])
    op.create_index(op.f("ix_identity_certificates_replaces_id"), _TABLE, ["replaces_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_identity_certificates_replaces_id"), table_name=_TABLE)
    op.drop_index(op.f("ix_identity_certificates_identity_id"), table_name=_TABLE)
    op.drop_table(_TABLE)
