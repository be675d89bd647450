"""Exception handlers: every error on an ACME path becomes an RFC 8555 problem document."""

from __future__ import annotations

import logging

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from acme_server.problems import AcmeProblem, malformed, server_internal
from acme_server.rest.common import ApiError

log = logging.getLogger(__name__)


def _is_acme(request: Request) -> bool:
    return request.url.path.startswith("/acme/")


async def on_problem(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, AcmeProblem)
    return exc.response()


async def on_http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if _is_acme(request):
        detail = "not found" if exc.status_code == 404 else str(exc.detail)
        if exc.status_code == 405:
            detail = f"{request.method} is not allowed here"
        return malformed(detail, exc.status_code).response()
    if request.url.path.startswith("/api/"):
        return ApiError(exc.status_code, str(exc.detail)).response()
    return PlainTextResponse(str(exc.detail), status_code=exc.status_code)


async def on_unexpected(request: Request, exc: Exception) -> Response:
    log.exception("unhandled error", extra={"path": request.url.path, "method": request.method})
    if _is_acme(request):
        return server_internal().response()
    return ApiError(500, "internal server error").response()


EXCEPTION_HANDLERS = {
    AcmeProblem: on_problem,
    HTTPException: on_http_error,
    Exception: on_unexpected,
}
