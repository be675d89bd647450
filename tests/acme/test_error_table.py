"""acme_server/errors.SERVICE_ERRORS: one table maps a service error to the REST JSON error and
to the ACME problem document, whichever interface the request came in by."""

from __future__ import annotations

import json

import pytest
from starlette.requests import Request

from acme_server.errors import EXCEPTION_HANDLERS, SERVICE_ERRORS, ErrorAnswer
from acme_server.services.errors import (
    CaaRefusedError,
    ForbiddenError,
    NameRefusal,
    NotFoundError,
    OrderFailedError,
    RateLimitedError,
)
from store import InvalidText


def _request(path: str) -> Request:
    return Request(
        {"type": "http", "method": "POST", "path": path, "headers": [], "query_string": b""}
    )


@pytest.mark.parametrize("answer", SERVICE_ERRORS, ids=lambda a: a.error.__name__)
async def test_each_service_error_is_registered_and_mapped_on_both_interfaces(
    answer: ErrorAnswer,
) -> None:
    error, status = answer.error, answer.rest_status
    handler = EXCEPTION_HANDLERS[error]
    exc: Exception
    if error is ForbiddenError:
        exc = ForbiddenError("no", permission="certificates:write")
    elif error is OrderFailedError:
        exc = OrderFailedError({"detail": "no"})
    elif error is RateLimitedError:
        exc = RateLimitedError("no", retry_after=7)
    else:
        exc = error("no")
    rest = await handler(_request("/api/v1/cert-manager/certificates"), exc)
    assert rest.status_code == status
    body = json.loads(bytes(rest.body))
    assert body["statusCode"] == status
    acme = await handler(_request("/acme/default/new-order"), exc)
    assert acme.status_code == answer.acme_status
    assert acme.headers["content-type"] == "application/problem+json"
    problem = json.loads(bytes(acme.body))
    assert problem["type"] == f"urn:ietf:params:acme:error:{answer.acme_kind}"
    assert problem["status"] == answer.acme_status
    if error is RateLimitedError:  # RFC 8555 6.6
        assert rest.headers["retry-after"] == acme.headers["retry-after"] == "7"


async def test_an_error_naming_identifiers_answers_acme_subproblems() -> None:
    """RFC 8555 6.7.1: each identifier's part of a refusal is a subproblem."""
    refused = CaaRefusedError(
        "CAA forbids a.test",
        names=[NameRefusal("caa", "CAA forbids a.test", {"type": "dns", "value": "a.test"})],
    )
    acme = await EXCEPTION_HANDLERS[CaaRefusedError](_request("/acme/default/x"), refused)
    problem = json.loads(bytes(acme.body))
    assert (acme.status_code, problem["type"]) == (403, "urn:ietf:params:acme:error:caa")
    assert problem["subproblems"] == [
        {
            "type": "urn:ietf:params:acme:error:caa",
            "detail": "CAA forbids a.test",
            "identifier": {"type": "dns", "value": "a.test"},
        }
    ]
    rest = await EXCEPTION_HANDLERS[CaaRefusedError](_request("/api/v1/x"), refused)
    assert rest.status_code == 403


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
