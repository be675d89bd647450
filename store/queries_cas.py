"""CertificateAuthority rows: the hierarchy, its keys (encrypted by the caller) and CRL numbers."""

from __future__ import annotations

from datetime import datetime
from typing import Any, get_args

from sqlalchemy import delete, func, select, update

from store.base import StoreBase
from store.columns import require_utc, utc_now
from store.interface import Conflict, NotFound
from store.records import CAKind, CARecord, CAStatus
from store.schema import certificate_authorities as cas
from store.schema import certificate_profiles as profiles
from store.schema import certificates, crls
from store.values import check_id, normalise_serial


def ca_record(row: Any) -> CARecord:
    return CARecord(
        id=row["id"],
        name=row["name"],
        kind=row["kind"],
        parent_id=row["parent_id"],
        status=row["status"],
        subject=row["subject"],
        key_algorithm=row["key_algorithm"],
        hash_algorithm=row["hash_algorithm"],
        certificate_pem=row["certificate_pem"],
        chain_pem=row["chain_pem"],
        encrypted_key=bytes(row["encrypted_key"]),
        serial_hex=row["serial_hex"],
        not_before=row["not_before"],
        not_after=row["not_after"],
        crl_number=int(row["crl_number"]),
        crl_distribution_url=row["crl_distribution_url"],
        aia_issuer_url=row["aia_issuer_url"],
        created_at=row["created_at"],
    )


class CAQueries(StoreBase):
    async def create_ca(
        self,
        *,
        id: str,
        name: str,
        kind: CAKind,
        parent_id: str | None,
        subject: str,
        key_algorithm: str,
        hash_algorithm: str,
        certificate_pem: str,
        chain_pem: str,
        encrypted_key: bytes,
        serial_hex: str,
        not_before: datetime,
        not_after: datetime,
        crl_distribution_url: str = "",
        aia_issuer_url: str = "",
        status: CAStatus = "active",
    ) -> CARecord:
        """Insert a CA. The caller chooses `id` (a UUID4), so the key's AAD and the CRL/AIA
        URLs can name it before the row exists. A root has no parent; an intermediate's
        parent may be None when its issuer lives outside this store (an offline root).
        Raises Conflict on a taken id or name, NotFound for a missing parent."""
        if kind not in get_args(CAKind):
            raise ValueError(f"CA kind must be 'root' or 'intermediate', got {kind!r}")
        if status not in get_args(CAStatus):
            raise ValueError(f"CA status must be 'active' or 'disabled', got {status!r}")
        if kind == "root" and parent_id is not None:
            raise ValueError("a root CA has no parent")
        values: dict[str, Any] = {
            "id": check_id(id, "CA id"),
            "name": name,
            "kind": kind,
            "parent_id": parent_id,
            "status": status,
            "subject": subject,
            "key_algorithm": key_algorithm,
            "hash_algorithm": hash_algorithm,
            "certificate_pem": certificate_pem,
            "chain_pem": chain_pem,
            "encrypted_key": encrypted_key,
            "serial_hex": normalise_serial(serial_hex),
            "not_before": require_utc(not_before, "not_before"),
            "not_after": require_utc(not_after, "not_after"),
            "crl_number": 0,
            "crl_distribution_url": crl_distribution_url,
            "aia_issuer_url": aia_issuer_url,
            "created_at": utc_now(),
        }
        async with self._write() as conn:
            if parent_id is not None:
                await self._require(conn, cas, parent_id, "parent CA")
            await conn.execute(cas.insert().values(values))
            return ca_record(await self._one(conn, cas, values["id"], "CA"))

    async def get_ca(self, ca_id: str) -> CARecord:
        async with self._read() as conn:
            return ca_record(await self._one(conn, cas, ca_id, "CA"))

    async def get_ca_by_name(self, name: str) -> CARecord:
        async with self._read() as conn:
            result = await conn.execute(select(cas).where(cas.c.name == name))
            row = result.mappings().one_or_none()
        if row is None:
            raise NotFound(f"CA named {name!r} not found")
        return ca_record(row)

    async def list_cas(self) -> list[CARecord]:
        """All CAs, oldest first (a root before the intermediates made under it)."""
        async with self._read() as conn:
            result = await conn.execute(select(cas).order_by(cas.c.created_at, cas.c.name))
            return [ca_record(row) for row in result.mappings()]

    async def set_ca_status(self, ca_id: str, status: CAStatus) -> bool:
        """Enable or disable a CA; False if it already had that status."""
        if status not in get_args(CAStatus):
            raise ValueError(f"CA status must be 'active' or 'disabled', got {status!r}")
        async with self._write() as conn:
            result = await conn.execute(
                update(cas).where(cas.c.id == ca_id, cas.c.status != status).values(status=status)
            )
            if result.rowcount == 0:
                await self._require(conn, cas, ca_id, "CA")
                return False
            return True

    async def delete_ca(self, ca_id: str) -> None:
        """Delete a CA and its CRLs. Conflict while any certificate (of any status), child CA
        or profile refers to it: a CA that has issued is disabled, never deleted, so its
        certificates stay revocable and its CRLs stay published. NotFound if there is none."""
        async with self._write() as conn:
            await self._require(conn, cas, ca_id, "CA")
            for table, column, what in (
                (certificates, certificates.c.ca_id, "certificate(s)"),
                (cas, cas.c.parent_id, "child CA(s)"),
                (profiles, profiles.c.ca_id, "profile(s)"),
            ):
                count = await conn.scalar(
                    select(func.count()).select_from(table).where(column == ca_id)
                )
                if count:
                    raise Conflict(f"CA {ca_id} still has {count} {what}")
            await conn.execute(delete(crls).where(crls.c.ca_id == ca_id))
            await conn.execute(delete(cas).where(cas.c.id == ca_id))

    async def next_crl_number(self, ca_id: str) -> int:
        """Increment the CA's CRL number and return the new value (1 for the first CRL).

        One UPDATE ... RETURNING: concurrent callers, in any process, get distinct numbers.
        """
        async with self._write() as conn:
            result = await conn.execute(
                update(cas)
                .where(cas.c.id == ca_id)
                .values(crl_number=cas.c.crl_number + 1)
                .returning(cas.c.crl_number)
            )
            number = result.scalar_one_or_none()
        if number is None:
            raise NotFound(f"CA {ca_id} not found")
        return int(number)
