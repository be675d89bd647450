"""ACME rows to records, and the loaders the ACME query mixins share.

An order's record carries its authorization ids: `load_orders` reads them for a whole page
of order rows in one query. (Single orders and authorizations are read with one JOIN by
their own query modules.)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from store.base import StoreBase, select_by_id_sql
from store.db import Row, Sql, Tx, dynamic, in_list
from store.records import (
    AccountRecord,
    AuthorizationRecord,
    ChallengeRecord,
    EABKeyRecord,
    OrderRecord,
    ValidationJobRecord,
)
from store.schema import acme_accounts as accounts

LIST_LIMIT_MAX = 1000
AUTHORIZATION_STATUSES = ("pending", "valid", "invalid", "deactivated", "expired", "revoked")

ACCOUNT_BY_ID: Sql = select_by_id_sql(accounts)
_AUTHZ_IDS_OF_ONE = Sql(
    "SELECT a.id FROM acme_order_authorizations l "
    "JOIN acme_authorizations a ON a.id = l.authorization_id "
    "WHERE l.order_id = :id "
    "ORDER BY a.identifier_type, a.identifier_value, a.wildcard, a.id"
)


def optional_json(value: Any) -> dict[str, Any] | None:
    return None if value is None else dict(value)


def account_record(row: Row) -> AccountRecord:
    return AccountRecord(
        id=row["id"],
        profile_id=row["profile_id"],
        jwk_thumbprint=row["jwk_thumbprint"],
        jwk=dict(row["jwk"]),
        contact=[str(item) for item in row["contact"]],
        status=row["status"],
        terms_of_service_agreed=bool(row["terms_of_service_agreed"]),
        eab_key_id=row["eab_key_id"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


def eab_key_record(row: Any) -> EABKeyRecord:
    return EABKeyRecord(
        id=row["id"],
        profile_id=row["profile_id"],
        encrypted_hmac_key=bytes(row["encrypted_hmac_key"]),
        hmac_alg=row["hmac_alg"],
        reusable=bool(row["reusable"]),
        used_at=row["used_at"],
        bound_account_id=row["bound_account_id"],
        created_at=row["created_at"],
        revoked_at=row["revoked_at"],
    )


def challenge_record(row: Any) -> ChallengeRecord:
    return ChallengeRecord(
        id=row["id"],
        authorization_id=row["authorization_id"],
        type=row["type"],
        token=row["token"],
        status=row["status"],
        validated_at=row["validated_at"],
        error=optional_json(row["error"]),
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


def authorization_record(row: Any, found: Sequence[ChallengeRecord]) -> AuthorizationRecord:
    return AuthorizationRecord(
        id=row["id"],
        account_id=row["account_id"],
        identifier_type=row["identifier_type"],
        identifier_value=row["identifier_value"],
        wildcard=bool(row["wildcard"]),
        status=row["status"],
        expires=row["expires"],
        challenges=tuple(found),
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


def order_record(row: Any, authorization_ids: Sequence[str]) -> OrderRecord:
    return OrderRecord(
        id=row["id"],
        account_id=row["account_id"],
        profile_id=row["profile_id"],
        status=row["status"],
        expires=row["expires"],
        not_before=row["not_before"],
        not_after=row["not_after"],
        identifiers=[dict(item) for item in row["identifiers"]],
        error=optional_json(row["error"]),
        certificate_id=row["certificate_id"],
        replaces=row["replaces"],
        authorization_ids=tuple(authorization_ids),
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


def job_record(row: Any) -> ValidationJobRecord:
    return ValidationJobRecord(
        id=row["id"],
        challenge_id=row["challenge_id"],
        status=row["status"],
        attempts=int(row["attempts"]),
        claimed_by=row["claimed_by"],
        claimed_until=row["claimed_until"],
        run_after=row["run_after"],
        last_error=row["last_error"],
        created_at=row["created_at"],
    )


def check_limit(limit: int) -> int:
    if not 1 <= limit <= LIST_LIMIT_MAX:
        raise ValueError(f"limit must be between 1 and {LIST_LIMIT_MAX}, got {limit}")
    return limit


async def load_account(tx: Tx, account_id: str) -> AccountRecord:
    return account_record(await StoreBase._one(tx, accounts, account_id, "account"))


async def load_orders(tx: Tx, rows: Sequence[Row]) -> list[OrderRecord]:
    """Records for order rows, each with its authorization ids (sorted by identifier)."""
    found: dict[str, list[str]] = {row["id"]: [] for row in rows}
    if len(found) == 1:
        (only,) = found
        found[only] = [row["id"] for row in await tx.all(_AUTHZ_IDS_OF_ONE, {"id": only})]
    elif found:
        ids, params = in_list("o", found)
        sql = dynamic(
            "SELECT l.order_id, a.id FROM acme_order_authorizations l "
            "JOIN acme_authorizations a ON a.id = l.authorization_id "
            f"WHERE l.order_id IN {ids} "
            "ORDER BY a.identifier_type, a.identifier_value, a.wildcard, a.id"
        )
        for link in await tx.all(sql, params):
            found[link["order_id"]].append(link["id"])
    return [order_record(row, found[row["id"]]) for row in rows]
