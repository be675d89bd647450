"""RFC 8555 7.5.1: responding to a challenge: parse -> services/challenges.py -> render."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse

from acme_server.acme.handlers.common import acme_json, link, verified
from acme_server.acme.messages import challenge_json
from acme_server.services.challenges import Validations, owned_challenge, respond_to_challenge


async def challenge(request: Request) -> JSONResponse:
    """Any JSON object (normally {}) asks the server to validate; "" (POST-as-GET) reads."""
    req = await verified(request, "kid")
    account = req.post.require_account()
    found, authz = await owned_challenge(
        req.services, account.id, request.path_params["challenge_id"]
    )
    if req.post.payload is not None:
        state = req.state
        validations = Validations(
            state.validation_worker, state.validation_waiters, state.validation_wakeup
        )
        found = await respond_to_challenge(req.services, validations, account, found, authz)
    headers = {"Link": link(req.urls.authorization(authz.id), "up")}
    if found.status == "processing":
        headers["Retry-After"] = "1"
    return acme_json(challenge_json(found, req.urls), 200, headers)
