"""REST: the CRLs that publish a CA's revocations (GET .../ca/internal/{caId}/crls)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute

from acme_server.rest.certificates.render import crl_json
from acme_server.rest.common import services_of
from acme_server.rest.guard import ApiRoute, principal_of
from acme_server.services import access
from acme_server.services.cas.crls import current_crl
from acme_server.services.roles import Permission

PREFIX = "/api/v1/cert-manager"


async def list_crls(request: Request) -> Response:
    """GET /api/v1/cert-manager/ca/internal/{caId}/crls -- the CA's CRLs, newest first.

    `caId`: the CA's id or name. Response 200: [{"id", "crl" (PEM), "crlNumber",
    "thisUpdate", "nextUpdate"}]; a CA with no CRL yet gets its first one made.
    """
    services = services_of(request)
    ca = await access.ca(services, principal_of(request), request.path_params["ca_id"])
    crls = await services.store.list_crls(ca.id)
    if not crls:
        crls = [await current_crl(services, ca.id)]
    return JSONResponse([crl_json(crl) for crl in crls])


def routes() -> list[BaseRoute]:
    return [
        ApiRoute(f"{PREFIX}/ca/internal/{{ca_id}}/crls", list_crls, ["GET"], Permission.CA_READ)
    ]
