"""Client-certificate login and rotation of machine identities (proof of possession).

    POST /api/v1/auth/cert-auth/login    a proof (acme_server/services/identities/proof.py)
         -> the universal-auth answer + credentialState, credentialNotAfter, rotateBy
    POST /api/v1/auth/cert-auth/rotate   a proof whose payload is {"csr": PEM | b64url DER}
         -> the new certificate (pending until its first login)

Both take the JWS as the body (application/jose+json or application/json for the
flattened form, application/jose for the compact one). A refused proof is a 401 whose
message says what is wrong: the certificate is public, so naming the reason tells an
attacker nothing, while it tells an operator what to fix.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute

from acme_server.rest.common import ApiError, iso, services_of
from acme_server.rest.guard import PUBLIC, ApiRoute
from acme_server.services.identities import client_certs as certs
from acme_server.services.identities.proof import MAX_PROOF_BYTES, CertAuthError

ROTATION_REQUIRED = "rotation_required"  # details.reason of a login refused for expiry
CONTENT_TYPES = ("application/jose+json", "application/json", "application/jose")


async def _read_proof(request: Request) -> bytes:
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type not in CONTENT_TYPES:
        raise ApiError(415, f"Content-Type must be one of {', '.join(CONTENT_TYPES)}")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_PROOF_BYTES:
            raise ApiError(413, f"the request body exceeds {MAX_PROOF_BYTES} bytes")
    return bytes(body)


async def login(request: Request) -> Response:
    """Log in with a client certificate: a JWS signed by its key (proof of possession).

    The answer is the universal-auth one plus the credential's standing: ok, warning
    (rotate soon) or expiring (never here: inside the expiry period the login is refused
    with 401, details.reason "rotation_required", until the certificate is rotated), its
    notAfter and rotateBy."""
    body = await _read_proof(request)
    try:
        token, seconds, standing = await certs.login(services_of(request), body)
    except certs.RotationRequired as exc:
        details = {
            "reason": ROTATION_REQUIRED,
            "rotatePath": certs.ROTATE_PATH,
            "credentialNotAfter": iso(exc.not_after),
        }
        raise ApiError(401, str(exc), details=details) from None
    except CertAuthError as exc:
        raise ApiError(401, str(exc)) from None
    return JSONResponse(
        {
            "accessToken": token,
            "expiresIn": seconds,
            "accessTokenMaxTTL": seconds,
            "tokenType": "Bearer",
            "credentialState": standing.state,
            "credentialNotAfter": iso(standing.not_after),
            "rotateBy": iso(standing.rotate_by),
        },
        headers={"Cache-Control": "no-store"},
    )


async def rotate(request: Request) -> Response:
    """Rotate a client certificate: a proof signed by the current key, payload {"csr": ...}.

    Accepted inside the expiry period too. The new certificate (same profile, clientAuth)
    is pending until its first login, which revokes the old one when so configured. The
    same CSR again answers the same certificate."""
    body = await _read_proof(request)
    services = services_of(request)
    try:
        rotated = await certs.rotate(services, body)
    except CertAuthError as exc:
        raise ApiError(401, str(exc)) from None
    binding = rotated.binding
    return JSONResponse(
        {
            "identityId": binding.identity_id,
            "serialNumber": binding.serial_hex,
            "notAfter": iso(binding.not_after),
            "state": binding.state,
            "certificate": rotated.certificate_pem,
            "certificateChain": rotated.chain_pem,
            "rotateBy": iso(certs.standing(services, binding.not_after).rotate_by),
        },
        status_code=201,
        headers={"Cache-Control": "no-store"},
    )


def routes() -> list[BaseRoute]:
    return [
        ApiRoute(certs.LOGIN_PATH, login, ["POST"], PUBLIC),
        ApiRoute(certs.ROTATE_PATH, rotate, ["POST"], PUBLIC),
    ]
