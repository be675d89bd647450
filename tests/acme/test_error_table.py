"""acme_server/errors.SERVICE_ERRORS: one table maps a service error to the REST JSON error and
to the ACME problem document, whichever interface the request came in by."""

from __future__ import annotations

import json

import pytest
from starlette.requests import Request

from acme_server.errors import EXCEPTION_HANDLERS, SERVICE_ERRORS
from acme_server.services.errors import ForbiddenError, NotFoundError
from store import InvalidText


def _request(path: str) -> Request:
    return Request(
        {"type": "http", "method": "POST", "path": path, "headers": [], "query_string": b""}
    )


@pytest.mark.parametrize(("error", "status", "kind"), SERVICE_ERRORS)
async def test_each_service_error_is_registered_and_mapped_on_both_interfaces(
    error: type[Exception], status: int, kind: str
) -> None:
    handler = EXCEPTION_HANDLERS[error]
    exc = (
        ForbiddenError("no", permission="certificates:write")
        if error is ForbiddenError
        else error("no")
    )
    rest = await handler(_request("/api/v1/cert-manager/certificates"), exc)
    assert rest.status_code == status
    body = json.loads(bytes(rest.body))
    assert body["statusCode"] == status
    acme = await handler(_request("/acme/default/new-order"), exc)
    assert acme.status_code == status
    assert acme.headers["content-type"] == "application/problem+json"
    assert json.loads(bytes(acme.body))["type"] == f"urn:ietf:params:acme:error:{kind}"


async def test_the_rest_answer_keeps_the_message_and_the_missing_permission() -> None:
    forbidden = ForbiddenError("export needs certificates:export", permission="certificates:export")
    response = await EXCEPTION_HANDLERS[ForbiddenError](_request("/api/v1/x"), forbidden)
    body = json.loads(bytes(response.body))
    assert body["message"] == "export needs certificates:export"
    assert body["details"] == {"permission": "certificates:export"}
    missing = await EXCEPTION_HANDLERS[NotFoundError](_request("/api/v1/x"), NotFoundError("gone"))
    assert json.loads(bytes(missing.body))["message"] == "gone"
    nul = await EXCEPTION_HANDLERS[InvalidText](_request("/api/v1/x"), InvalidText("\x00"))
    assert json.loads(bytes(nul.body))["message"] == "the request holds a NUL character"
