"""Server-driven renewal: each certificate's renewal status, last error, attempts, next
attempt, and when its expiry warning was sent.

Revision ID: 0002_auto_renewal
Revises: 0001
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002_auto_renewal"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_COLUMNS = ("renewal_status", "renewal_error", "renewal_attempts", "next_renewal_at")


def upgrade() -> None:
    op.add_column("certificates", sa.Column("renewal_status", sa.String(16), nullable=True))
    op.add_column("certificates", sa.Column("renewal_error", sa.Text(), nullable=True))
    op.add_column(
        "certificates",
        sa.Column("renewal_attempts", sa.Integer(), nullable=False, server_default=sa.text("0")),
    )
    op.add_column(
        "certificates", sa.Column("next_renewal_at", sa.DateTime(timezone=True), nullable=True)
    )
    op.add_column(
        "certificates", sa.Column("expiry_warned_at", sa.DateTime(timezone=True), nullable=True)
    )


def downgrade() -> None:
    with op.batch_alter_table("certificates") as batch:
        for name in (*_COLUMNS, "expiry_warned_at"):
            batch.drop_column(name)
