"""Issued CRLs, kept per CA by number (the number comes from next_crl_number)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select

from store.base import StoreBase
from store.columns import require_utc, utc_now
from store.records import CRLRecord
from store.schema import certificate_authorities as cas
from store.schema import crls
from store.values import new_uuid


def crl_record(row: Any) -> CRLRecord:
    return CRLRecord(
        id=row["id"],
        ca_id=row["ca_id"],
        number=int(row["number"]),
        der=bytes(row["der"]),
        this_update=row["this_update"],
        next_update=row["next_update"],
        created_at=row["created_at"],
    )


class CRLQueries(StoreBase):
    async def insert_crl(
        self,
        *,
        ca_id: str,
        number: int,
        der: bytes,
        this_update: datetime,
        next_update: datetime,
    ) -> CRLRecord:
        """Store a signed CRL with a new id; Conflict if the CA already has this number,
        NotFound for a missing CA."""
        if number < 1:
            raise ValueError(f"CRL numbers start at 1, got {number}")
        values: dict[str, Any] = {
            "id": new_uuid(),
            "ca_id": ca_id,
            "number": number,
            "der": der,
            "this_update": require_utc(this_update, "this_update"),
            "next_update": require_utc(next_update, "next_update"),
            "created_at": utc_now(),
        }
        async with self._write() as conn:
            await self._require(conn, cas, ca_id, "CA")
            await conn.execute(crls.insert().values(values))
            return crl_record(await self._one(conn, crls, values["id"], "CRL"))

    async def latest_crl(self, ca_id: str) -> CRLRecord | None:
        """The CA's CRL with the highest number, or None before its first."""
        query = select(crls).where(crls.c.ca_id == ca_id).order_by(crls.c.number.desc()).limit(1)
        async with self._read() as conn:
            row = (await conn.execute(query)).mappings().one_or_none()
        return None if row is None else crl_record(row)

    async def list_crls(self, ca_id: str) -> list[CRLRecord]:
        """The CA's CRLs, newest (highest number) first."""
        query = select(crls).where(crls.c.ca_id == ca_id).order_by(crls.c.number.desc())
        async with self._read() as conn:
            return [crl_record(row) for row in (await conn.execute(query)).mappings()]
