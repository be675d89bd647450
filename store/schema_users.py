"""Human users of the web console and their sessions (migration 0007). A user has the same
roles and profile grants as a machine identity (acme_server/services/roles.py)."""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)

from store.columns import UtcDateTime
from store.schema_common import ID, created_column, id_column, metadata

console_users = Table(
    "console_users",
    metadata,
    id_column(),
    Column("name", String(255), nullable=False),
    Column("password_hash", Text, nullable=False),  # argon2id, PHC string
    Column("role", String(16), nullable=False),
    Column("profile_grants", Text, nullable=True),  # JSON profile ids; NULL: every profile
    Column("disabled", Boolean, nullable=False),
    Column("must_change_password", Boolean, nullable=False),
    # Failed sign-ins since the last success, and until when sign-ins are refused.
    Column("failed_logins", Integer, nullable=False, server_default=text("0")),
    Column("locked_until", UtcDateTime(), nullable=True),
    created_column(),
    UniqueConstraint("name", name="uq_console_users_name"),
)

# A signed-in browser: only the SHA-256 of its cookie is stored. It ends at expires_at
# (absolute), or when last_seen_at is older than the idle limit, or when revoked (logout).
console_sessions = Table(
    "console_sessions",
    metadata,
    id_column(),
    Column(
        "user_id",
        String(ID),
        ForeignKey("console_users.id", name="fk_console_sessions_user_id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("token_hash", String(128), nullable=False),
    Column("csrf_token", String(128), nullable=False),
    Column("last_seen_at", UtcDateTime(), nullable=False),
    Column("expires_at", UtcDateTime(), nullable=False),
    Column("revoked_at", UtcDateTime(), nullable=True),
    created_column(),
    UniqueConstraint("token_hash", name="uq_console_sessions_token_hash"),
    Index("ix_console_sessions_user_id", "user_id"),
    Index("ix_console_sessions_expires_at", "expires_at"),
)
