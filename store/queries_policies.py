"""CertificatePolicy rows; `rules` is the policy engine's JSON document, stored as given."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, func, select, update

from store.base import StoreBase, changes
from store.columns import utc_now
from store.interface import UNSET, Conflict, NotFound, Unset
from store.records import PolicyRecord
from store.schema import certificate_policies as policies
from store.schema import certificate_profiles as profiles
from store.values import new_uuid


def policy_record(row: Any) -> PolicyRecord:
    return PolicyRecord(
        id=row["id"],
        name=row["name"],
        description=row["description"],
        rules=dict(row["rules"]),
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


class PolicyQueries(StoreBase):
    async def create_policy(
        self, *, name: str, rules: dict[str, Any], description: str = ""
    ) -> PolicyRecord:
        """Insert a policy with a new id; Conflict if the name is taken."""
        now = utc_now()
        policy_id = new_uuid()
        async with self._write() as conn:
            await conn.execute(
                policies.insert().values(
                    id=policy_id,
                    name=name,
                    description=description,
                    rules=rules,
                    created_at=now,
                    updated_at=now,
                )
            )
            return policy_record(await self._one(conn, policies, policy_id, "policy"))

    async def get_policy(self, policy_id: str) -> PolicyRecord:
        async with self._read() as conn:
            return policy_record(await self._one(conn, policies, policy_id, "policy"))

    async def get_policy_by_name(self, name: str) -> PolicyRecord:
        async with self._read() as conn:
            result = await conn.execute(select(policies).where(policies.c.name == name))
            row = result.mappings().one_or_none()
        if row is None:
            raise NotFound(f"policy named {name!r} not found")
        return policy_record(row)

    async def list_policies(self) -> list[PolicyRecord]:
        """All policies by name."""
        async with self._read() as conn:
            result = await conn.execute(select(policies).order_by(policies.c.name))
            return [policy_record(row) for row in result.mappings()]

    async def update_policy(
        self,
        policy_id: str,
        *,
        name: str | Unset = UNSET,
        description: str | Unset = UNSET,
        rules: dict[str, Any] | Unset = UNSET,
    ) -> PolicyRecord:
        """Change the given fields (omitted ones stay); returns the updated policy."""
        values = changes(name=name, description=description, rules=rules)
        async with self._write() as conn:
            result = await conn.execute(
                update(policies)
                .where(policies.c.id == policy_id)
                .values(**values, updated_at=utc_now())
            )
            if result.rowcount == 0:
                raise NotFound(f"policy {policy_id} not found")
            return policy_record(await self._one(conn, policies, policy_id, "policy"))

    async def delete_policy(self, policy_id: str) -> None:
        """Delete a policy; Conflict while a profile uses it, NotFound if there is none."""
        async with self._write() as conn:
            in_use = await conn.scalar(
                select(func.count()).select_from(profiles).where(profiles.c.policy_id == policy_id)
            )
            if in_use:
                raise Conflict(f"policy {policy_id} is used by {in_use} profile(s)")
            result = await conn.execute(delete(policies).where(policies.c.id == policy_id))
            if result.rowcount == 0:
                raise NotFound(f"policy {policy_id} not found")
