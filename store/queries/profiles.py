"""CertificateProfile rows: policy + issuer + enrollment + defaults; at most one default.

Making a profile the default (on create or update) clears the flag on the previous default
in the same transaction; a partial unique index backs this against concurrent writers.
"""

from __future__ import annotations

from typing import Any

from pki_types.model import IssuerType
from store.base import StoreBase, changes, insert_sql, update_sql
from store.columns import utc_now
from store.db import Row, Sql, Tx
from store.interface import UNSET, Conflict, NotFound, Unset
from store.records import ProfileRecord
from store.schema import certificate_authorities as cas
from store.schema import certificate_policies as policies
from store.schema import certificate_profiles as profiles
from store.values import check_slug, enum_value, new_uuid

DEFAULT_RENEW_BEFORE_DAYS = 30

_BY_SLUG = Sql("SELECT * FROM certificate_profiles WHERE slug = :slug")
_DEFAULT = Sql("SELECT * FROM certificate_profiles WHERE is_default = :yes")
_ALL = Sql("SELECT * FROM certificate_profiles ORDER BY slug")
_CLEAR_DEFAULT = Sql("UPDATE certificate_profiles SET is_default = :no WHERE is_default = :yes")
_DELETE = Sql("DELETE FROM certificate_profiles WHERE id = :id")
_USERS = (
    (Sql("SELECT count(*) FROM acme_accounts WHERE profile_id = :id"), "ACME accounts"),
    (Sql("SELECT count(*) FROM acme_orders WHERE profile_id = :id"), "ACME orders"),
    (Sql("SELECT count(*) FROM acme_eab_keys WHERE profile_id = :id"), "EAB keys"),
)


