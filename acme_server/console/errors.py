"""Error pages: a service error shown as a page with the status REST would answer, saying
what happened (a 404 says the object does not exist or is not yours to see; a 403 names the
permission), never a stack trace."""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import HTMLResponse

from acme_server.console.templating import page
from acme_server.errors import mapping_of
from acme_server.services.errors import RateLimitedError, ServiceError

if TYPE_CHECKING:
    from acme_server.console.guard import SignedIn

TITLES = {
    400: "The request was not accepted",
    403: "Not allowed",
    404: "Not found",
    409: "Not possible now",
    429: "Too many attempts",
}


def error_page(
    request: Request,
    exc: ServiceError | None,
    me: SignedIn | None,
    *,
    status: int | None = None,
    title: str | None = None,
    message: str | None = None,
) -> HTMLResponse:
    code = status if status is not None else (mapping_of(exc).rest_status if exc else 400)
    text = message if message is not None else str(exc)
    headers = {"Retry-After": str(exc.retry_after)} if isinstance(exc, RateLimitedError) else None
    return page(
        request,
        "error.html",
        {"title": title or TITLES.get(code, "Error"), "message": text, "status": code},
        status=code,
        me=me,
        headers=headers,
    )
