"""Machine identities and their client certificates over REST.

    GET  /api/v1/identities/{id}               the identity and each certificate's notAfter
                                               and standing (ok | warning | expiring)
    POST /api/v1/identities/{id}/certificates  {"csr", "profileId", "ttl"?}: issue and bind;
                                               {"certificate"}: bind one this server issued

Secrets and tokens are never shown."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from acme_server.rest.auth import require_principal
from acme_server.rest.common import ApiError, api_errors, field, iso, read_json, services_of
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


@api_errors
async def add_certificate(request: Request) -> Response:
    """Give an identity a client certificate: issue one for a CSR, or bind an issued one.

    With csr and profileId (and optionally ttl) a clientAuth certificate is issued under
    the profile's policy and bound; with certificate (PEM) an active clientAuth
    certificate this server issued is bound. Either way it logs in through
    POST /api/v1/auth/cert-auth/login from then on."""
    principal = await require_principal(request)
    body = await read_json(request)
    services = services_of(request)
    ref = request.path_params["identity_id"]
    pem: str | None = field(body, "certificate", str)
    csr: str | None = field(body, "csr", str)
    if (pem is None) == (csr is None):
        raise ApiError(400, "give either csr (with profileId) or certificate")
    if pem is not None:
        binding = await certs.bind_certificate(services, ref, pem, actor=principal.actor)
        chain = None
    else:
        assert csr is not None
        profile: str = field(body, "profileId", str, required=True)
        ttl: str | None = field(body, "ttl", str)
        issued = await certs.issue_certificate(
            services, ref, profile, csr, ttl=ttl, actor=principal.actor
        )
        binding, chain = issued.binding, (issued.certificate_pem, issued.chain_pem)
    answer = render_credential(binding, certs.standing(services, binding.not_after))
    if chain is not None:
        answer["certificate"], answer["certificateChain"] = chain
    return JSONResponse({"certificate": answer}, status_code=201)


def routes() -> list[BaseRoute]:
    return [
        Route("/api/v1/identities/{identity_id}", get_identity, methods=["GET"]),
        Route("/api/v1/identities/{identity_id}/certificates", add_certificate, methods=["POST"]),
    ]
