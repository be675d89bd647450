"""The WHERE and ORDER BY of certificate listings, shared by list and count.

The SQL text only ever names columns from the fixed lists here; every value a caller
passes (status, ids, the name needle, instants, metadata pairs) is a bound parameter.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pki_types.model import CertificateStatus, RequestMethod
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
SEPARATOR = "\n"


def search_text(common_name: str, friendly_name: str, sans: Collection[Mapping[str, str]]) -> str:
    """The `search_text` column of a certificate: its common name, friendly name and SAN
    values, lower-cased, one per line (a needle holding a line break matches nothing)."""
    values = [common_name, friendly_name, *(san["value"] for san in sans)]
    return SEPARATOR.join(value.replace(SEPARATOR, " ").lower() for value in values)


@dataclass(frozen=True, slots=True)
class CertificateFilters:
    """Every given filter must hold.

    name_contains: case-insensitive substring of the common name or the friendly name.
    search: case-insensitive substring of the common name, the friendly name or any SAN
    value (matched in the `search_text` column, see search_text()).
    request_method: how it was enrolled (acme, api_managed, api_csr, system).
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
    search: str | None = None
    request_method: RequestMethod | str | None = None
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


def filter_sql(
    filters: CertificateFilters, table: str = "certificates"
) -> tuple[str, dict[str, Any]]:
    """The WHERE clause over `certificates` (" WHERE ..." or "" when nothing is
    filtered) and its parameters. ValueError for an unknown status. `table`: the name the
    clauses qualify columns with (the search's CTE, see listing_source); `search` is not
    applied here."""
    t = table
    clauses: list[str] = []
    params: dict[str, Any] = {}
    if filters.status is not None:
        status = enum_value(CertificateStatus, filters.status, "status")
        clauses.append(f"{t}.status = :f_status")
        params["f_status"] = status.value
    if filters.profile_id is not None:
        clauses.append(f"{t}.profile_id = :f_profile_id")
        params["f_profile_id"] = filters.profile_id
    if filters.ca_id is not None:
        clauses.append(f"{t}.ca_id = :f_ca_id")
        params["f_ca_id"] = filters.ca_id
    if filters.owner_identity_id is not None:
        clauses.append(f"{t}.owner_identity_id = :f_owner_identity_id")
        params["f_owner_identity_id"] = filters.owner_identity_id
    if filters.profile_ids is not None:
        clause, values = in_clause(f"{t}.profile_id", filters.profile_ids, "f_pid")
        clauses.append(clause)
        params.update(values)
    if filters.name_contains:
        # lower() on both sides: LIKE is case-sensitive on PostgreSQL.
        clauses.append(
            f"(lower({t}.common_name) LIKE :f_name ESCAPE '{LIKE_ESCAPE}'"
            f" OR lower({t}.friendly_name) LIKE :f_name ESCAPE '{LIKE_ESCAPE}')"
        )
        params["f_name"] = contains_pattern(filters.name_contains.lower())
    if filters.request_method is not None:
        method = enum_value(RequestMethod, filters.request_method, "request_method")
        clauses.append(f"{t}.request_method = :f_request_method")
        params["f_request_method"] = method.value
    if filters.expires_before is not None:
        clauses.append(f"{t}.not_after < :f_expires_before")
        params["f_expires_before"] = filters.expires_before
    if filters.expires_after is not None:
        clauses.append(f"{t}.not_after >= :f_expires_after")
        params["f_expires_after"] = filters.expires_after
    # IN rather than a correlated EXISTS: both planners can start from the (key, value)
    # index when a pair is rare instead of probing every certificate.
    for i, (key, value) in enumerate((filters.metadata or {}).items()):
        clauses.append(
            f"{t}.id IN (SELECT m.certificate_id FROM certificate_metadata m"
            f' WHERE m."key" = :f_mk{i} AND m.value = :f_mv{i})'
        )
        params[f"f_mk{i}"] = key
        params[f"f_mv{i}"] = value
    return (" WHERE " + " AND ".join(clauses) if clauses else ""), params


