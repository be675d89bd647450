"""The certificate requests pages: the list (newest first, paged, filtered by profile,
status and metadata as REST's GET /certificate-requests is) and one request read-only
(what was asked: the CSR or the attributes, its metadata, what came of it).

The filter lives in the URL (a GET form):

    /ui/requests?profile=<id>&status=failed&meta=team%3Dweb&meta=env%3Dprod&offset=25
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from starlette.datastructures import QueryParams
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from acme_server.console.certificate_filters import MAX_OFFSET, MAX_TEXT, PAGE_SIZE, PageInfo
from acme_server.console.guard import ConsoleRoute, signed_in
from acme_server.console.templating import page
from acme_server.rest.certificates.render import request_json
from acme_server.rest.common import services_of
from acme_server.services import access
from acme_server.services.certificates import inventory
from acme_server.services.errors import InvalidRequestError
from acme_server.services.roles import Permission


@dataclass
class RequestsView:
    profile: str = ""
    status: str = ""
    metadata: dict[str, str] = field(default_factory=dict)
    offset: int = 0
    errors: dict[str, str] = field(default_factory=dict)

    def url(self, offset: int) -> str:
        pairs = [(n, v) for n, v in (("profile", self.profile), ("status", self.status)) if v]
        pairs += [("meta", f"{k}={v}") for k, v in self.metadata.items()]
        if offset:
            pairs.append(("offset", str(offset)))
        return "/ui/requests" + (f"?{urlencode(pairs)}" if pairs else "")

    def page_info(self, total: int) -> PageInfo:
        return PageInfo(
            total=total,
            limit=PAGE_SIZE,
            first=min(total, self.offset + 1),
            last=min(total, self.offset + PAGE_SIZE),
            prev=self.url(max(0, self.offset - PAGE_SIZE)) if self.offset else None,
            next=self.url(self.offset + PAGE_SIZE) if self.offset + PAGE_SIZE < total else None,
        )


def read_view(params: QueryParams) -> RequestsView:
    view = RequestsView(
        profile=params.get("profile", "").strip()[:MAX_TEXT],
        status=params.get("status", "").strip(),
    )
    if view.status and view.status not in inventory.REQUEST_STATUSES:
        view.errors["status"] = f"one of {', '.join(inventory.REQUEST_STATUSES)}"
    for text in params.getlist("meta"):
        key, sep, value = text.strip().partition("=")
        if not text.strip():
            continue
        if not sep or not key.strip() or len(text) > 2 * MAX_TEXT:
            view.errors["meta"] = f"write each metadata filter as key=value (got {text[:80]!r})"
            continue
        view.metadata[key.strip()] = value.strip()
    offset = params.get("offset", "0") or "0"
    if offset.isascii() and offset.isdigit() and int(offset) <= MAX_OFFSET:
        view.offset = int(offset)
    return view


async def requests_page(request: Request) -> Response:
    """GET /ui/requests -- certificate requests, newest first."""
    me = signed_in(request)
    services = services_of(request)
    view = read_view(request.query_params)
    visible = await access.visible(services, me.principal, "profile")
    slugs = {
        p.id: p.slug
        for p in await services.store.list_profiles()
        if visible is None or p.id in visible
    }
    rows: list[dict[str, Any]] = []
    total, status = 0, 200
    if view.errors:
        status = 400
    else:
        try:
            found, total = await inventory.list_requests(
                services,
                profile_id=view.profile or None,
                status=view.status or None,
                metadata=view.metadata,
                limit=PAGE_SIZE,
                offset=view.offset,
                profile_ids=access.profile_filter(me.principal),
            )
        except InvalidRequestError as exc:
            view.errors["meta"] = str(exc)
            found, status = [], 400
        rows = [
            {**request_json(r), "created": r.created_at, "profile": slugs.get(r.profile_id or "")}
            for r in found
        ]
    return page(
        request,
        "requests.html",
        {
            "title": "Certificate requests",
            "view": view,
            "rows": rows,
            "page_info": view.page_info(total),
            "profiles": sorted(slugs.items(), key=lambda item: item[1]),
            "statuses": inventory.REQUEST_STATUSES,
        },
        status=status,
    )


async def request_page(request: Request) -> Response:
    """GET /ui/requests/{request_id} -- one certificate request, read-only."""
    me = signed_in(request)
    services = services_of(request)
    found = await access.certificate_request(
        services, me.principal, Permission.REQUEST_READ, request.path_params["request_id"]
    )
    slug = None
    if found.profile_id is not None:
        slug = next(
            (p.slug for p in await services.store.list_profiles() if p.id == found.profile_id),
            None,
        )
    return page(
        request,
        "request.html",
        {"title": "Certificate request", "req": request_json(found), "profile_slug": slug},
    )


def routes() -> list[BaseRoute]:
    return [
        ConsoleRoute("/ui/requests", requests_page, ["GET"], Permission.REQUEST_LIST),
        ConsoleRoute("/ui/requests/{request_id}", request_page, ["GET"], Permission.REQUEST_READ),
    ]