def profile_record(row: Row) -> ProfileRecord:
    return ProfileRecord(
        id=row["id"],
        slug=row["slug"],
        name=row["name"],
        description=row["description"],
        policy_id=row["policy_id"],
        issuer_type=IssuerType(row["issuer_type"]),
        ca_id=row["ca_id"],
        enrollment=dict(row["enrollment"]),
        defaults=dict(row["defaults"]),
        auto_renew=bool(row["auto_renew"]),
        renew_before_days=int(row["renew_before_days"]),
        is_default=bool(row["is_default"]),
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


def _check_issuer(issuer_type: IssuerType, ca_id: str | None) -> None:
    if issuer_type == IssuerType.CA and ca_id is None:
        raise ValueError("a profile issued by a CA needs ca_id")
    if issuer_type == IssuerType.SELF_SIGNED and ca_id is not None:
        raise ValueError("a self-signed profile has no ca_id")


def _check_renew_before(days: int) -> int:
    if days < 0:
        raise ValueError(f"renew_before_days must be >= 0, got {days}")
    return days


class ProfileQueries(StoreBase):
    async def create_profile(
        self,
        *,
        slug: str,
        name: str,
        policy_id: str,
        issuer_type: IssuerType | str,
        ca_id: str | None = None,
        description: str = "",
        enrollment: dict[str, Any] | None = None,
        defaults: dict[str, Any] | None = None,
        auto_renew: bool = False,
        renew_before_days: int = DEFAULT_RENEW_BEFORE_DAYS,
        is_default: bool = False,
    ) -> ProfileRecord:
        """Insert a profile with a new id. Conflict on a taken slug; NotFound for a missing
        policy or CA; ValueError for a bad slug or an issuer_type/ca_id mismatch."""
        kind = enum_value(IssuerType, issuer_type, "issuer_type")
        _check_issuer(kind, ca_id)
        now = utc_now()
        values: dict[str, Any] = {
            "id": new_uuid(),
            "slug": check_slug(slug),
            "name": name,
            "description": description,
            "policy_id": policy_id,
            "issuer_type": kind.value,
            "ca_id": ca_id,
            "enrollment": enrollment or {},
            "defaults": defaults or {},
            "auto_renew": auto_renew,
            "renew_before_days": _check_renew_before(renew_before_days),
            "is_default": is_default,
            "created_at": now,
            "updated_at": now,
        }
        async with self._write() as tx:
            await self._check_references(tx, policy_id, ca_id)
            if is_default:
                await self._clear_default(tx)
            await tx.run(insert_sql(profiles), values)
            return profile_record(await self._one(tx, profiles, values["id"], "profile"))

    async def get_profile(self, profile_id: str) -> ProfileRecord:
        async with self._read() as tx:
            return profile_record(await self._one(tx, profiles, profile_id, "profile"))

    async def get_profile_by_slug(self, slug: str) -> ProfileRecord:
        async with self._read() as tx:
            row = await tx.one(_BY_SLUG, {"slug": slug})
        if row is None:
            raise NotFound(f"profile {slug!r} not found")
        return profile_record(row)

    async def get_default_profile(self) -> ProfileRecord | None:
        async with self._read() as tx:
            row = await tx.one(_DEFAULT, {"yes": True})
        return None if row is None else profile_record(row)

    async def list_profiles(self) -> list[ProfileRecord]:
        """All profiles by slug."""
        async with self._read() as tx:
            return [profile_record(row) for row in await tx.all(_ALL)]

    async def update_profile(
        self,
        profile_id: str,
        *,
        slug: str | Unset = UNSET,
        name: str | Unset = UNSET,
        description: str | Unset = UNSET,
        policy_id: str | Unset = UNSET,
        issuer_type: IssuerType | str | Unset = UNSET,
        ca_id: str | Unset | None = UNSET,
        enrollment: dict[str, Any] | Unset = UNSET,
        defaults: dict[str, Any] | Unset = UNSET,
        auto_renew: bool | Unset = UNSET,
        renew_before_days: int | Unset = UNSET,
        is_default: bool | Unset = UNSET,
    ) -> ProfileRecord:
        """Change the given fields (omitted ones stay); returns the updated profile.
        Setting is_default=True takes the flag from the current default."""
        values = changes(
            slug=slug if isinstance(slug, Unset) else check_slug(slug),
            name=name,
            description=description,
            policy_id=policy_id,
            issuer_type=(
                issuer_type
                if isinstance(issuer_type, Unset)
                else enum_value(IssuerType, issuer_type, "issuer_type").value
            ),
            ca_id=ca_id,
            enrollment=enrollment,
            defaults=defaults,
            auto_renew=auto_renew,
            renew_before_days=(
                renew_before_days
                if isinstance(renew_before_days, Unset)
                else _check_renew_before(renew_before_days)
            ),
            is_default=is_default,
        )
        async with self._write() as tx:
            current = profile_record(await self._one(tx, profiles, profile_id, "profile"))
            _check_issuer(
                IssuerType(values.get("issuer_type", current.issuer_type)),
                values.get("ca_id", current.ca_id),
            )
            await self._check_references(tx, values.get("policy_id"), values.get("ca_id"))
            if values.get("is_default") and not current.is_default:
                await self._clear_default(tx)
            values["updated_at"] = utc_now()
            await tx.run(update_sql(profiles, tuple(values)), {**values, "id": profile_id})
            return profile_record(await self._one(tx, profiles, profile_id, "profile"))

    async def delete_profile(self, profile_id: str) -> None:
        """Delete a profile. Its certificates and requests keep their rows (profile_id
        becomes None); ACME accounts, orders or EAB keys under it make this a Conflict."""
        async with self._write() as tx:
            for statement, what in _USERS:
                count = await tx.value(statement, {"id": profile_id})
                if count:
                    raise Conflict(f"profile {profile_id} still has {count} {what}")
            if await tx.run(_DELETE, {"id": profile_id}) == 0:
                raise NotFound(f"profile {profile_id} not found")

    async def _check_references(self, tx: Tx, policy_id: str | None, ca_id: str | None) -> None:
        if policy_id is not None:
            await self._require(tx, policies, policy_id, "policy")
        if ca_id is not None:
            await self._require(tx, cas, ca_id, "CA")

    @staticmethod
    async def _clear_default(tx: Tx) -> None:
        await tx.run(_CLEAR_DEFAULT, {"yes": True, "no": False})
