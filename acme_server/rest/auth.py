"""REST authentication: the universal-auth login, token revocation, and the Bearer check
every other REST handler starts with.

    principal = await require_principal(request)   # ApiError(401) unless a live token
    await audit.record(services, actor=principal.actor, ...)

401 answers name no reason beyond "missing Bearer token" or "invalid or expired access
token": whether a token is unknown, expired, revoked or its identity disabled is not told.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from acme_server.rest.body import Field, body, parse
from acme_server.rest.common import ApiError, read_json, services_of
from acme_server.services.identities import tokens as identities
from acme_server.services.identities.tokens import InvalidCredentials, Principal

__all__ = ["Principal", "require_principal", "routes"]

MISSING_TOKEN = "missing Bearer token"  # noqa: S105 (a message)
INVALID_TOKEN = "invalid or expired access token"  # noqa: S105 (a message)
INVALID_CREDENTIALS = "invalid client credentials"
_HEADER_MAX = 512  # an Authorization header longer than any token we issue
LOGIN_REQUEST = body(
    "LoginRequest",
    Field("clientId", "string", required=True),
    Field("clientSecret", "string", required=True),
    closed=False,
)
TOKEN_REVOKE_REQUEST = body(
    "TokenRevokeRequest", Field("accessToken", "string", required=True), closed=False
)


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


async def login(request: Request) -> Response:
    values = parse(LOGIN_REQUEST, await read_json(request))
    client_id: str = values["clientId"]
    client_secret: str = values["clientSecret"]
    try:
        token, seconds = await identities.login(services_of(request), client_id, client_secret)
    except InvalidCredentials:
        raise ApiError(401, INVALID_CREDENTIALS) from None
    return JSONResponse(
        {
            "accessToken": token,
            "expiresIn": seconds,
            "accessTokenMaxTTL": seconds,
            "tokenType": "Bearer",
        },
        headers={"Cache-Control": "no-store"},
    )


async def revoke(request: Request) -> Response:
    """Revoke the token in the body. Knowing a token is the credential to revoke it; the
    answer is the same whether it was live, so this tells nothing about other tokens."""
    token: str = parse(TOKEN_REVOKE_REQUEST, await read_json(request))["accessToken"]
    await identities.revoke_token(services_of(request), token)
    return JSONResponse({"message": "Successfully revoked access token"})


def routes() -> list[BaseRoute]:
    return [
        Route("/api/v1/auth/universal-auth/login", login, methods=["POST"]),
        Route("/api/v1/auth/token/revoke", revoke, methods=["POST"]),
    ]
