"""Roles with per-profile grants, and internal certificates.

    machine_identities.role            admin | issuer | reader | auditor; the `member`
                                       role of 0005 becomes `issuer`
    machine_identities.profile_grants  the profiles an issuer or reader reaches: a JSON
                                       array of profile ids, NULL for every profile
    certificates.internal              the server's own certificates (its TLS
                                       certificate): their keys never leave the server

A member issued certificates and reached those it owned; an issuer reaches the
certificates of the profiles it is granted. Members become issuers of every profile
(NULL), so nothing they did stops working; narrow them with `kms identity revoke` /
`kms identity grant`. The certificates the server issued for itself (request method
`system`: its TLS certificate) are marked internal.

Revision ID: 0006_roles_and_grants
Revises: 0005_identity_scopes
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006_roles_and_grants"
down_revision: str | None = "0005_identity_scopes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("machine_identities", sa.Column("profile_grants", sa.Text(), nullable=True))
    op.add_column(
        "certificates",
        sa.Column("internal", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    bind = op.get_bind()
    bind.execute(sa.text("UPDATE machine_identities SET role = 'issuer' WHERE role = 'member'"))
    bind.execute(
        sa.text("UPDATE certificates SET internal = :yes WHERE request_method = 'system'"),
        {"yes": True},
    )


def downgrade() -> None:
    # Plain ALTER TABLE ... DROP COLUMN (SQLite 3.35+), not batch mode: a batch copy of
    # machine_identities or certificates would cascade-delete the rows referring to them.
    bind = op.get_bind()
    # 0005 knew admin and member only: a member reaches the least of the two.
    bind.execute(
        sa.text(
            "UPDATE machine_identities SET role = 'member' "
            "WHERE role IN ('issuer', 'reader', 'auditor')"
        )
    )
    op.drop_column("certificates", "internal")
    op.drop_column("machine_identities", "profile_grants")
