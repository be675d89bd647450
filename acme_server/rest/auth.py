"""REST authentication: the universal-auth login and token revocation. The Bearer check
of every other route is acme_server/rest/guard.py's."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute

from acme_server.rest.body import Field, body, parse
from acme_server.rest.common import ApiError, read_json, services_of
from acme_server.rest.guard import PUBLIC, ApiRoute
from acme_server.services.identities import tokens as identities
from acme_server.services.identities.tokens import InvalidCredentials

INVALID_CREDENTIALS = "invalid client credentials"
LOGIN_REQUEST = body(
    "LoginRequest",
    Field("clientId", "string", required=True),
    Field("clientSecret", "string", required=True),
    closed=False,
)
TOKEN_REVOKE_REQUEST = body(
    "TokenRevokeRequest", Field("accessToken", "string", required=True), closed=False
)


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
        ApiRoute("/api/v1/auth/universal-auth/login", login, ["POST"], PUBLIC),
        ApiRoute("/api/v1/auth/token/revoke", revoke, ["POST"], PUBLIC),
    ]
