"""The audit log: append-only entries, listed newest first with exact-match filters.

The store writes `details` as given; keeping secrets out of it is the caller's duty
(acme_server/services/audit.py).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, func, select

from store.base import StoreBase
from store.columns import require_utc
from store.records import AuditRecord
from store.schema import audit_log as audit
from store.values import new_uuid

ACTOR_MAX = 255  # schema: audit_log.actor
ACTION_MAX = 64  # schema: audit_log.action
TARGET_TYPE_MAX = 64  # schema: audit_log.target_type
TARGET_ID_MAX = 255  # schema: audit_log.target_id
LIST_LIMIT_MAX = 1000


def audit_record(row: Any) -> AuditRecord:
    return AuditRecord(
        id=row["id"],
        at=row["at"],
        actor=row["actor"],
        action=row["action"],
        target_type=row["target_type"],
        target_id=row["target_id"],
        details=dict(row["details"]),
    )


def _filters(
    target_type: str | None, target_id: str | None, actor: str | None
) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = []
    if target_type is not None:
        where.append(audit.c.target_type == target_type)
    if target_id is not None:
        where.append(audit.c.target_id == target_id)
    if actor is not None:
        where.append(audit.c.actor == actor)
    return where


class AuditQueries(StoreBase):
    async def add_audit(
        self,
        *,
        at: datetime,
        actor: str,
        action: str,
        target_type: str,
        target_id: str | None,
        details: dict[str, Any],
    ) -> AuditRecord:
        """Append an entry with a new id; ValueError for empty or over-long fields."""
        for value, limit, what in (
            (actor, ACTOR_MAX, "actor"),
            (action, ACTION_MAX, "action"),
            (target_type, TARGET_TYPE_MAX, "target_type"),
        ):
            if not value or len(value) > limit:
                raise ValueError(f"{what} must be 1-{limit} characters")
        if target_id is not None and len(target_id) > TARGET_ID_MAX:
            raise ValueError(f"target_id must be at most {TARGET_ID_MAX} characters")
        values: dict[str, Any] = {
            "id": new_uuid(),
            "at": require_utc(at, "at"),
            "actor": actor,
            "action": action,
            "target_type": target_type,
            "target_id": target_id,
            "details": dict(details),
        }
        async with self._write() as conn:
            await conn.execute(audit.insert().values(values))
            return audit_record(await self._one(conn, audit, values["id"], "audit entry"))

    async def list_audit(
        self,
        *,
        limit: int,
        offset: int,
        target_type: str | None = None,
        target_id: str | None = None,
        actor: str | None = None,
    ) -> list[AuditRecord]:
        """A page of entries, newest first (ties by id), matching every filter given."""
        if not 1 <= limit <= LIST_LIMIT_MAX:
            raise ValueError(f"limit must be 1-{LIST_LIMIT_MAX}")
        if offset < 0:
            raise ValueError("offset must not be negative")
        query = (
            select(audit)
            .where(*_filters(target_type, target_id, actor))
            .order_by(audit.c.at.desc(), audit.c.id.desc())
            .limit(limit)
            .offset(offset)
        )
        async with self._read() as conn:
            result = await conn.execute(query)
            return [audit_record(row) for row in result.mappings()]

    async def count_audit(
        self,
        *,
        target_type: str | None = None,
        target_id: str | None = None,
        actor: str | None = None,
    ) -> int:
        query = (
            select(func.count()).select_from(audit).where(*_filters(target_type, target_id, actor))
        )
        async with self._read() as conn:
            return int(await conn.scalar(query) or 0)
