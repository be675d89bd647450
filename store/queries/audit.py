"""The audit log: append-only entries, listed newest first with exact-match filters.

The store writes `details` as given; keeping secrets out of it is the caller's duty
(acme_server/services/audit.py).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from store.base import StoreBase, insert_sql
from store.columns import require_utc
from store.db import Row, dynamic
from store.records import AuditRecord
from store.schema import audit_log as audit
from store.values import new_uuid

ACTOR_MAX = 255  # schema: audit_log.actor
ACTION_MAX = 64  # schema: audit_log.action
TARGET_TYPE_MAX = 64  # schema: audit_log.target_type
TARGET_ID_MAX = 255  # schema: audit_log.target_id
LIST_LIMIT_MAX = 1000


def audit_record(row: Row) -> AuditRecord:
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
    target_type: str | None, target_id: str | None, actor: str | None, action: str | None
) -> tuple[str, dict[str, Any]]:
    """The WHERE clause (empty without filters) and its parameters; the column names come
    from this fixed list, the values are parameters."""
    given = {
        "target_type": target_type,
        "target_id": target_id,
        "actor": actor,
        "action": action,
    }
    params = {name: value for name, value in given.items() if value is not None}
    if not params:
        return "", {}
    return " WHERE " + " AND ".join(f"{name} = :{name}" for name in params), params


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
        async with self._write() as tx:
            await tx.run(insert_sql(audit), values)
            return audit_record(await self._one(tx, audit, values["id"], "audit entry"))

    async def list_audit(
        self,
        *,
        limit: int,
        offset: int,
        target_type: str | None = None,
        target_id: str | None = None,
        actor: str | None = None,
        action: str | None = None,
    ) -> list[AuditRecord]:
        """A page of entries, newest first (ties by id), matching every filter given."""
        if not 1 <= limit <= LIST_LIMIT_MAX:
            raise ValueError(f"limit must be 1-{LIST_LIMIT_MAX}")
        if offset < 0:
            raise ValueError("offset must not be negative")
        where, params = _filters(target_type, target_id, actor, action)
        sql = dynamic(
            f"SELECT * FROM audit_log{where} ORDER BY at DESC, id DESC LIMIT :limit OFFSET :offset"
        )
        async with self._read() as tx:
            rows = await tx.all(sql, {**params, "limit": limit, "offset": offset})
            return [audit_record(row) for row in rows]

    async def count_audit(
        self,
        *,
        target_type: str | None = None,
        target_id: str | None = None,
        actor: str | None = None,
        action: str | None = None,
    ) -> int:
        where, params = _filters(target_type, target_id, actor, action)
        async with self._read() as tx:
            return int(
                await tx.value(dynamic(f"SELECT count(*) FROM audit_log{where}"), params) or 0
            )
