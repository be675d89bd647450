"""Issued CRLs, kept per CA by number (the number comes from next_crl_number)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from store.base import StoreBase, insert_sql
from store.columns import require_utc, utc_now
from store.db import Row, Sql
from store.records import CRLRecord
from store.schema import certificate_authorities as cas
from store.schema import crls
from store.values import new_uuid

_INSERT = Sql(insert_sql(crls).text + " RETURNING *")
_LATEST = Sql("SELECT * FROM crls WHERE ca_id = :ca_id ORDER BY number DESC LIMIT 1")
_OF_CA = Sql("SELECT * FROM crls WHERE ca_id = :ca_id ORDER BY number DESC")


def crl_record(row: Row) -> CRLRecord:
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
        async with self._write() as tx:
            await self._require(tx, cas, ca_id, "CA")
            row = await tx.one(_INSERT, values)
        assert row is not None  # INSERT ... RETURNING of one row
        return crl_record(row)

    async def latest_crl(self, ca_id: str) -> CRLRecord | None:
        """The CA's CRL with the highest number, or None before its first."""
        async with self._read() as tx:
            row = await tx.one(_LATEST, {"ca_id": ca_id})
        return None if row is None else crl_record(row)

    async def list_crls(self, ca_id: str) -> list[CRLRecord]:
        """The CA's CRLs, newest (highest number) first."""
        async with self._read() as tx:
            return [crl_record(row) for row in await tx.all(_OF_CA, {"ca_id": ca_id})]
