"""The certificate inventory at scale (the console's table and REST's list at 100,000
certificates): a search column and the indexes the filters and sorts need.

    certificates.search_text  the common name, friendly name and SAN values, lower-cased,
                              one per line: a search is one LIKE, instead of lower() of
                              three columns and the JSON `sans` of every row
    ix_certificates_search    search_text with every column the other filters and the
                              sorts read: a search scans this narrow index, not the rows
                              (3 KB each with their PEMs); only for a search_text of at
                              most 500 characters (PostgreSQL's btree entries hold ~2.7 KB)
    ix_certificates_search_long  the ids of the longer ones (many SANs), read from the table
    ix_..._created_at_id, ix_..._not_after_id, ix_..._common_name_id
                              replace the one-column indexes: a page ordered by
                              "<column>, id" (ties broken on id) is read from the index
    ix_certificates_status_created_at_id  one status, newest first (the default view)
    ix_certificates_status_not_after      the lazy active -> expired update every listing
                                          runs, and "expiring within N days"
    ix_certificates_request_method        the enrollment-method filter (with the profile:
                                          within a granted caller's reach)
    ix_certificates_profile_id_created_at a profile's (or a caller's reach's) newest first

The indexes end in `id` where they can, so a filter they cover is answered from the
narrow index alone: the rows themselves (about 3 KB each with their PEMs) are read only
for the page shown.

Revision ID: 0008_inventory_search
Revises: 0007_console_users
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008_inventory_search"
down_revision: str | None = "0007_console_users"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# common_name, friendly_name, then the values of the JSON array `sans` ([{"type",
# "value"}...]): lower-cased, one per line, as store/certificate_filters.search_text writes.
_FILL_SQLITE = (
    "UPDATE certificates SET search_text = lower(replace(common_name, char(10), ' ') "
    "|| char(10) || replace(friendly_name, char(10), ' ') || coalesce((SELECT "
    "group_concat(char(10) || replace(json_extract(s.value, '$.value'), char(10), ' '), '') "
    "FROM json_each(certificates.sans) s), ''))"
)
_FILL_POSTGRESQL = (
    "UPDATE certificates SET search_text = lower(replace(common_name, E'\\n', ' ') "
    "|| E'\\n' || replace(friendly_name, E'\\n', ' ') || coalesce((SELECT "
    "string_agg(E'\\n' || replace(s ->> 'value', E'\\n', ' '), '') "
    "FROM jsonb_array_elements(certificates.sans) s), ''))"
)
_REPLACED = (
    ("ix_certificates_not_after", ["not_after"], "ix_certificates_not_after_id"),
    ("ix_certificates_created_at", ["created_at"], "ix_certificates_created_at_id"),
    ("ix_certificates_common_name", ["common_name"], "ix_certificates_common_name_id"),
)
_ADDED = (
    ("ix_certificates_status_not_after", ["status", "not_after"]),
    ("ix_certificates_status_created_at_id", ["status", "created_at", "id"]),
    ("ix_certificates_request_method", ["request_method", "profile_id", "created_at", "id"]),
    ("ix_certificates_profile_id_created_at", ["profile_id", "created_at", "id"]),
)
# certificate_filters' SEARCH_COLUMNS and partial-index predicates as of 0008 (a
# migration does not import the code it may outlive)
_SHORT = "length(search_text) <= 500"
_LONG = "length(search_text) > 500"
_STATISTICS = (
    "CREATE STATISTICS st_certificates_search_length ON (length(search_text)) FROM certificates"
)
_SEARCH_COLUMNS = [
    "search_text", "id", "status", "profile_id", "ca_id", "request_method", "not_after",
    "created_at", "common_name", "owner_identity_id",
]  # fmt: skip


def upgrade() -> None:
    op.add_column(
        "certificates",
        sa.Column("search_text", sa.Text(), nullable=False, server_default=sa.text("''")),
    )
    bind = op.get_bind()
    bind.execute(sa.text(_FILL_POSTGRESQL if bind.dialect.name == "postgresql" else _FILL_SQLITE))
    for old, columns, new in _REPLACED:
        op.drop_index(old, table_name="certificates")
        op.create_index(new, "certificates", [*columns, "id"])
    for name, columns in _ADDED:
        op.create_index(name, "certificates", columns)
    short, long = sa.text(_SHORT), sa.text(_LONG)
    op.create_index(
        "ix_certificates_search",
        "certificates",
        _SEARCH_COLUMNS,
        sqlite_where=short,
        postgresql_where=short,
    )
    op.create_index(
        "ix_certificates_search_long",
        "certificates",
        ["id"],
        sqlite_where=long,
        postgresql_where=long,
    )
    if bind.dialect.name == "postgresql":
        # Statistics of the split's expression: without them PostgreSQL guesses a third
        # of the rows are long and scans the table for them instead of the tiny index.
        bind.execute(sa.text(_STATISTICS))


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.get_bind().execute(sa.text("DROP STATISTICS IF EXISTS st_certificates_search_length"))
    op.drop_index("ix_certificates_search_long", table_name="certificates")
    op.drop_index("ix_certificates_search", table_name="certificates")
    for name, _columns in reversed(_ADDED):
        op.drop_index(name, table_name="certificates")
    for old, columns, new in reversed(_REPLACED):
        op.drop_index(new, table_name="certificates")
        op.create_index(old, "certificates", columns)
    # Plain ALTER TABLE ... DROP COLUMN (SQLite 3.35+), as 0006 does: a batch copy of
    # certificates would cascade-delete the rows referring to it.
    op.drop_column("certificates", "search_text")
