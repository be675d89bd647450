"""Domain errors raised by services; each interface maps them once (acme_server/errors.py:
SERVICE_ERRORS for ACME problems and REST JSON errors, cli/common.py for exit code 2).

ServiceError                    (`names`: each identifier's own part of the refusal, if any)
 +-- NotFoundError              an id, name or serial that does not exist
 +-- ConflictError              the object is not in a state that allows this
 |    +-- AlreadyRenewedError   the certificate being renewed already has a successor
 |    +-- AlreadyReplacedError  RFC 9773: another certificate or order replaces it already
 |    +-- AlreadyRevokedError   the certificate is revoked already
 |    +-- NotReadyError         the order is not ready to be finalized
 |    +-- InvalidStateError     the object's state forbids the change (ACME answers 403)
 +-- InvalidRequestError        the caller's input is wrong; the message says how
 |    +-- BadCsrError           the CSR is unusable or asks for what the order/policy refuses
 |    +-- BadPublicKeyError     a key that is weak, blocked or of an unsupported type
 |    +-- RejectedIdentifierError  a name the policy does not issue for
 |    +-- BadRevocationReasonError a reason code the caller may not give
 +-- ForbiddenError             refused by access control (services/access.py); names the permission
 +-- NotAuthorizedError         the caller has not proven control of what it acts on
 +-- CaaRefusedError            CAA records forbid issuance for a name (RFC 8659)
 +-- RateLimitedError           a rate limit is reached; `retry_after` seconds until it is not
 +-- OrderFailedError           an ACME order failed meanwhile; `problem` is the error it keeps
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class NameRefusal:
    """One identifier's share of a refusal (in ACME, a subproblem: RFC 8555 6.7.1).
    `kind` is the RFC 8555 error type of that share, e.g. "rejectedIdentifier"."""

    kind: str
    detail: str
    identifier: Mapping[str, str]


class ServiceError(Exception):
    """Base of the errors a caller may show to a user as they are."""

    def __init__(self, message: str, *, names: Sequence[NameRefusal] = ()) -> None:
        super().__init__(message)
        self.names = tuple(names)


class NotFoundError(ServiceError):
    pass


class ConflictError(ServiceError):
    pass


class AlreadyRenewedError(ConflictError):
    pass


class AlreadyReplacedError(ConflictError):
    pass


class AlreadyRevokedError(ConflictError):
    pass


class NotReadyError(ConflictError):
    pass


class InvalidStateError(ConflictError):
    pass


class InvalidRequestError(ServiceError):
    pass


class BadCsrError(InvalidRequestError):
    pass


class BadPublicKeyError(InvalidRequestError):
    pass


class RejectedIdentifierError(InvalidRequestError):
    pass


class BadRevocationReasonError(InvalidRequestError):
    pass


class ForbiddenError(ServiceError):
    """Refused by access control; `permission` is the one the caller lacks."""

    def __init__(self, message: str, *, permission: str) -> None:
        super().__init__(message)
        self.permission = permission


class NotAuthorizedError(ServiceError):
    pass


class CaaRefusedError(ServiceError):
    pass


class OrderFailedError(ServiceError):
    """The order failed while this request ran (a finalize that outlived its lease); the
    answer is the RFC 8555 problem document stored as the order's error."""

    def __init__(self, problem: Mapping[str, Any]) -> None:
        super().__init__(str(problem.get("detail", "the order failed")))
        self.problem = dict(problem)


class RateLimitedError(ServiceError):
    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


ACME_ERROR = "urn:ietf:params:acme:error:"  # RFC 8555 6.7: the type of every ACME error


def stored_problem(kind: str, detail: str, status: int) -> dict[str, Any]:
    """The RFC 8555 problem document (RFC 7807) of an ACME error: what an order or a
    challenge keeps as its error, and what an AcmeProblem answers (acme/problems.py)."""
    return {"type": ACME_ERROR + kind, "detail": detail, "status": status}
