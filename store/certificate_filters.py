"""The WHERE and ORDER BY of certificate listings, shared by list and count."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, UnaryExpression, exists, func, or_

from policy.model import CertificateStatus
from store.schema import certificate_metadata as cert_meta
from store.schema import certificates as certs
from store.values import enum_value

ORDER_COLUMNS = (
    "created_at",
    "updated_at",
    "not_before",
    "not_after",
    "common_name",
    "serial_hex",
    "status",
)


@dataclass(frozen=True, slots=True)
class CertificateFilters:
    """Every given filter must hold.

    name_contains: case-insensitive substring of the common name or the friendly name.
    expires_before: not_after strictly before this instant (aware UTC).
    expires_after: not_after at or after this instant (aware UTC), e.g. "not yet expired".
    metadata: the certificate has every one of these key=value pairs (and maybe more).
    """

    status: CertificateStatus | str | None = None
    profile_id: str | None = None
    ca_id: str | None = None
    name_contains: str | None = None
    expires_before: datetime | None = None
    expires_after: datetime | None = None
    metadata: Mapping[str, str] | None = None


def filter_clauses(filters: CertificateFilters) -> list[ColumnElement[bool]]:
    clauses: list[ColumnElement[bool]] = []
    if filters.status is not None:
        status = enum_value(CertificateStatus, filters.status, "status")
        clauses.append(certs.c.status == status.value)
    if filters.profile_id is not None:
        clauses.append(certs.c.profile_id == filters.profile_id)
    if filters.ca_id is not None:
        clauses.append(certs.c.ca_id == filters.ca_id)
    if filters.name_contains:
        needle = filters.name_contains.lower()
        clauses.append(
            or_(
                func.lower(certs.c.common_name).contains(needle, autoescape=True),
                func.lower(certs.c.friendly_name).contains(needle, autoescape=True),
            )
        )
    if filters.expires_before is not None:
        clauses.append(certs.c.not_after < filters.expires_before)
    if filters.expires_after is not None:
        clauses.append(certs.c.not_after >= filters.expires_after)
    for key, value in (filters.metadata or {}).items():
        clauses.append(
            exists().where(
                cert_meta.c.certificate_id == certs.c.id,
                cert_meta.c.key == key,
                cert_meta.c.value == value,
            )
        )
    return clauses


def order_clauses(order_by: str, descending: bool) -> list[UnaryExpression[object]]:
    if order_by not in ORDER_COLUMNS:
        raise ValueError(f"order_by must be one of {', '.join(ORDER_COLUMNS)}; got {order_by!r}")
    column = certs.c[order_by]
    tie = certs.c.id
    if descending:
        return [column.desc(), tie.desc()]
    return [column.asc(), tie.asc()]
