"""What every REST handler shares: one JSON error shape, body parsing with a size cap,
camelCase output, and the mapping of service errors to HTTP statuses.

    ApiError(status, message)  -> {"statusCode": 400, "error": "BadRequest", "message": "..."}
    ServiceError subclasses    -> 404 NotFound / 409 Conflict / 400 BadRequest /
                                  403 Forbidden (details.permission: the one missing)
    store.Unavailable          -> 503 with Retry-After (acme_server/errors.py)
    StoreError                 -> 500 with no detail (logged)
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse

from acme_server.jsonutil import BadJSON, loads_strict
from acme_server.render.common import iso as iso  # re-exported: the handlers' times
from acme_server.services.context import Services

MAX_JSON_BYTES = 256 * 1024
_ERROR_NAMES = {
    400: "BadRequest",
    401: "Unauthorized",
    403: "Forbidden",
    404: "NotFound",
    405: "MethodNotAllowed",
    409: "Conflict",
    413: "PayloadTooLarge",
    415: "UnsupportedMediaType",
    429: "TooManyRequests",
    500: "InternalServerError",
    503: "ServiceUnavailable",
}


class ApiError(Exception):
    def __init__(
        self,
        status: int,
        message: str,
        *,
        details: Any = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.details = details
        self.headers = headers

    def response(self) -> JSONResponse:
        body: dict[str, Any] = {
            "statusCode": self.status,
            "error": _ERROR_NAMES.get(self.status, "Error"),
            "message": self.message,
        }
        if self.details is not None:
            body["details"] = self.details
        return JSONResponse(body, status_code=self.status, headers=self.headers)


def services_of(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


async def read_json(request: Request) -> dict[str, Any]:
    """The request body as a JSON object; 4xx ApiError for anything else."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "application/json":
        raise ApiError(415, "Content-Type must be application/json")
    declared = request.headers.get("content-length", "")
    if declared.isascii() and declared.isdigit() and int(declared) > MAX_JSON_BYTES:
        raise ApiError(413, f"the request body exceeds {MAX_JSON_BYTES} bytes")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_JSON_BYTES:
            raise ApiError(413, f"the request body exceeds {MAX_JSON_BYTES} bytes")
    try:
        data = loads_strict(bytes(body))
    except BadJSON as exc:
        raise ApiError(400, f"the request body is {exc}") from None
    if not isinstance(data, dict):
        raise ApiError(400, "the request body must be a JSON object")
    return data


def field(
    data: dict[str, Any], name: str, kind: type, *, required: bool = False, default: Any = None
) -> Any:
    """A typed member of a JSON object, with a message naming it when it is wrong."""
    if name not in data or data[name] is None:
        if required:
            raise ApiError(400, f"{name} is required")
        return default
    value = data[name]
    if kind is int and isinstance(value, bool):
        raise ApiError(400, f"{name} must be a whole number")
    if not isinstance(value, kind):
        raise ApiError(400, f"{name} must be {_KIND_NAMES.get(kind, kind.__name__)}")
    return value


_KIND_NAMES = {
    str: "a string",
    int: "a whole number",
    bool: "true or false",
    dict: "an object",
    list: "an array",
}
