"""CertificateRequest rows: what was asked (CSR or attributes) and what came of it.

A request starts `pending` and ends `issued` (attach_certificate) or `failed`
(fail_certificate_request), each a conditional write that succeeds once.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import update

from policy.model import RequestMethod
from store.base import StoreBase
from store.columns import utc_now
from store.records import CertificateRequestRecord
from store.schema import certificate_profiles as profiles
from store.schema import certificate_requests as requests
from store.schema import certificates as certs
from store.values import check_metadata, enum_value, new_uuid


def request_record(row: Any) -> CertificateRequestRecord:
    return CertificateRequestRecord(
        id=row["id"],
        profile_id=row["profile_id"],
        method=RequestMethod(row["method"]),
        csr_pem=row["csr_pem"],
        attributes=dict(row["attributes"]),
        metadata=dict(row["metadata"]),
        status=row["status"],
        certificate_id=row["certificate_id"],
        error=row["error"],
        created_at=row["created_at"],
    )


class RequestQueries(StoreBase):
    async def create_certificate_request(
        self,
        *,
        profile_id: str,
        method: RequestMethod | str,
        csr_pem: str | None = None,
        attributes: dict[str, Any] | None = None,
        metadata: Mapping[str, str] | None = None,
    ) -> CertificateRequestRecord:
        """Insert a `pending` request with a new id; NotFound for a missing profile."""
        values: dict[str, Any] = {
            "id": new_uuid(),
            "profile_id": profile_id,
            "method": enum_value(RequestMethod, method, "method").value,
            "csr_pem": csr_pem,
            "attributes": attributes or {},
            "metadata": check_metadata(metadata or {}),
            "status": "pending",
            "certificate_id": None,
            "error": None,
            "created_at": utc_now(),
        }
        async with self._write() as conn:
            await self._require(conn, profiles, profile_id, "profile")
            await conn.execute(requests.insert().values(values))
            return request_record(await self._one(conn, requests, values["id"], "request"))

    async def get_certificate_request(self, request_id: str) -> CertificateRequestRecord:
        async with self._read() as conn:
            return request_record(await self._one(conn, requests, request_id, "request"))

    async def attach_certificate(self, request_id: str, certificate_id: str) -> bool:
        """pending -> issued with its certificate; False if the request was not pending.
        NotFound for a missing request or certificate."""
        async with self._write() as conn:
            await self._require(conn, certs, certificate_id, "certificate")
            result = await conn.execute(
                update(requests)
                .where(requests.c.id == request_id, requests.c.status == "pending")
                .values(status="issued", certificate_id=certificate_id)
            )
            if result.rowcount == 0:
                await self._require(conn, requests, request_id, "request")
                return False
            return True

    async def fail_certificate_request(self, request_id: str, error: str) -> bool:
        """pending -> failed with a message; False if the request was not pending."""
        async with self._write() as conn:
            result = await conn.execute(
                update(requests)
                .where(requests.c.id == request_id, requests.c.status == "pending")
                .values(status="failed", error=error)
            )
            if result.rowcount == 0:
                await self._require(conn, requests, request_id, "request")
                return False
            return True
