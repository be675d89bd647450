"""Scoped machine identities: each identity's role, and the identity each certificate and
certificate request belongs to.

    machine_identities.role                 admin | member; identities made before roles
                                            become admin, so nothing they did stops working
    certificates.owner_identity_id          the identity whose REST request issued it, or
                                            the one it is bound to as a client certificate
    certificate_requests.owner_identity_id  the identity that asked

Ownership is filled in for what was issued before, as far as the database tells it: a
bound client certificate belongs to its identity; a REST issuance or renewal belongs to
the identity the audit log names as its actor; a renewal belongs to the owner of the
certificate it renewed; a request to the owner of its certificate. The rest (ACME, CLI)
stays without an owner, which only admins see over REST.

Revision ID: 0005_identity_scopes
Revises: 0004_finalize_recovery
Create Date: 2026-12-08
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005_identity_scopes"
down_revision: str | None = "0004_finalize_recovery"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = 36
_OWNED = ("certificates", "certificate_requests")
_MAX_RENEWAL_DEPTH = 10_000  # renewal chains are walked one link per statement

_FROM_BINDINGS = (
    "UPDATE certificates SET owner_identity_id = (SELECT min(b.identity_id) "
    "FROM identity_certificates b WHERE b.certificate_id = certificates.id) "
    "WHERE owner_identity_id IS NULL AND EXISTS (SELECT 1 FROM identity_certificates b "
    "WHERE b.certificate_id = certificates.id)"
)
# "identity:" is 9 characters: the id starts at the 10th. Only actors that are identities
# still in the table count.
_AUDITED_ACTOR = (
    "SELECT min(substr(a.actor, 10)) FROM audit_log a WHERE a.target_type = 'certificate' "
    "AND a.target_id = certificates.id "
    "AND a.action IN ('certificate.issue', 'certificate.renew') "
    "AND a.actor LIKE 'identity:%' AND substr(a.actor, 10) IN (SELECT id FROM machine_identities)"
)
_FROM_AUDIT = (
    f"UPDATE certificates SET owner_identity_id = ({_AUDITED_ACTOR}) "
    f"WHERE owner_identity_id IS NULL AND ({_AUDITED_ACTOR}) IS NOT NULL"
)
_PREDECESSOR_OWNER = (
    "SELECT p.owner_identity_id FROM certificates p WHERE p.id = certificates.renewed_from_id"
)
_FROM_PREDECESSOR = (
    f"UPDATE certificates SET owner_identity_id = ({_PREDECESSOR_OWNER}) "
    f"WHERE owner_identity_id IS NULL AND renewed_from_id IS NOT NULL "
    f"AND ({_PREDECESSOR_OWNER}) IS NOT NULL"
)
_REQUESTS = (
    "UPDATE certificate_requests SET owner_identity_id = (SELECT c.owner_identity_id "
    "FROM certificates c WHERE c.id = certificate_requests.certificate_id) "
    "WHERE owner_identity_id IS NULL AND certificate_id IS NOT NULL"
)


def _backfill() -> None:
    bind = op.get_bind()
    bind.execute(sa.text(_FROM_BINDINGS))
    bind.execute(sa.text(_FROM_AUDIT))
    for _ in range(_MAX_RENEWAL_DEPTH):
        if bind.execute(sa.text(_FROM_PREDECESSOR)).rowcount == 0:
            break
    bind.execute(sa.text(_REQUESTS))


def upgrade() -> None:
    op.add_column(
        "machine_identities",
        sa.Column("role", sa.String(16), nullable=False, server_default="admin"),
    )
    for table in _OWNED:
        op.add_column(table, sa.Column("owner_identity_id", sa.String(ID), nullable=True))
        op.create_index(op.f(f"ix_{table}_owner_identity_id"), table, ["owner_identity_id"])
    _backfill()


def downgrade() -> None:
    # Plain ALTER TABLE ... DROP COLUMN (SQLite 3.35+), not batch mode: a batch copy of
    # machine_identities or certificates would cascade-delete the rows referring to them.
    for table in _OWNED:
        op.drop_index(op.f(f"ix_{table}_owner_identity_id"), table_name=table)
        op.drop_column(table, "owner_identity_id")
    op.drop_column("machine_identities", "role")
