"""Exception handlers, registered once for the whole application: every error on an ACME path
becomes an RFC 8555 problem document, on a REST path a JSON error. SERVICE_ERRORS is the one
table from a service's error to the REST status and the ACME problem type; ACME handlers
still catch the errors their RFC 8555 section gives a more specific problem for."""

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
from acme_server.services.errors import (
    ConflictError,
    ForbiddenError,
    InvalidRequestError,
    NotFoundError,
)
from ca_core.errors import CAError
from policy.errors import PolicyError
from store import InvalidText, Unavailable

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


# (error, REST status, ACME problem type), the more specific first.
SERVICE_ERRORS: tuple[tuple[type[Exception], int, str], ...] = (
    (ForbiddenError, 403, "unauthorized"),
    (NotFoundError, 404, "malformed"),
    (ConflictError, 409, "malformed"),
    (InvalidRequestError, 400, "malformed"),
    (PolicyError, 400, "rejectedIdentifier"),
    (CAError, 400, "malformed"),
    (InvalidText, 400, "malformed"),  # a NUL in a path or query value: no id or field holds one
)


def _detail(exc: Exception) -> str:
    return "the request holds a NUL character" if isinstance(exc, InvalidText) else str(exc)


async def on_service_error(request: Request, exc: Exception) -> Response:
    status, kind = next((s, k) for cls, s, k in SERVICE_ERRORS if isinstance(exc, cls))
    if _is_acme(request):
        return AcmeProblem(kind, _detail(exc), status).response()
    details = {"permission": exc.permission} if isinstance(exc, ForbiddenError) else None
    return ApiError(status, _detail(exc), details=details).response()


async def on_api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return exc.response()


async def on_unexpected(request: Request, exc: Exception) -> Response:
    log.exception("unhandled error", extra={"path": request.url.path, "method": request.method})
    if _is_acme(request):
        return server_internal().response()
    return ApiError(500, "internal server error").response()


EXCEPTION_HANDLERS = {
    AcmeProblem: on_problem,
    ApiError: on_api_error,
    **{error: on_service_error for error, _, _ in SERVICE_ERRORS},
    Unavailable: on_unavailable,
    HTTPException: on_http_error,
    Exception: on_unexpected,
}
