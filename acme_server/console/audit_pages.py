"""The audit log in the console (GET /ui/audit, audit.read): newest first, paged, filtered
by actor, action and object (target type and id), each filter an exact match kept in the
URL, each row linking to its object's console page where there is one. The same service
as REST's GET /api/v1/audit-logs (services/audit.py)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from acme_server.console.guard import ConsoleRoute
from acme_server.console.templating import page
from acme_server.rest.common import services_of
from acme_server.services import audit
from acme_server.services.errors import InvalidRequestError
from acme_server.services.roles import Permission

PAGE_SIZE = 50
MAX_PAGE = 100_000
FILTERS = {  # query parameter -> (service argument, longest value)
    "actor": ("actor", audit.ACTOR_MAX),
    "action": ("action", audit.ACTION_MAX),
    "targetType": ("target_type", audit.TARGET_TYPE_MAX),
    "targetId": ("target_id", audit.TARGET_ID_MAX),
}
# target type -> the console page of such an object ({id} replaced)
OBJECT_PAGES = {
    "certificate": "/ui/certificates/{id}",
    "ca": "/ui/cas/{id}",
    "profile": "/ui/profiles/{id}",
    "policy": "/ui/policies/{id}",
    "identity": "/ui/identities/{id}",
}


@dataclass(frozen=True, slots=True)
class PageInfo:
    """What macros.html's pager shows: the rows first..last of total, and the links."""

    total: int
    limit: int
    first: int
    last: int
    prev: str | None
    next: str | None


def page_info(
    path: str, query: dict[str, str], number: int, limit: int, total: int, shown: int
) -> PageInfo:
    """Links to the neighbouring pages of page `number` (1-based), the filters kept."""

    def link(n: int) -> str:
        return f"{path}?{urlencode({**query, 'page': str(n)})}"

    first = (number - 1) * limit + 1 if shown else 0
    return PageInfo(
        total=total,
        limit=limit,
        first=first,
        last=first + shown - 1 if shown else 0,
        prev=link(number - 1) if number > 1 else None,
        next=link(number + 1) if number * limit < total else None,
    )


def page_number(request: Request) -> int:
    raw = request.query_params.get("page", "1") or "1"
    if not (raw.isascii() and raw.isdigit()) or not 1 <= int(raw) <= MAX_PAGE:
        raise InvalidRequestError(f"page must be a whole number from 1 to {MAX_PAGE}")
    return int(raw)


def object_link(target_type: str, target_id: str | None) -> str | None:
    found = OBJECT_PAGES.get(target_type)
    return None if found is None or not target_id else found.replace("{id}", target_id)


async def audit_page(request: Request) -> Response:
    """GET /ui/audit -- the audit log, newest first, filtered by actor, action and object."""
    given: dict[str, str] = {}
    for name, (_, limit) in FILTERS.items():
        value = request.query_params.get(name, "").strip()
        if len(value) > limit:
            raise InvalidRequestError(f"{name}: longer than {limit} characters")
        if value:
            given[name] = value
    number = page_number(request)
    filters = {FILTERS[name][0]: value for name, value in given.items()}
    services = services_of(request)
    entries = await audit.list_entries(
        services, limit=PAGE_SIZE, offset=(number - 1) * PAGE_SIZE, **filters
    )
    total = await audit.count_entries(services, **filters)
    rows = [
        {
            "entry": e,
            "link": object_link(e.target_type, e.target_id),
            "details": [(key, json.dumps(value, default=str)) for key, value in e.details.items()],
        }
        for e in entries
    ]
    context = {
        "rows": rows,
        "filters": given,
        "page_info": page_info(request.url.path, given, number, PAGE_SIZE, total, len(rows)),
    }
    return page(request, "audit.html", context)


def routes() -> list[BaseRoute]:
    return [ConsoleRoute("/ui/audit", audit_page, ["GET"], Permission.AUDIT_READ)]
