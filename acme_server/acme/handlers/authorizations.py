"""RFC 8555 7.5 authorizations and 7.5.2 deactivation: parse -> services/challenges.py ->
render."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse

from acme_server.acme.handlers.common import acme_json, verified
from acme_server.acme.messages import authorization_json
from acme_server.acme.problems import malformed
from acme_server.services.challenges import (
    current_authorization,
    deactivate_authorization,
    owned_authorization,
)


async def authorization(request: Request) -> JSONResponse:
    """POST-as-GET, or {"status": "deactivated"} (RFC 8555 7.5.2)."""
    req = await verified(request, "kid")
    account = req.post.require_account()
    authz = await owned_authorization(req.services, account.id, request.path_params["authz_id"])
    payload = req.post.payload
    if payload is None:
        authz = await current_authorization(req.services, req.state.validation_waiters, authz)
    elif payload.get("status") is not None:
        if payload["status"] != "deactivated":
            raise malformed("an authorization's status can only be set to deactivated")
        authz = await deactivate_authorization(req.services, authz)
    return acme_json(authorization_json(authz, req.urls))
