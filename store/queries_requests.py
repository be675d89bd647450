"""CertificateRequest rows: what was asked (CSR or attributes) and what came of it.

A request starts `pending` and ends `issued` (attach_certificate) or `failed`
(fail_certificate_request), each a conditional write that succeeds once.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import ColumnElement, func, select, update

from policy.model import RequestMethod
from store.base import StoreBase
from store.columns import utc_now
from store.records import CertificateRequestRecord, RequestStatus
from store.schema import certificate_profiles as profiles
from store.schema import certificate_requests as requests
from store.schema import certificates as certs
from store.values import check_metadata, enum_value, new_uuid

REQUEST_STATUSES: tuple[RequestStatus, ...] = ("pending", "issued", "failed")
LIST_LIMIT_MAX = 1000


def _request_filters(
    profile_id: str | None,
    status: str | None,
    certificate_id: str | None,
    metadata: Mapping[str, str] | None,
) -> list[ColumnElement[bool]]:
    clauses: list[ColumnElement[bool]] = []
    if profile_id is not None:
        clauses.append(requests.c.profile_id == profile_id)
    if status is not None:
        if status not in REQUEST_STATUSES:
            raise ValueError(f"status must be one of {', '.join(REQUEST_STATUSES)}; got {status!r}")
        clauses.append(requests.c.status == status)
    if certificate_id is not None:
        clauses.append(requests.c.certificate_id == certificate_id)
    for key, value in check_metadata(metadata or {}).items():
        # JSON ->> on PostgreSQL, json_extract on SQLite: the text of the member, or NULL.
        clauses.append(requests.c.metadata[key].as_string() == value)
    return clauses


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

    async def list_certificate_requests(
        self,
        *,
        profile_id: str | None = None,
        status: str | None = None,
        certificate_id: str | None = None,
        metadata: Mapping[str, str] | None = None,
        limit: int = 50,
        offset: int = 0,
        descending: bool = True,
    ) -> list[CertificateRequestRecord]:
        """One page of requests matching every given filter, by creation time (ties on id).
        `metadata`: the request has every one of these key=value pairs (and maybe more)."""
        if not 0 <= limit <= LIST_LIMIT_MAX or offset < 0:
            raise ValueError(f"limit must be 0-{LIST_LIMIT_MAX} and offset >= 0")
        order = (
            [requests.c.created_at.desc(), requests.c.id.desc()]
            if descending
            else [requests.c.created_at.asc(), requests.c.id.asc()]
        )
        query = (
            select(requests)
            .where(*_request_filters(profile_id, status, certificate_id, metadata))
            .order_by(*order)
            .limit(limit)
            .offset(offset)
        )
        async with self._read() as conn:
            return [request_record(row) for row in (await conn.execute(query)).mappings()]

    async def count_certificate_requests(
        self,
        *,
        profile_id: str | None = None,
        status: str | None = None,
        certificate_id: str | None = None,
        metadata: Mapping[str, str] | None = None,
    ) -> int:
        """How many requests list_certificate_requests would page through."""
        query = (
            select(func.count())
            .select_from(requests)
            .where(*_request_filters(profile_id, status, certificate_id, metadata))
        )
        async with self._read() as conn:
            return int(await conn.scalar(query) or 0)
