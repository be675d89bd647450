"""The WHERE and ORDER BY of certificate listings, shared by list and count.

The SQL text only ever names columns from the fixed lists here; every value a caller
passes (status, ids, the name needle, instants, metadata pairs) is a bound parameter.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pki_types.model import CertificateStatus
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

LIKE_ESCAPE = "/"


@dataclass(frozen=True, slots=True)
class CertificateFilters:
    """Every given filter must hold.

    name_contains: case-insensitive substring of the common name or the friendly name.
    expires_before: not_after strictly before this instant (aware UTC).
    expires_after: not_after at or after this instant (aware UTC), e.g. "not yet expired".
    metadata: the certificate has every one of these key=value pairs (and maybe more).
    owner_identity_id: the certificate belongs to this machine identity.
    profile_ids: the certificate's profile is one of these (empty: none matches); the
    reach of a caller granted some profiles (acme_server/services/access.py).
    """

    status: CertificateStatus | str | None = None
    profile_id: str | None = None
    ca_id: str | None = None
    name_contains: str | None = None
    expires_before: datetime | None = None
    expires_after: datetime | None = None
    metadata: Mapping[str, str] | None = None
    owner_identity_id: str | None = None
    profile_ids: Collection[str] | None = None


def in_clause(column: str, values: Collection[str], prefix: str) -> tuple[str, dict[str, Any]]:
    """`column IN (:p0, :p1, ...)` with its parameters; a clause no row meets when
    `values` is empty."""
    if not values:
        return "1 = 0", {}
    params = {f"{prefix}{i}": value for i, value in enumerate(sorted(values))}
    return f"{column} IN ({', '.join(':' + name for name in params)})", params


def contains_pattern(needle: str) -> str:
    """A LIKE pattern (ESCAPE '/') matching `needle` anywhere, its % and _ taken literally."""
    escaped = (
        needle.replace(LIKE_ESCAPE, LIKE_ESCAPE * 2)
        .replace("%", LIKE_ESCAPE + "%")
        .replace("_", LIKE_ESCAPE + "_")
    )
    return f"%{escaped}%"


def filter_sql(filters: CertificateFilters) -> tuple[str, dict[str, Any]]:
    """The WHERE clause over `certificates` (" WHERE ..." or "" when nothing is
    filtered) and its parameters. ValueError for an unknown status."""
    clauses: list[str] = []
    params: dict[str, Any] = {}
    if filters.status is not None:
        status = enum_value(CertificateStatus, filters.status, "status")
        clauses.append("certificates.status = :f_status")
        params["f_status"] = status.value
    if filters.profile_id is not None:
        clauses.append("certificates.profile_id = :f_profile_id")
        params["f_profile_id"] = filters.profile_id
    if filters.ca_id is not None:
        clauses.append("certificates.ca_id = :f_ca_id")
        params["f_ca_id"] = filters.ca_id
    if filters.owner_identity_id is not None:
        clauses.append("certificates.owner_identity_id = :f_owner_identity_id")
        params["f_owner_identity_id"] = filters.owner_identity_id
    if filters.profile_ids is not None:
        clause, values = in_clause("certificates.profile_id", filters.profile_ids, "f_pid")
        clauses.append(clause)
        params.update(values)
    if filters.name_contains:
        # lower() on both sides: LIKE is case-sensitive on PostgreSQL.
        clauses.append(
            f"(lower(certificates.common_name) LIKE :f_name ESCAPE '{LIKE_ESCAPE}'"
            f" OR lower(certificates.friendly_name) LIKE :f_name ESCAPE '{LIKE_ESCAPE}')"
        )
        params["f_name"] = contains_pattern(filters.name_contains.lower())
    if filters.expires_before is not None:
        clauses.append("certificates.not_after < :f_expires_before")
        params["f_expires_before"] = filters.expires_before
    if filters.expires_after is not None:
        clauses.append("certificates.not_after >= :f_expires_after")
        params["f_expires_after"] = filters.expires_after
    for i, (key, value) in enumerate((filters.metadata or {}).items()):
        clauses.append(
            "EXISTS (SELECT 1 FROM certificate_metadata m"
            " WHERE m.certificate_id = certificates.id"
            f' AND m."key" = :f_mk{i} AND m.value = :f_mv{i})'
        )
        params[f"f_mk{i}"] = key
        params[f"f_mv{i}"] = value
    return (" WHERE " + " AND ".join(clauses) if clauses else ""), params


def order_sql(order_by: str, descending: bool) -> str:
    """ " ORDER BY <column>, id" in either direction; ValueError unless `order_by` is one
    of ORDER_COLUMNS (so only those names reach the SQL text)."""
    if order_by not in ORDER_COLUMNS:
        raise ValueError(f"order_by must be one of {', '.join(ORDER_COLUMNS)}; got {order_by!r}")
    direction = "DESC" if descending else "ASC"
    return f" ORDER BY certificates.{order_by} {direction}, certificates.id {direction}"
