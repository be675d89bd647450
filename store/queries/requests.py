"""CertificateRequest rows: what was asked (CSR or attributes) and what came of it.

A request starts `pending` and ends `issued` (attach_certificate) or `failed`
(fail_certificate_request), each a conditional write that succeeds once.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from pki_types.model import RequestMethod
from store.base import StoreBase, insert_sql
from store.certificate_filters import in_clause
from store.columns import utc_now
from store.db import Row, Sql, dynamic
from store.interface import Backend
from store.records import CertificateRequestRecord, RequestStatus
from store.schema import certificate_profiles as profiles
from store.schema import certificate_requests as requests
from store.schema import certificates as certs
from store.values import check_metadata, enum_value, new_uuid

REQUEST_STATUSES: tuple[RequestStatus, ...] = ("pending", "issued", "failed")
LIST_LIMIT_MAX = 1000

_INSERT = Sql(insert_sql(requests).text + " RETURNING *")
_BY_ID = Sql("SELECT * FROM certificate_requests WHERE id = :id")
# Also checks that the certificate exists, so a missing one writes nothing.
_ATTACH = Sql(
    "UPDATE certificate_requests SET status = 'issued', certificate_id = :certificate_id "
    "WHERE id = :id AND status = 'pending' "
    "AND EXISTS (SELECT 1 FROM certificates c WHERE c.id = :certificate_id)"
)
_FAIL = Sql(
    "UPDATE certificate_requests SET status = 'failed', error = :error "
    "WHERE id = :id AND status = 'pending'"
)


def _metadata_member(backend: Backend, key_param: str) -> str:
    """The text of the metadata member named by the parameter, or NULL (as SQLAlchemy's
    `metadata[key].as_string()` wrote it: ->> on PostgreSQL, json_extract on SQLite,
    whose parameter is then the path, see _metadata_key)."""
    if backend == "postgresql":
        return f"(certificate_requests.metadata ->> CAST(:{key_param} AS TEXT))"
    return f"CAST(json_extract(certificate_requests.metadata, :{key_param}) AS VARCHAR)"


def _metadata_key(backend: Backend, key: str) -> str:
    """The bound form of a metadata key: itself on PostgreSQL, its JSON path on SQLite."""
    return key if backend == "postgresql" else f'$."{key}"'


def _request_filters(
    backend: Backend,
    profile_id: str | None,
    status: str | None,
    certificate_id: str | None,
    metadata: Mapping[str, str] | None,
    owner_identity_id: str | None = None,
    profile_ids: Collection[str] | None = None,
) -> tuple[str, dict[str, Any]]:
    """ " WHERE ..." (or "") over certificate_requests and its parameters; only fixed
    column names reach the text, every value is bound."""
    clauses: list[str] = []
    params: dict[str, Any] = {}
    if profile_id is not None:
        clauses.append("certificate_requests.profile_id = :f_profile_id")
        params["f_profile_id"] = profile_id
    if status is not None:
        if status not in REQUEST_STATUSES:
            raise ValueError(f"status must be one of {', '.join(REQUEST_STATUSES)}; got {status!r}")
        clauses.append("certificate_requests.status = :f_status")
        params["f_status"] = status
    if certificate_id is not None:
        clauses.append("certificate_requests.certificate_id = :f_certificate_id")
        params["f_certificate_id"] = certificate_id
    if owner_identity_id is not None:
        clauses.append("certificate_requests.owner_identity_id = :f_owner_identity_id")
        params["f_owner_identity_id"] = owner_identity_id
    if profile_ids is not None:
        clause, values = in_clause("certificate_requests.profile_id", profile_ids, "f_pid")
        clauses.append(clause)
        params.update(values)
    for i, (key, value) in enumerate(check_metadata(metadata or {}).items()):
        clauses.append(f"{_metadata_member(backend, f'f_mk{i}')} = :f_mv{i}")
        params[f"f_mk{i}"] = _metadata_key(backend, key)
        params[f"f_mv{i}"] = value
    return (" WHERE " + " AND ".join(clauses) if clauses else ""), params


def request_record(row: Row) -> CertificateRequestRecord:
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
        owner_identity_id=row["owner_identity_id"],
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
        owner_identity_id: str | None = None,
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
            "owner_identity_id": owner_identity_id,
        }
        async with self._write() as tx:
            await self._require(tx, profiles, profile_id, "profile")
            row = await tx.one(_INSERT, values)
        assert row is not None  # INSERT ... RETURNING of one row
        return request_record(row)

    async def get_certificate_request(self, request_id: str) -> CertificateRequestRecord:
        async with self._read() as tx:
            return request_record(await self._one(tx, requests, request_id, "request"))

    async def attach_certificate(self, request_id: str, certificate_id: str) -> bool:
        """pending -> issued with its certificate; False if the request was not pending.
        NotFound for a missing request or certificate."""
        async with self._write() as tx:
            params = {"id": request_id, "certificate_id": certificate_id}
            if await tx.run(_ATTACH, params) == 0:
                # Nothing written: say which is missing (the certificate first), else not pending.
                await self._require(tx, certs, certificate_id, "certificate")
                await self._require(tx, requests, request_id, "request")
                return False
            return True

    async def fail_certificate_request(self, request_id: str, error: str) -> bool:
        """pending -> failed with a message; False if the request was not pending."""
        async with self._write() as tx:
            if await tx.run(_FAIL, {"id": request_id, "error": error}) == 0:
                await self._require(tx, requests, request_id, "request")
                return False
            return True

    async def list_certificate_requests(
        self,
        *,
        profile_id: str | None = None,
        status: str | None = None,
        certificate_id: str | None = None,
        metadata: Mapping[str, str] | None = None,
        owner_identity_id: str | None = None,
        profile_ids: Collection[str] | None = None,
        limit: int = 50,
        offset: int = 0,
        descending: bool = True,
    ) -> list[CertificateRequestRecord]:
        """One page of requests matching every given filter, by creation time (ties on id).
        `metadata`: the request has every one of these key=value pairs (and maybe more)."""
        if not 0 <= limit <= LIST_LIMIT_MAX or offset < 0:
            raise ValueError(f"limit must be 0-{LIST_LIMIT_MAX} and offset >= 0")
        direction = "DESC" if descending else "ASC"
        where, params = _request_filters(
            self._backend,
            profile_id,
            status,
            certificate_id,
            metadata,
            owner_identity_id,
            profile_ids,
        )
        sql = dynamic(
            f"SELECT * FROM certificate_requests{where} "
            f"ORDER BY certificate_requests.created_at {direction}, "
            f"certificate_requests.id {direction} LIMIT :limit OFFSET :offset"
        )
        async with self._read() as tx:
            rows = await tx.all(sql, {**params, "limit": limit, "offset": offset})
        return [request_record(row) for row in rows]

    async def count_certificate_requests(
        self,
        *,
        profile_id: str | None = None,
        status: str | None = None,
        certificate_id: str | None = None,
        metadata: Mapping[str, str] | None = None,
        owner_identity_id: str | None = None,
        profile_ids: Collection[str] | None = None,
    ) -> int:
        """How many requests list_certificate_requests would page through."""
        where, params = _request_filters(
            self._backend,
            profile_id,
            status,
            certificate_id,
            metadata,
            owner_identity_id,
            profile_ids,
        )
        async with self._read() as tx:
            count = await tx.value(
                dynamic(f"SELECT count(*) FROM certificate_requests{where}"), params
            )
        return int(count or 0)
