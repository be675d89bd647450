"""Domain errors raised by services; each interface maps them once (CLI exit 2, JSON, ACME problem).

ServiceError
 +-- NotFoundError       an id, name or serial that does not exist
 +-- ConflictError       the object is not in a state that allows this (already revoked...)
 |    +-- AlreadyRenewedError  the certificate being renewed already has a successor
 +-- InvalidRequestError the caller's input is wrong; the message says how
 +-- ForbiddenError      the caller may not do this (services/access.py); names the permission
"""

from __future__ import annotations


class ServiceError(Exception):
    """Base of the errors a caller may show to a user as they are."""


class NotFoundError(ServiceError):
    pass


class ConflictError(ServiceError):
    pass


class AlreadyRenewedError(ConflictError):
    pass


class InvalidRequestError(ServiceError):
    pass


class ForbiddenError(ServiceError):
    """Refused by access control; `permission` is the one the caller lacks."""

    def __init__(self, message: str, *, permission: str) -> None:
        super().__init__(message)
        self.permission = permission
