"""Internal certificate authorities: /api/v1/cert-manager/ca/internal.

    POST   /ca/internal          create a root ("type": "root") or an intermediate
                                 ("type": "intermediate", "parentCaId")
    GET    /ca/internal          list (no PEM)
    GET    /ca/internal/{caId}   one CA, with its certificate and chain (id or name)
    PATCH  /ca/internal/{caId}   {"status": "active" | "disabled"}
    DELETE /ca/internal/{caId}   409 while certificates, child CAs or profiles refer to it

A disabled CA issues nothing (issuance refuses non-active CAs) but its certificates stay
revocable and its CRL published: disabling, not deleting, retires a CA that has issued.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute

from acme_server.render.cas import render_ca
from acme_server.rest.body import Field, body, names_of, parse
from acme_server.rest.common import read_json, services_of
from acme_server.rest.guard import ApiRoute, principal_of
from acme_server.services import access
from acme_server.services.audit import record
from acme_server.services.cas import admin as ca_admin
from acme_server.services.cas.create import find_ca
from acme_server.services.cas.requests import DEFAULT_TTL, SUBJECT_KEYS, CARequest, create_requested
from acme_server.services.roles import Permission
from pki_types.model import HashAlgorithm, KeyAlgorithm

BASE = "/api/v1/cert-manager/ca/internal"
_TTL = {"pattern": "^[0-9]+[smhdwy]$", "examples": ["90d"]}
SUBJECT = Field(
    "subject",
    "object",
    closed=True,
    ref="Subject",
    fields=tuple(
        Field(key, "string", extra={"pattern": "^[A-Za-z]{2}$"} if key == "country" else {})
        for key in SUBJECT_KEYS
    ),
)
CREATE_REQUEST = body(
    "CACreateRequest",
    Field(
        "type",
        "string",
        required=True,
        enum=("root", "intermediate"),
        errors={"enum": "type must be 'root' or 'intermediate'"},
    ),
    Field("name", "string", required=True),
    SUBJECT,
    # the algorithm names and the TTL are checked by parse_enum / parse_validity
    Field("keyAlgorithm", "string", default="EC_P384", extra=names_of(KeyAlgorithm)),
    Field("hashAlgorithm", "string", default="SHA384", extra=names_of(HashAlgorithm)),
    Field(
        "ttl",
        "string",
        description=f"default {DEFAULT_TTL['root']} (root), "
        f"{DEFAULT_TTL['intermediate']} (intermediate)",
        extra=_TTL,
    ),
    Field("parentCaId", "string", description="intermediate only"),
)
UPDATE_REQUEST = body(
    "CAUpdateRequest",
    # ca_admin.set_status checks the value
    Field("status", "string", required=True, extra={"enum": ["active", "disabled"]}),
)


async def create_ca(request: Request) -> Response:
    """Create a root or an intermediate certificate authority."""
    principal = principal_of(request)
    values = parse(CREATE_REQUEST, await read_json(request))
    asked = CARequest(
        kind=values["type"],
        name=values["name"],
        key_algorithm=values["keyAlgorithm"],
        hash_algorithm=values["hashAlgorithm"],
        ttl=values.get("ttl"),
        subject=values.get("subject", {}),
        parent_ref=values.get("parentCaId"),
    )
    ca = await create_requested(services_of(request), asked, actor=principal.actor)
    return JSONResponse({"ca": render_ca(ca, full=True)}, status_code=201)


async def list_cas(request: Request) -> Response:
    """List the internal certificate authorities, oldest first (those issuing for the
    profiles the caller is granted, and the CAs above them)."""
    services = services_of(request)
    seen = await access.visible(services, principal_of(request), "ca")
    cas = [ca for ca in await services.store.list_cas() if seen is None or ca.id in seen]
    return JSONResponse({"cas": [render_ca(ca, full=False) for ca in cas]})


async def get_ca(request: Request) -> Response:
    """Get one certificate authority (by id or name) with its certificate and chain."""
    ca = await access.ca(services_of(request), principal_of(request), request.path_params["ca_id"])
    return JSONResponse({"ca": render_ca(ca, full=True)})


async def update_ca(request: Request) -> Response:
    """Enable or disable a certificate authority."""
    principal = principal_of(request)
    status: str = parse(UPDATE_REQUEST, await read_json(request))["status"]
    services = services_of(request)
    ca = await find_ca(services, request.path_params["ca_id"])
    updated, changed = await ca_admin.set_status(services, ca, status)
    if changed:
        await record(
            services,
            actor=principal.actor,
            action="ca.update",
            target_type="ca",
            target_id=ca.id,
            details={"name": ca.name, "status": updated.status},
        )
    return JSONResponse({"ca": render_ca(updated, full=True)})


async def delete_ca(request: Request) -> Response:
    """Delete a certificate authority that nothing refers to (else 409: disable it)."""
    principal = principal_of(request)
    services = services_of(request)
    ca = await find_ca(services, request.path_params["ca_id"])
    await ca_admin.delete_ca(services, ca)
    await record(
        services,
        actor=principal.actor,
        action="ca.delete",
        target_type="ca",
        target_id=ca.id,
        details={"name": ca.name, "type": ca.kind},
    )
    return JSONResponse({"ca": render_ca(ca, full=False)})


def routes() -> list[BaseRoute]:
    one = f"{BASE}/{{ca_id}}"
    return [
        ApiRoute(BASE, create_ca, ["POST"], Permission.CA_MANAGE),
        ApiRoute(BASE, list_cas, ["GET"], Permission.CA_READ),
        ApiRoute(one, get_ca, ["GET"], Permission.CA_READ),
        ApiRoute(one, update_ca, ["PATCH"], Permission.CA_MANAGE),
        ApiRoute(one, delete_ca, ["DELETE"], Permission.CA_MANAGE),
    ]