# The search index holds the rows whose search_text is at most this long (in characters,
# at most 4 bytes each: PostgreSQL's btree entries hold ~2.7 KB); the longer ones (many
# SANs) are found through an index of their ids and read from the table.
SEARCH_INDEXED_LENGTH = 500
SHORT_SEARCH = f"length(search_text) <= {SEARCH_INDEXED_LENGTH}"
LONG_SEARCH = f"length(search_text) > {SEARCH_INDEXED_LENGTH}"

# What a search's CTE carries: every column the other filters and the inventory's sorts
# read, so nothing after the search touches the (wide) rows but the page's own.
SEARCH_COLUMNS = (
    "id",
    "status",
    "profile_id",
    "ca_id",
    "request_method",
    "not_after",
    "created_at",
    "common_name",
    "owner_identity_id",
)


def listing_source(filters: CertificateFilters, order_by: str) -> tuple[str, str, dict[str, Any]]:
    """(WITH prefix, table name, parameters) the listing reads from: `certificates`
    itself, or with a search the MATERIALIZED CTE `found` of the matching certificates.

    The CTE is a planning fence: a search reads its matches once (from the narrow index
    ix_certificates_search, which holds every SEARCH_COLUMNS, and the few long rows) and
    filters and sorts them, whatever their number. Without it PostgreSQL's generic plan
    (a prepared statement after five runs) walks the sort index and probes every row for
    the LIKE, 100,000 heap reads when nothing matches."""
    if not filters.search:
        return "", "certificates", {}
    needle = filters.search.lower()
    columns = list(SEARCH_COLUMNS)
    if order_by not in columns:
        columns.append(order_by)
    if filters.name_contains:
        columns.append("friendly_name")
    picked = ", ".join(f"c.{column}" for column in columns)
    # no single name holds a line break, so such a needle matches nothing
    if SEPARATOR in needle:
        return (
            f"WITH found AS MATERIALIZED (SELECT {picked} FROM certificates c WHERE 1 = 0) ",
            "found",
            {},
        )
    like = f"c.search_text LIKE :f_search ESCAPE '{LIKE_ESCAPE}'"
    # Two partial indexes split the rows at SEARCH_INDEXED_LENGTH (their predicates are
    # written here exactly as in schema.py, so both planners use them).
    prefix = (
        f"WITH found AS MATERIALIZED (SELECT {picked} FROM certificates c"
        f" WHERE {SHORT_SEARCH} AND {like}"
        f" UNION ALL SELECT {picked} FROM certificates c WHERE {LONG_SEARCH} AND {like}) "
    )
    return prefix, "found", {"f_search": contains_pattern(needle)}


def count_sql(filters: CertificateFilters) -> tuple[str, dict[str, Any]]:
    """SELECT count(*) of the certificates `filters` pick, and its parameters."""
    prefix, table, params = listing_source(filters, "created_at")
    where, more = filter_sql(filters, table)
    return f"{prefix}SELECT count(*) FROM {table}{where}", {**params, **more}


def page_sql(
    filters: CertificateFilters, order_by: str, descending: bool
) -> tuple[str, dict[str, Any]]:
    """SELECT of one page (:limit, :offset) of the certificates `filters` pick, and its
    parameters. The page's ids are found first, ordered by "<column>, id": that reads
    only indexes where they cover the filter and, when a sort is needed, sorts narrow
    rows, not the PEMs; then only the page's rows are read."""
    order_sql(order_by, descending)  # ValueError before any name reaches the text
    prefix, table, params = listing_source(filters, order_by)
    where, more = filter_sql(filters, table)
    inner = (
        f"{prefix}SELECT {table}.id FROM {table}{where}"
        f"{order_sql(order_by, descending, table)} LIMIT :limit OFFSET :offset"
    )
    sql = (
        f"SELECT * FROM certificates WHERE certificates.id IN ({inner})"
        f"{order_sql(order_by, descending)}"
    )
    return sql, {**params, **more}


def order_sql(order_by: str, descending: bool, table: str = "certificates") -> str:
    """ " ORDER BY <column>, id" in either direction; ValueError unless `order_by` is one
    of ORDER_COLUMNS (so only those names reach the SQL text)."""
    if order_by not in ORDER_COLUMNS:
        raise ValueError(f"order_by must be one of {', '.join(ORDER_COLUMNS)}; got {order_by!r}")
    direction = "DESC" if descending else "ASC"
    return f" ORDER BY {table}.{order_by} {direction}, {table}.id {direction}"
