"""The orders in finalize, indexed by when finalize began: the sweep that finishes (or
fails) a finalize whose process died reads only these rows.

Revision ID: 0004_finalize_recovery
Revises: 0003_identity_certificates
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004_finalize_recovery"
down_revision: str | None = "0003_identity_certificates"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_PROCESSING = sa.text("status = 'processing'")


def upgrade() -> None:
    op.create_index(
        "ix_acme_orders_processing",
        "acme_orders",
        ["updated_at"],
        sqlite_where=_PROCESSING,
        postgresql_where=_PROCESSING,
    )


def downgrade() -> None:
    op.drop_index("ix_acme_orders_processing", table_name="acme_orders")
