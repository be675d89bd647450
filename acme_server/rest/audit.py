"""GET /api/v1/audit-logs: the audit log, newest first, filtered by target or actor."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from acme_server.rest.auth import require_principal
from acme_server.rest.certificates.bodies import query_int
from acme_server.rest.common import ApiError, iso, services_of
from acme_server.services import audit
from store import AuditRecord

DEFAULT_LIMIT = 100
FILTER_MAX = 255  # the longest audit_log column a filter compares with


def _text_param(request: Request, name: str) -> str | None:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return None
    if len(raw) > FILTER_MAX:
        raise ApiError(400, f"{name} must be at most {FILTER_MAX} characters")
    return raw


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


async def list_audit_logs(request: Request) -> Response:
    await require_principal(request)
    limit = query_int(request, "limit", DEFAULT_LIMIT, 1, audit.LIST_LIMIT_MAX)
    offset = query_int(request, "offset", 0, 0, 2**31 - 1)
    filters = {
        "target_type": _text_param(request, "targetType"),
        "target_id": _text_param(request, "targetId"),
        "actor": _text_param(request, "actor"),
    }
    services = services_of(request)
    entries = await audit.list_entries(services, limit=limit, offset=offset, **filters)
    total = await audit.count_entries(services, **filters)
    return JSONResponse({"auditLogs": [render_entry(e) for e in entries], "totalCount": total})


def routes() -> list[BaseRoute]:
    return [Route("/api/v1/audit-logs", list_audit_logs, methods=["GET"])]
