"""GET /api/v1/identities/{id}: a machine identity and its certificate credentials, each
with its notAfter and standing (ok | warning | expiring), so operators see which
identities must rotate. Secrets and tokens are never shown."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from acme_server.rest.auth import require_principal
from acme_server.rest.common import api_errors, iso, services_of
from acme_server.services import identity_certificates as certs
from acme_server.services.identity_certificates import Standing
from store import IdentityCertificateRecord, IdentityRecord


def render_credential(binding: IdentityCertificateRecord, standing: Standing) -> dict[str, Any]:
    return {
        "serialNumber": binding.serial_hex,
        "fingerprintSha256": binding.fingerprint_sha256,
        "notAfter": iso(binding.not_after),
        "rotateBy": iso(standing.rotate_by),
        "status": binding.state,
        "credentialState": standing.state,
        "firstUsedAt": iso(binding.first_used_at),
        "createdAt": iso(binding.created_at),
    }


def render_identity(
    identity: IdentityRecord, credentials: list[tuple[IdentityCertificateRecord, Standing]]
) -> dict[str, Any]:
    return {
        "id": identity.id,
        "name": identity.name,
        "clientId": identity.client_id,
        "disabled": identity.disabled,
        "createdAt": iso(identity.created_at),
        "certificates": [render_credential(b, s) for b, s in credentials],
    }


@api_errors
async def get_identity(request: Request) -> Response:
    """A machine identity (by id or client id) with its client certificates and their
    standing: ok, warning (inside the warning period) or expiring (logins refused)."""
    await require_principal(request)
    identity, credentials = await certs.list_credentials(
        services_of(request), request.path_params["identity_id"]
    )
    return JSONResponse({"identity": render_identity(identity, credentials)})


def routes() -> list[BaseRoute]:
    return [Route("/api/v1/identities/{identity_id}", get_identity, methods=["GET"])]
