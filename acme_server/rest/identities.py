"""Machine identities and their client certificates over REST.

    GET  /api/v1/identities/{id}               the identity and each certificate's notAfter
                                               and standing (ok | warning | expiring)
    POST /api/v1/identities/{id}/certificates  {"csr", "profileId", "ttl"?}: issue and bind;
                                               {"certificate"}: bind one this server issued

Secrets and tokens are never shown. A member identity reads only itself (another is a
404) and binds certificates only to itself (another is a 403, see
acme_server/services/access.py): a bound certificate logs in as its identity."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from acme_server.render.identities import render_credential, render_identity
from acme_server.rest.auth import require_principal
from acme_server.rest.common import ApiError, field, read_json, services_of
from acme_server.services import access
from acme_server.services.access import Action
from acme_server.services.identities import client_certs as certs


async def get_identity(request: Request) -> Response:
    """A machine identity (by id or client id) with its client certificates and their
    standing: ok, warning (inside the warning period) or expiring (logins refused).
    A member identity reads only itself."""
    principal = await require_principal(request)
    services = services_of(request)
    ref = request.path_params["identity_id"]
    found = await access.identity(services, principal, Action.IDENTITY_READ, ref)
    identity, credentials = await certs.list_credentials(services, found.id)
    return JSONResponse({"identity": render_identity(identity, credentials)})


async def add_certificate(request: Request) -> Response:
    """Give an identity a client certificate: issue one for a CSR, or bind an issued one.

    With csr and profileId (and optionally ttl) a clientAuth certificate is issued under
    the profile's policy and bound; with certificate (PEM) an active clientAuth
    certificate this server issued is bound. Either way it logs in through
    POST /api/v1/auth/cert-auth/login from then on, as that identity: so only the identity
    itself or an admin may do this (403 otherwise), and a member binds only a certificate
    it owns. The certificate belongs to the identity from then on."""
    principal = await require_principal(request)
    body = await read_json(request)
    services = services_of(request)
    ref = request.path_params["identity_id"]
    pem: str | None = field(body, "certificate", str)
    csr: str | None = field(body, "csr", str)
    if (pem is None) == (csr is None):
        raise ApiError(400, "give either csr (with profileId) or certificate")
    profile: str | None = field(body, "profileId", str, required=csr is not None)
    ttl: str | None = field(body, "ttl", str)
    identity = await access.identity(services, principal, Action.IDENTITY_BIND, ref)
    if pem is not None:
        owner = access.owner_filter(principal, Action.IDENTITY_BIND)
        binding = await certs.bind_certificate(
            services, identity.id, pem, actor=principal.actor, owner=owner
        )
        chain = None
    else:
        assert csr is not None and profile is not None
        issued = await certs.issue_certificate(
            services, identity.id, profile, csr, ttl=ttl, actor=principal.actor
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
