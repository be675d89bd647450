"""Exception handlers: every error on an ACME path becomes an RFC 8555 problem document."""

from __future__ import annotations

import logging

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from acme_server.problems import (
    UNAVAILABLE_RETRY_AFTER_S,
    AcmeProblem,
    malformed,
    server_internal,
    unavailable,
)
from acme_server.rest.common import ApiError
from store import Unavailable

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


async def on_unavailable(request: Request, exc: Exception) -> Response:
    """The database is unreachable: 503 and Retry-After everywhere, never a 500."""
    log.warning(
        "database unavailable",
        extra={"path": request.url.path, "method": request.method, "error": str(exc)},
    )
    if _is_acme(request):
        return unavailable().response()
    retry = {"Retry-After": str(UNAVAILABLE_RETRY_AFTER_S)}
    if request.url.path.startswith("/api/"):
        message = "the service is temporarily unavailable; retry shortly"
        return ApiError(503, message, headers=retry).response()
    return PlainTextResponse("temporarily unavailable\n", status_code=503, headers=retry)


async def on_unexpected(request: Request, exc: Exception) -> Response:
    log.exception("unhandled error", extra={"path": request.url.path, "method": request.method})
    if _is_acme(request):
        return server_internal().response()
    return ApiError(500, "internal server error").response()


EXCEPTION_HANDLERS = {
    AcmeProblem: on_problem,
    Unavailable: on_unavailable,
    HTTPException: on_http_error,
    Exception: on_unexpected,
}
