"""Exception handlers, registered once for the whole application: every error on an ACME path
becomes an RFC 8555 problem document, on a REST path a JSON error. SERVICE_ERRORS is the one
table from a service's error to the REST status and the ACME problem type and status; no
handler catches a service error to translate it itself."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from acme_server.acme.problems import (
    UNAVAILABLE_RETRY_AFTER_S,
    AcmeProblem,
    malformed,
    server_internal,
    subproblem,
    unavailable,
)
from acme_server.rest.common import ApiError
from acme_server.services.errors import (
    ACME_ERROR,
    AlreadyReplacedError,
    AlreadyRevokedError,
    BadCsrError,
    BadPublicKeyError,
    BadRevocationReasonError,
    CaaRefusedError,
    ConflictError,
    ForbiddenError,
    InvalidRequestError,
    InvalidStateError,
    NotAuthorizedError,
    NotFoundError,
    NotReadyError,
    OrderFailedError,
    RateLimitedError,
    RejectedIdentifierError,
    ServiceError,
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


@dataclass(frozen=True, slots=True)
class ErrorAnswer:
    """How one service error is answered: REST status, ACME problem type and status."""

    error: type[Exception]
    rest_status: int
    acme_kind: str
    acme_status: int


# The one table from a service's error to its answers, the more specific first.
SERVICE_ERRORS: tuple[ErrorAnswer, ...] = (
    ErrorAnswer(ForbiddenError, 403, "unauthorized", 403),
    ErrorAnswer(NotAuthorizedError, 403, "unauthorized", 403),
    ErrorAnswer(CaaRefusedError, 403, "caa", 403),  # RFC 8555 6.7 gives none; Boulder/Pebble 403
    ErrorAnswer(OrderFailedError, 500, "serverInternal", 500),  # answered with its `problem`
    ErrorAnswer(RateLimitedError, 429, "rateLimited", 429),  # with Retry-After
    ErrorAnswer(NotFoundError, 404, "malformed", 404),
    ErrorAnswer(NotReadyError, 409, "orderNotReady", 403),
    ErrorAnswer(InvalidStateError, 409, "malformed", 403),
    ErrorAnswer(AlreadyReplacedError, 409, "alreadyReplaced", 409),  # RFC 9773 5
    ErrorAnswer(AlreadyRevokedError, 409, "alreadyRevoked", 400),
    ErrorAnswer(ConflictError, 409, "malformed", 409),
    ErrorAnswer(BadCsrError, 400, "badCSR", 400),
    ErrorAnswer(BadPublicKeyError, 400, "badPublicKey", 400),
    ErrorAnswer(RejectedIdentifierError, 400, "rejectedIdentifier", 400),
    ErrorAnswer(BadRevocationReasonError, 400, "badRevocationReason", 400),
    ErrorAnswer(InvalidRequestError, 400, "malformed", 400),
    ErrorAnswer(PolicyError, 400, "rejectedIdentifier", 400),
    ErrorAnswer(CAError, 400, "malformed", 400),
    ErrorAnswer(InvalidText, 400, "malformed", 400),  # a NUL in a path or query value
)


def mapping_of(exc: Exception) -> ErrorAnswer:
    return next(m for m in SERVICE_ERRORS if isinstance(exc, m.error))


def _detail(exc: Exception) -> str:
    return "the request holds a NUL character" if isinstance(exc, InvalidText) else str(exc)


def acme_problem_of(exc: Exception) -> AcmeProblem:
    """The RFC 8555 problem document of a service error (subproblems from its `names`)."""
    if isinstance(exc, OrderFailedError):
        stored = exc.problem
        return AcmeProblem(
            str(stored.get("type", "")).removeprefix(ACME_ERROR) or "serverInternal",
            str(stored.get("detail", exc)),
            int(stored.get("status", 500)),
        )
    found = mapping_of(exc)
    names = exc.names if isinstance(exc, ServiceError) else ()
    subs = [subproblem(n.kind, n.detail, n.identifier) for n in names]
    return AcmeProblem(
        found.acme_kind, _detail(exc), found.acme_status, subproblems=subs, headers=_headers(exc)
    )


def _headers(exc: Exception) -> dict[str, str]:
    if isinstance(exc, RateLimitedError):
        return {"Retry-After": str(exc.retry_after)}
    return {}


async def on_service_error(request: Request, exc: Exception) -> Response:
    if _is_acme(request):
        return acme_problem_of(exc).response()
    details = {"permission": exc.permission} if isinstance(exc, ForbiddenError) else None
    status = mapping_of(exc).rest_status
    return ApiError(status, _detail(exc), details=details, headers=_headers(exc)).response()


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
    **{m.error: on_service_error for m in SERVICE_ERRORS},
    Unavailable: on_unavailable,
    HTTPException: on_http_error,
    Exception: on_unexpected,
}
