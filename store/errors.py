"""Driver errors (sqlite3, asyncpg) to store errors, the same way on both backends.

PostgreSQL names the violated constraint (asyncpg's `constraint_name`); SQLite names the
table and columns ("UNIQUE constraint failed: certificates.serial_hex"), which are looked
up in the schema to find the same constraint name. Each name has one message.
"""

from __future__ import annotations

import re
import sqlite3

import asyncpg
from sqlalchemy import Index, PrimaryKeyConstraint, UniqueConstraint

from store.interface import Conflict, InvalidText, StoreError, Unavailable
from store.schema import metadata

UNIQUE_MESSAGES: dict[str, str] = {
    "pk_certificate_authorities": "CA id already exists",
    "uq_certificate_authorities_name": "CA name already exists",
    "uq_certificate_policies_name": "policy name already exists",
    "uq_certificate_profiles_slug": "profile slug already exists",
    "uq_certificate_profiles_one_default": "another profile is already the default",
    "uq_certificates_serial_hex": "certificate serial already exists",
    "uq_crls_ca_id_number": "CRL number already exists for this CA",
    "pk_acme_eab_keys": "EAB key id already exists",
    "uq_acme_accounts_profile_id_jwk_thumbprint": "an account with this key already exists",
    "uq_acme_challenges_authorization_id_type": "challenge type already exists",
    "pk_acme_nonces": "nonce already exists",
    "uq_machine_identities_client_id": "machine identity client id already exists",
    "uq_access_tokens_token_hash": "access token already exists",
    "pk_leases": "lease already exists",
}

_PG_UNIQUE = "23505"
_PG_FOREIGN_KEY = "23503"
# character_not_in_repertoire (NUL in text), untranslatable_character (\u0000 in jsonb)
_PG_INVALID_TEXT = frozenset({"22021", "22P05"})
# connection_exception (08*), operator intervention: shutdown, crash, cannot connect now;
# too many connections
_PG_UNAVAILABLE_CLASSES = ("08",)
_PG_UNAVAILABLE = frozenset({"57P01", "57P02", "57P03", "53300"})
_SQLITE_UNAVAILABLE = ("locked", "busy", "unable to open", "disk i/o", "disk is full")
_SQLITE_UNIQUE = re.compile(r"UNIQUE constraint failed: ([\w.]+(?:, [\w.]+)*)")


def _unique_names() -> dict[tuple[str, tuple[str, ...]], str]:
    """(table, columns) -> constraint name, for every unique constraint or index."""
    names: dict[tuple[str, tuple[str, ...]], str] = {}
    for table in metadata.tables.values():
        for constraint in table.constraints:
            if isinstance(constraint, UniqueConstraint | PrimaryKeyConstraint):
                key = (table.name, tuple(c.name for c in constraint.columns))
                names[key] = str(constraint.name)
        for index in table.indexes:
            if isinstance(index, Index) and index.unique:
                names[(table.name, tuple(c.name for c in index.columns))] = str(index.name)
    return names


_UNIQUE_BY_COLUMNS = _unique_names()


def _unique_message(constraint: str | None, fallback: str) -> str:
    if constraint is None:
        return fallback
    if constraint in UNIQUE_MESSAGES:
        return UNIQUE_MESSAGES[constraint]
    if constraint.startswith("pk_"):
        return f"{constraint[3:]} row with this key already exists"
    return f"duplicate value ({constraint})"


def _sqlite_integrity(text: str) -> StoreError:
    match = _SQLITE_UNIQUE.search(text)
    if match:
        qualified = [part.split(".", 1) for part in match.group(1).split(", ")]
        table = qualified[0][0]
        columns = tuple(part[-1] for part in qualified)
        constraint = _UNIQUE_BY_COLUMNS.get((table, columns))
        return Conflict(_unique_message(constraint, f"duplicate {table} {', '.join(columns)}"))
    if "FOREIGN KEY constraint failed" in text:
        return Conflict("reference check failed")
    return StoreError(f"integrity error: {text}")


def translate_sqlite(exc: sqlite3.Error) -> StoreError:
    """sqlite3's error as a store error: unique and reference violations become Conflict."""
    if isinstance(exc, sqlite3.IntegrityError):
        return _sqlite_integrity(str(exc))
    if isinstance(exc, sqlite3.OperationalError) and any(
        word in str(exc).lower() for word in _SQLITE_UNAVAILABLE
    ):
        return Unavailable(f"database unavailable: {exc}".splitlines()[0])
    return StoreError(f"database error: {type(exc).__name__}: {exc}".splitlines()[0])


def translate_pg(exc: BaseException) -> StoreError:
    """asyncpg's error (or a connection failure) as a store error."""
    sqlstate = getattr(exc, "sqlstate", None)
    constraint = getattr(exc, "constraint_name", None)
    if sqlstate == _PG_UNIQUE:
        return Conflict(_unique_message(constraint, "duplicate value"))
    if sqlstate == _PG_FOREIGN_KEY:
        return Conflict(f"reference check failed ({constraint})")
    if sqlstate in _PG_INVALID_TEXT:
        return InvalidText("text with a character the database cannot store (NUL)")
    if sqlstate is not None and sqlstate.startswith("23"):
        return StoreError(f"integrity error ({sqlstate}, {constraint})")
    if _pg_unavailable(exc, sqlstate):
        return Unavailable(f"database unavailable: {type(exc).__name__}: {exc}".splitlines()[0])
    return StoreError(f"database error: {type(exc).__name__}: {exc}".splitlines()[0])


def _pg_unavailable(exc: BaseException, sqlstate: str | None) -> bool:
    """The server is unreachable or going away, rather than refusing this statement."""
    if isinstance(exc, OSError | TimeoutError):  # refused, reset, unreachable, timed out
        return True
    if isinstance(exc, asyncpg.InterfaceError) and not isinstance(exc, asyncpg.DataError):
        return True  # the connection was closed under the statement, or the pool is closing
    if isinstance(exc, asyncpg.InternalClientError):
        return True  # the connection's protocol was left mid-operation by a lost server
    if sqlstate is None:
        return False
    return sqlstate in _PG_UNAVAILABLE or sqlstate.startswith(_PG_UNAVAILABLE_CLASSES)


def translate_database(exc: Exception) -> StoreError:
    """What SQLAlchemy raises while migrating: unreachable, locked, timed out."""
    return StoreError(f"database error: {type(exc).__name__}: {exc}".splitlines()[0])
