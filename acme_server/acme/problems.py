"""RFC 8555 section 6.7 problem documents (RFC 7807), raised where found, rendered once.

    AcmeProblem(Exception)          -> application/problem+json, type urn:ietf:params:acme:error:*
      raised by jws.py, nonces.py, eab.py, acme/handlers/*, and mapped from services' errors

Every error the ACME server answers is one of these; serverInternal hides internals.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from starlette.responses import JSONResponse

from acme_server.jsonutil import FastJSONResponse
from acme_server.services.errors import ACME_ERROR, stored_problem

PROBLEM_JSON = "application/problem+json"


class AcmeProblem(Exception):
    def __init__(
        self,
        kind: str,
        detail: str,
        status: int = 400,
        *,
        subproblems: Sequence[Mapping[str, Any]] = (),
        headers: Mapping[str, str] | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(detail)
        self.kind = kind
        self.detail = detail
        self.status = status
        self.subproblems = list(subproblems)
        self.headers = dict(headers or {})
        self.extra = dict(extra or {})

    @property
    def type(self) -> str:
        return ACME_ERROR + self.kind

    def to_dict(self) -> dict[str, Any]:
        body = stored_problem(self.kind, self.detail, self.status)
        if self.subproblems:
            body["subproblems"] = self.subproblems
        body.update(self.extra)
        return body

    def response(self) -> JSONResponse:
        return FastJSONResponse(
            self.to_dict(), status_code=self.status, headers=self.headers, media_type=PROBLEM_JSON
        )


def malformed(detail: str, status: int = 400) -> AcmeProblem:
    return AcmeProblem("malformed", detail, status)


def not_found(what: str) -> AcmeProblem:
    return AcmeProblem("malformed", f"{what} not found", 404)


def unauthorized(detail: str) -> AcmeProblem:
    return AcmeProblem("unauthorized", detail, 403)


def bad_nonce(detail: str) -> AcmeProblem:
    return AcmeProblem("badNonce", detail, 400)


def bad_signature_algorithm(detail: str, allowed: Sequence[str]) -> AcmeProblem:
    return AcmeProblem("badSignatureAlgorithm", detail, 400, extra={"algorithms": list(allowed)})


def bad_public_key(detail: str) -> AcmeProblem:
    return AcmeProblem("badPublicKey", detail, 400)


def bad_csr(detail: str) -> AcmeProblem:
    return AcmeProblem("badCSR", detail, 400)


def account_does_not_exist(detail: str) -> AcmeProblem:
    return AcmeProblem("accountDoesNotExist", detail, 400)


def external_account_required(detail: str) -> AcmeProblem:
    return AcmeProblem("externalAccountRequired", detail, 403)


def invalid_contact(detail: str) -> AcmeProblem:
    return AcmeProblem("invalidContact", detail, 400)


def unsupported_contact(detail: str) -> AcmeProblem:
    return AcmeProblem("unsupportedContact", detail, 400)


def order_not_ready(detail: str) -> AcmeProblem:
    return AcmeProblem("orderNotReady", detail, 403)


def rejected_identifier(detail: str, subproblems: Sequence[Mapping[str, Any]] = ()) -> AcmeProblem:
    return AcmeProblem("rejectedIdentifier", detail, 400, subproblems=subproblems)


def unsupported_identifier(
    detail: str, subproblems: Sequence[Mapping[str, Any]] = ()
) -> AcmeProblem:
    return AcmeProblem("unsupportedIdentifier", detail, 400, subproblems=subproblems)


def already_revoked(detail: str) -> AcmeProblem:
    return AcmeProblem("alreadyRevoked", detail, 400)


def bad_revocation_reason(detail: str) -> AcmeProblem:
    return AcmeProblem("badRevocationReason", detail, 400)


def rate_limited(detail: str, retry_after: int) -> AcmeProblem:
    return AcmeProblem("rateLimited", detail, 429, headers={"Retry-After": str(retry_after)})


def conflict(detail: str, location: str) -> AcmeProblem:
    """RFC 8555 7.3.5: keyChange to a key already in use answers 409 with its account's URL."""
    return AcmeProblem("malformed", detail, 409, headers={"Location": location})


def server_internal() -> AcmeProblem:
    return AcmeProblem("serverInternal", "the server could not process the request", 500)


UNAVAILABLE_RETRY_AFTER_S = 5  # how long a client waits before retrying during an outage


def unavailable() -> AcmeProblem:
    """The database is unreachable: 503, nothing was done, try again shortly."""
    return AcmeProblem(
        "serverInternal",
        "the service is temporarily unavailable; retry shortly",
        503,
        headers={"Retry-After": str(UNAVAILABLE_RETRY_AFTER_S)},
    )


def subproblem(kind: str, detail: str, identifier: Mapping[str, str]) -> dict[str, Any]:
    return {"type": ACME_ERROR + kind, "detail": detail, "identifier": dict(identifier)}
