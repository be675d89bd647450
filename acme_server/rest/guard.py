"""The REST route table's one authorization check: every route names the permission it
needs, and nothing else decides whether a caller may reach a handler.

    ApiRoute(path, handler, ["POST"], Permission.CA_MANAGE)
    ApiRoute(path, login, ["POST"], PUBLIC)        # the body is the credential

Before the handler of a protected route runs, the Bearer token is checked (401 otherwise)
and the caller's role must hold the permission (403 naming it:
`details.permission`); the handler reads the caller with principal_of(request). What the
permission reaches (granted profiles, the caller's own identity) is decided by
acme_server/services/access.py. tests/rest/test_route_permissions.py walks this table.

401 answers name no reason beyond "missing Bearer token" or "invalid or expired access
token": whether a token is unknown, expired, revoked or its identity disabled is not told.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Sequence
from enum import Enum
from typing import Final

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from acme_server.rest.common import ApiError, services_of
from acme_server.services import access
from acme_server.services.identities import tokens as identities
from acme_server.services.identities.tokens import Principal
from acme_server.services.roles import Permission

Handler = Callable[[Request], Awaitable[Response]]
MISSING_TOKEN = "missing Bearer token"  # noqa: S105 (a message)
INVALID_TOKEN = "invalid or expired access token"  # noqa: S105 (a message)
_HEADER_MAX = 512  # an Authorization header longer than any token we issue


def bearer_token(request: Request) -> str | None:
    """The token of an `Authorization: Bearer <token>` header; None if absent or malformed."""
    header = request.headers.get("authorization", "")
    if not header or len(header) > _HEADER_MAX:
        return None
    scheme, _, token = header.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or " " in token:
        return None
    return token


async def require_principal(request: Request) -> Principal:
    """The identity the request's Bearer token belongs to, or ApiError(401)."""
    token = bearer_token(request)
    if token is None:
        raise ApiError(401, MISSING_TOKEN)
    principal = await identities.authenticate(services_of(request), token)
    if principal is None:
        raise ApiError(401, INVALID_TOKEN)
    return principal


class Public(Enum):
    """A route whose request carries its own credential (a login, a proof, a token to
    revoke) or that serves public documents: no Bearer token."""

    PUBLIC = "public"


PUBLIC: Final = Public.PUBLIC
_PRINCIPAL = "principal"


class ApiRoute(Route):
    """A Starlette Route with the permission it needs."""

    def __init__(
        self,
        path: str,
        endpoint: Handler,
        methods: Sequence[str],
        permission: Permission | Public,
    ) -> None:
        self.permission = permission
        handler = endpoint if permission is PUBLIC else _guarded(endpoint, permission)
        super().__init__(path, handler, methods=list(methods), name=endpoint.__name__)


def _guarded(endpoint: Handler, permission: Permission) -> Handler:
    @functools.wraps(endpoint)
    async def guarded(request: Request) -> Response:
        principal = await require_principal(request)
        access.require(principal, permission)
        request.state.principal = principal
        return await endpoint(request)

    return guarded


def principal_of(request: Request) -> Principal:
    """The caller of a protected route, checked by its ApiRoute before the handler ran."""
    principal = getattr(request.state, _PRINCIPAL, None)
    if not isinstance(principal, Principal):
        raise RuntimeError("principal_of() outside a protected ApiRoute")
    return principal
