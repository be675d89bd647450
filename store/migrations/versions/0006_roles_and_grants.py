"""Roles with per-profile grants, and internal certificates.

    machine_identities.role            admin | issuer | reader | auditor; the `member`
                                       role of 0005 becomes `issuer`
    machine_identities.profile_grants  the profiles an issuer or reader reaches: a JSON
                                       array of profile ids, NULL for every profile
    certificates.internal              the server's own certificates (its TLS
                                       certificate): their keys never leave the server

A member issued certificates and reached those it owned; an issuer reaches the
certificates of the profiles it is granted. A member becomes an issuer granted the
profiles of the certificates it owns (none: no profile until `kms identity grant`), so
what it did keeps working without it reaching more than the profiles it used. The
certificates the server issued for itself (request method `system`: its TLS certificate)
and their renewals are marked internal.

Revision ID: 0006_roles_and_grants
Revises: 0005_identity_scopes
Create Date: 2026-12-07
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006_roles_and_grants"
down_revision: str | None = "0005_identity_scopes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


_MAX_RENEWAL_DEPTH = 10_000  # renewal chains are walked one link per statement
_OWNED_PROFILES = sa.text(
    "SELECT DISTINCT profile_id FROM certificates "
    "WHERE owner_identity_id = :id AND profile_id IS NOT NULL"
)
_RENEWALS_OF_INTERNAL = sa.text(
    "UPDATE certificates SET internal = :yes WHERE internal = :no AND renewed_from_id IN "
    "(SELECT p.id FROM certificates p WHERE p.internal = :yes)"
)


def _members_to_issuers() -> None:
    bind = op.get_bind()
    members = bind.execute(sa.text("SELECT id FROM machine_identities WHERE role = 'member'"))
    for (identity_id,) in members.all():
        owned = sorted(str(p) for (p,) in bind.execute(_OWNED_PROFILES, {"id": identity_id}))
        bind.execute(
            sa.text(
                "UPDATE machine_identities SET role = 'issuer', profile_grants = :grants "
                "WHERE id = :id"
            ),
            {"grants": json.dumps(owned), "id": identity_id},
        )


def _mark_internal() -> None:
    bind = op.get_bind()
    flags = {"yes": True, "no": False}
    bind.execute(
        sa.text("UPDATE certificates SET internal = :yes WHERE request_method = 'system'"), flags
    )
    for _ in range(_MAX_RENEWAL_DEPTH):
        if bind.execute(_RENEWALS_OF_INTERNAL, flags).rowcount == 0:
            break


def upgrade() -> None:
    op.add_column("machine_identities", sa.Column("profile_grants", sa.Text(), nullable=True))
    op.add_column(
        "certificates",
        sa.Column("internal", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    _members_to_issuers()
    _mark_internal()


def downgrade() -> None:
    # Plain ALTER TABLE ... DROP COLUMN (SQLite 3.35+), not batch mode: a batch copy of
    # machine_identities or certificates would cascade-delete the rows referring to them.
    bind = op.get_bind()
    # 0005 knew admin and member only. An issuer becomes a member; a reader or an auditor,
    # which 0005 cannot express without letting it issue, becomes a disabled member.
    bind.execute(
        sa.text(
            "UPDATE machine_identities SET disabled = :yes WHERE role IN ('reader', 'auditor')"
        ),
        {"yes": True},
    )
    bind.execute(
        sa.text(
            "UPDATE machine_identities SET role = 'member' "
            "WHERE role IN ('issuer', 'reader', 'auditor')"
        )
    )
    op.drop_column("certificates", "internal")
    op.drop_column("machine_identities", "profile_grants")
