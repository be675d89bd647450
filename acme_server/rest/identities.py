"""Machine identities and their client certificates over REST.

    GET  /api/v1/identities/{id}               the identity and each certificate's notAfter
                                               and standing (ok | warning | expiring)
    POST /api/v1/identities/{id}/certificates  {"csr", "profileId", "ttl"?}: issue and bind;
                                               {"certificate"}: bind one this server issued

Secrets and tokens are never shown. An identity reads itself; another needs
identity.manage (a 404 otherwise). It binds certificates only to itself (another is a
403, see acme_server/services/access.py): a bound certificate logs in as its identity.
Managing identities: acme_server/rest/identity_admin.py."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute

from acme_server.render.identities import render_credential, render_identity
from acme_server.rest.common import ApiError, field, read_json, services_of
from acme_server.rest.guard import ApiRoute, principal_of
from acme_server.services import access
from acme_server.services.identities import client_certs as certs
from acme_server.services.identities import grants
from acme_server.services.roles import Permission


async def get_identity(request: Request) -> Response:
    """A machine identity (by id or client id) with its client certificates and their
    standing: ok, warning (inside the warning period) or expiring (logins refused).
    Another identity than the caller needs identity.manage."""
    principal = principal_of(request)
    services = services_of(request)
    ref = request.path_params["identity_id"]
    found = await access.identity(services, principal, Permission.IDENTITY_READ, ref)
    identity, credentials = await certs.list_credentials(services, found.id)
    reach = await grants.reach_of(services, identity)
    return JSONResponse({"identity": render_identity(identity, reach, credentials)})


async def add_certificate(request: Request) -> Response:
    """Give an identity a client certificate: issue one for a CSR, or bind an issued one.

    With csr and profileId (and optionally ttl) a clientAuth certificate is issued under
    the profile's policy and bound; with certificate (PEM) an active clientAuth
    certificate this server issued is bound. Either way it logs in through
    POST /api/v1/auth/cert-auth/login from then on, as that identity: so only the identity
    itself or an admin may do this (403 otherwise); issuing needs the profile granted
    (404 as an unknown profile otherwise), and binding reaches only certificates of
    granted profiles. The certificate belongs to the identity from then on."""
    principal = principal_of(request)
    body = await read_json(request)
    services = services_of(request)
    ref = request.path_params["identity_id"]
    pem: str | None = field(body, "certificate", str)
    csr: str | None = field(body, "csr", str)
    if (pem is None) == (csr is None):
        raise ApiError(400, "give either csr (with profileId) or certificate")
    profile: str | None = field(body, "profileId", str, required=csr is not None)
    ttl: str | None = field(body, "ttl", str)
    identity = await access.identity(services, principal, Permission.IDENTITY_BIND, ref)
    if pem is not None:
        binding = await certs.bind_certificate(
            services,
            identity.id,
            pem,
            actor=principal.actor,
            profile_ids=access.profile_filter(principal),
        )
        chain = None
    else:
        assert csr is not None and profile is not None
        found = await access.profile(services, principal, profile)
        issued = await certs.issue_certificate(
            services, identity.id, found.id, csr, ttl=ttl, actor=principal.actor, channel="api"
        )
        binding, chain = issued.binding, (issued.certificate_pem, issued.chain_pem)
    answer = render_credential(binding, certs.standing(services, binding.not_after))
    if chain is not None:
        answer["certificate"], answer["certificateChain"] = chain
    return JSONResponse({"certificate": answer}, status_code=201)


def routes() -> list[BaseRoute]:
    return [
        ApiRoute(
            "/api/v1/identities/{identity_id}", get_identity, ["GET"], Permission.IDENTITY_READ
        ),
        ApiRoute(
            "/api/v1/identities/{identity_id}/certificates",
            add_certificate,
            ["POST"],
            Permission.IDENTITY_BIND,
        ),
    ]
