"""CertificatePolicy rows; `rules` is the policy engine's JSON document, stored as given."""

from __future__ import annotations

from typing import Any

from store.base import StoreBase, changes, insert_sql, update_sql
from store.columns import utc_now
from store.db import Row, Sql
from store.interface import UNSET, Conflict, NotFound, Unset
from store.records import PolicyRecord
from store.schema import certificate_policies as policies
from store.values import new_uuid

_BY_NAME = Sql("SELECT * FROM certificate_policies WHERE name = :name")
_ALL = Sql("SELECT * FROM certificate_policies ORDER BY name")
_PROFILES_USING = Sql("SELECT count(*) FROM certificate_profiles WHERE policy_id = :id")
_DELETE = Sql("DELETE FROM certificate_policies WHERE id = :id")


def policy_record(row: Row) -> PolicyRecord:
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
        values = {
            "id": policy_id,
            "name": name,
            "description": description,
            "rules": rules,
            "created_at": now,
            "updated_at": now,
        }
        async with self._write() as tx:
            await tx.run(insert_sql(policies), values)
            return policy_record(await self._one(tx, policies, policy_id, "policy"))

    async def get_policy(self, policy_id: str) -> PolicyRecord:
        async with self._read() as tx:
            return policy_record(await self._one(tx, policies, policy_id, "policy"))

    async def get_policy_by_name(self, name: str) -> PolicyRecord:
        async with self._read() as tx:
            row = await tx.one(_BY_NAME, {"name": name})
        if row is None:
            raise NotFound(f"policy named {name!r} not found")
        return policy_record(row)

    async def list_policies(self) -> list[PolicyRecord]:
        """All policies by name."""
        async with self._read() as tx:
            return [policy_record(row) for row in await tx.all(_ALL)]

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
        values["updated_at"] = utc_now()
        statement = update_sql(policies, tuple(values))
        async with self._write() as tx:
            if await tx.run(statement, {**values, "id": policy_id}) == 0:
                raise NotFound(f"policy {policy_id} not found")
            return policy_record(await self._one(tx, policies, policy_id, "policy"))

    async def delete_policy(self, policy_id: str) -> None:
        """Delete a policy; Conflict while a profile uses it, NotFound if there is none."""
        async with self._write() as tx:
            in_use = await tx.value(_PROFILES_USING, {"id": policy_id})
            if in_use:
                raise Conflict(f"policy {policy_id} is used by {in_use} profile(s)")
            if await tx.run(_DELETE, {"id": policy_id}) == 0:
                raise NotFound(f"policy {policy_id} not found")
