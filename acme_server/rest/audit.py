"""GET /api/v1/audit-logs: the audit log, newest first, filtered by target, actor or action."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute

from acme_server.rest.common import iso, services_of
from acme_server.rest.guard import ApiRoute
from acme_server.rest.query import Param, declares, parse_query, query
from acme_server.services import audit
from acme_server.services.roles import Permission
from store import AuditRecord

DEFAULT_LIMIT = 100
FILTER_MAX = 255  # the longest audit_log column a filter compares with
MAX_OFFSET = 2**31 - 1
AUDIT_LIST_QUERY = query(
    Param(
        "limit",
        "integer",
        "Page size",
        minimum=1,
        maximum=audit.LIST_LIMIT_MAX,
        default=DEFAULT_LIMIT,
    ),
    Param(
        "offset",
        "integer",
        "Entries skipped before the page",
        minimum=0,
        maximum=MAX_OFFSET,
        default=0,
    ),
    Param(
        "targetType",
        description="Only entries about this kind of object (certificate, ca, ...)",
        max_length=FILTER_MAX,
    ),
    Param("targetId", description="Only entries about this object (id)", max_length=FILTER_MAX),
    Param("actor", description="Only entries by this actor", max_length=FILTER_MAX),
    Param(
        "action",
        description="Only entries of this action (certificate.revoke, identity.create, ...)",
        max_length=audit.ACTION_MAX,
    ),
)


def render_entry(entry: AuditRecord) -> dict[str, Any]:
    return {
        "id": entry.id,
        "at": iso(entry.at),
        "actor": entry.actor,
        "action": entry.action,
        "targetType": entry.target_type,
        "targetId": entry.target_id,
        "details": entry.details,
    }


@declares(AUDIT_LIST_QUERY)
async def list_audit_logs(request: Request) -> Response:
    """GET /api/v1/audit-logs -- the audit log, newest first.

    Paged by offset and limit; the filters (targetType, targetId, actor, action) must all
    match.
    Response 200: {"auditLogs": [{id, at, actor, action, targetType, targetId, details}],
    "totalCount"}.
    """
    given = parse_query(AUDIT_LIST_QUERY, request)
    limit, offset = given["limit"], given["offset"]
    filters = {
        "target_type": given["targetType"],
        "target_id": given["targetId"],
        "actor": given["actor"],
        "action": given["action"],
    }
    services = services_of(request)
    entries = await audit.list_entries(services, limit=limit, offset=offset, **filters)
    total = await audit.count_entries(services, **filters)
    return JSONResponse({"auditLogs": [render_entry(e) for e in entries], "totalCount": total})


def routes() -> list[BaseRoute]:
    return [ApiRoute("/api/v1/audit-logs", list_audit_logs, ["GET"], Permission.AUDIT_READ)]
