"""The console's routes: each page module exposes `routes()`; this lists them, then the
static assets and a 404 page for any other /ui path."""

from __future__ import annotations

from pathlib import Path

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from acme_server.console import (
    acme_pages,
    audit_pages,
    auth_pages,
    cas_pages,
    certificate_actions,
    certificates,
    dashboard,
    eab_pages,
    identities_pages,
    issue_pages,
    policies_pages,
    profiles_pages,
    requests_pages,
)
from acme_server.console.errors import error_page
from acme_server.console.guard import current_session, signed_in_or_none

STATIC_DIR = Path(__file__).resolve().parent / "static"


async def not_found(request: Request) -> Response:
    me = await signed_in_or_none(request)
    return error_page(
        request, None, me, status=404, title="Not found", message="There is no such page."
    )


async def to_console(request: Request) -> Response:
    return RedirectResponse("/ui/", status_code=307)


def console_routes() -> list[BaseRoute]:
    return [
        Route("/ui", to_console, methods=["GET"]),
        *auth_pages.routes(),
        *dashboard.routes(),
        *cas_pages.routes(),
        *policies_pages.routes(),
        *profiles_pages.routes(),
        *eab_pages.routes(),
        *issue_pages.routes(),  # before any /ui/certificates/{id}: "new" is no id
        *certificate_actions.routes(),
        *identities_pages.routes(),
        *acme_pages.routes(),
        *audit_pages.routes(),
        *certificates.routes(),
        *requests_pages.routes(),
        # one line per page module: *module.routes(),
        Mount("/ui/static", app=StaticFiles(directory=STATIC_DIR), name="ui_static"),
        Route("/ui/{rest:path}", not_found, methods=["GET", "POST", "HEAD"]),
    ]


__all__ = ["console_routes", "current_session"]
