"""The dashboard's figures, each one aggregate statement (GROUP BY in the database, never
every row loaded): certificates counted by profile and status, certificates per UTC day
(expiring or issued) in a window, the certificates whose server-driven renewal failed,
and the ACME challenges that failed validation recently.

Every figure takes `profile_ids`, the caller's reach (acme_server/services/access.py:
None for every profile; an empty collection matches nothing). A day is the UTC date as
"YYYY-MM-DD": SQLite stores instants as naive UTC text (its first ten characters are the
date), PostgreSQL as timestamptz (formatted at UTC).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from pki_types.model import CertificateStatus
from store.acme_rows import optional_json
from store.base import StoreBase
from store.certificate_filters import in_clause
from store.certificate_rows import certificate_record
from store.columns import require_utc
from store.db import dynamic
from store.queries.renewals import RENEWAL_FAILED
from store.records import CertificateRecord

LIST_LIMIT_MAX = 1000
DayColumn = Literal["not_after", "created_at"]
_DAY_COLUMNS: tuple[DayColumn, ...] = ("not_after", "created_at")
_PENDING = CertificateStatus.PENDING.value
_ACTIVE = CertificateStatus.ACTIVE.value


@dataclass(frozen=True, slots=True)
class ProfileStatusCount:
    """How many certificates of one profile (None: its profile was deleted) have a status."""

    profile_id: str | None
    status: str
    count: int


@dataclass(frozen=True, slots=True)
class FailedValidation:
    """A challenge that failed, with what it was for: its authorization's identifier, the
    ACME account, the profile and an order the authorization belongs to."""

    challenge_id: str
    challenge_type: str
    error: dict[str, Any] | None
    failed_at: datetime
    authorization_id: str
    identifier_type: str
    identifier_value: str
    account_id: str
    profile_id: str
    order_id: str | None


def _reach(column: str, profile_ids: Collection[str] | None) -> tuple[str, dict[str, Any]]:
    """ " AND <column> IN (...)" for a limited reach, "" for every profile."""
    if profile_ids is None:
        return "", {}
    clause, params = in_clause(column, profile_ids, "r")
    return f" AND {clause}", params


def _limit(limit: int) -> int:
    if not 1 <= limit <= LIST_LIMIT_MAX:
        raise ValueError(f"limit must be 1-{LIST_LIMIT_MAX}")
    return limit


class DashboardQueries(StoreBase):
    def _day(self, column: str) -> str:
        if self._backend == "postgresql":
            return f"to_char({column} AT TIME ZONE 'UTC', 'YYYY-MM-DD')"
        return f"substr({column}, 1, 10)"

    async def certificate_counts(
        self, *, profile_ids: Collection[str] | None = None
    ) -> list[ProfileStatusCount]:
        """Certificates counted by (profile, status): one GROUP BY over the table."""
        where, params = _reach("profile_id", profile_ids)
        sql = dynamic(
            "SELECT profile_id, status, count(*) AS n FROM certificates WHERE 1 = 1"
            f"{where} GROUP BY profile_id, status"
        )
        async with self._read() as tx:
            rows = await tx.all(sql, params)
        return [ProfileStatusCount(r["profile_id"], str(r["status"]), int(r["n"])) for r in rows]

    async def certificates_per_day(
        self,
        column: DayColumn,
        *,
        start: datetime,
        end: datetime,
        profile_ids: Collection[str] | None = None,
        active_only: bool = False,
    ) -> dict[str, int]:
        """Certificates whose `column` (not_after: expiring; created_at: issued) falls in
        [start, end), counted per UTC day ("YYYY-MM-DD" -> count; days without any left
        out). Pending (unsigned) certificates are never counted; `active_only` counts the
        active ones only (what is still to expire)."""
        if column not in _DAY_COLUMNS:
            raise ValueError(f"column must be one of {', '.join(_DAY_COLUMNS)}")
        where, params = _reach("profile_id", profile_ids)
        status = f"status = '{_ACTIVE}'" if active_only else f"status <> '{_PENDING}'"
        day = self._day(column)
        sql = dynamic(
            f"SELECT {day} AS day, count(*) AS n FROM certificates "
            f"WHERE {column} >= :start AND {column} < :end AND {status}{where} "
            f"GROUP BY {day}"
        )
        params.update(start=require_utc(start, "start"), end=require_utc(end, "end"))
        async with self._read() as tx:
            rows = await tx.all(sql, params)
        return {str(r["day"]): int(r["n"]) for r in rows}

    async def failed_renewals(
        self, *, limit: int = 20, profile_ids: Collection[str] | None = None
    ) -> tuple[list[CertificateRecord], int]:
        """The active certificates whose last server-driven renewal failed (not renewed
        since), most recent failure first, and how many there are in all."""
        where, params = _reach("profile_id", profile_ids)
        condition = (
            f"WHERE renewal_status = '{RENEWAL_FAILED}' AND status = '{_ACTIVE}' "
            f"AND renewed_by_id IS NULL{where}"
        )
        page = dynamic(
            f"SELECT * FROM certificates {condition} ORDER BY updated_at DESC, id DESC LIMIT :limit"
        )
        async with self._read() as tx:
            rows = await tx.all(page, {**params, "limit": _limit(limit)})
            count = dynamic(f"SELECT count(*) FROM certificates {condition}")
            total = await tx.value(count, params)
        return [certificate_record(row, {}) for row in rows], int(total or 0)

    async def failed_validations(
        self, *, since: datetime, limit: int = 20, profile_ids: Collection[str] | None = None
    ) -> list[FailedValidation]:
        """Challenges that became invalid at or after `since`, newest first, each with its
        authorization, account, profile and (the first) order."""
        where, params = _reach("acc.profile_id", profile_ids)
        sql = dynamic(
            "SELECT c.id AS challenge_id, c.type, c.error, c.updated_at, "
            "a.id AS authz_id, a.identifier_type, a.identifier_value, a.account_id, "
            "acc.profile_id, (SELECT min(l.order_id) FROM acme_order_authorizations l "
            "WHERE l.authorization_id = a.id) AS order_id "
            "FROM acme_challenges c "
            "JOIN acme_authorizations a ON a.id = c.authorization_id "
            "JOIN acme_accounts acc ON acc.id = a.account_id "
            f"WHERE c.status = 'invalid' AND c.updated_at >= :since{where} "
            "ORDER BY c.updated_at DESC, c.id DESC LIMIT :limit"
        )
        params.update(since=require_utc(since, "since"), limit=_limit(limit))
        async with self._read() as tx:
            rows = await tx.all(sql, params)
        return [
            FailedValidation(
                challenge_id=r["challenge_id"],
                challenge_type=r["type"],
                error=optional_json(r["error"]),
                failed_at=r["updated_at"],
                authorization_id=r["authz_id"],
                identifier_type=r["identifier_type"],
                identifier_value=r["identifier_value"],
                account_id=r["account_id"],
                profile_id=r["profile_id"],
                order_id=r["order_id"],
            )
            for r in rows
        ]
