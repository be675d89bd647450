"""REST: revoking a certificate (POST .../certificates/{certificateId}/revoke). The issuing
CA's CRL is regenerated at once (acme_server/services/certificates/revocation.py); an
issuer revokes only certificates of the profiles it is granted
(acme_server/services/access.py)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute

from acme_server.rest.body import Field, body, parse
from acme_server.rest.common import iso, read_json, services_of
from acme_server.rest.guard import ApiRoute, principal_of
from acme_server.services import access
from acme_server.services.certificates import audit_trail
from acme_server.services.certificates.revocation import revoke
from acme_server.services.roles import Permission
from pki_types.model import RevocationReason

PREFIX = "/api/v1/cert-manager"
REVOKE_REQUEST = body(
    "RevokeRequest",
    Field(
        "revocationReason",
        "string",
        enum=tuple(r.value for r in RevocationReason),
        default=RevocationReason.UNSPECIFIED.value,
    ),
    closed=False,
)


async def revoke_certificate(request: Request) -> Response:
    """POST /api/v1/cert-manager/certificates/{certificateId}/revoke -- revoke a
    certificate.

    Request: {"revocationReason": "UNSPECIFIED" | "KEY_COMPROMISE" | "CA_COMPROMISE" |
    "AFFILIATION_CHANGED" | "SUPERSEDED" | "CESSATION_OF_OPERATION" | "CERTIFICATE_HOLD" |
    "PRIVILEGE_WITHDRAWN" | "A_A_COMPROMISE"} (default UNSPECIFIED). The issuing CA's CRL
    is regenerated at once. Response 200: {"message": "Successfully revoked certificate",
    "serialNumber", "revokedAt", "revocationReason", "certificateId"}; 409 when already
    revoked (or expired).
    """
    principal = principal_of(request)
    services = services_of(request)
    reason = RevocationReason(parse(REVOKE_REQUEST, await read_json(request))["revocationReason"])
    ref = request.path_params["certificate_id"]
    cert = await access.certificate(services, principal, Permission.CERTIFICATE_REVOKE, ref)
    revoked = await revoke(services, cert, reason)
    await audit_trail.revoked(services, principal, cert, reason)
    return JSONResponse(
        {
            "message": "Successfully revoked certificate",
            "serialNumber": revoked.serial_hex,
            "revokedAt": iso(revoked.revoked_at),
            "revocationReason": reason.value,
            "certificateId": revoked.id,
        }
    )


def routes() -> list[BaseRoute]:
    return [
        ApiRoute(
            f"{PREFIX}/certificates/{{certificate_id}}/revoke",
            revoke_certificate,
            ["POST"],
            Permission.CERTIFICATE_REVOKE,
        )
    ]
