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
from acme_server.rest.body import Field, Values, body, names_of, parse
from acme_server.rest.common import ApiError, read_json, services_of
from acme_server.rest.guard import ApiRoute, principal_of
from acme_server.services import access
from acme_server.services.audit import record
from acme_server.services.cas import admin as ca_admin
from acme_server.services.cas.create import CASpec, create_intermediate, create_root, find_ca
from acme_server.services.errors import InvalidRequestError, NotFoundError
from acme_server.services.profiles.defaults import parse_enum, parse_validity
from acme_server.services.roles import Permission
from ca_core.errors import CAError
from ca_core.names import subject_to_name
from pki_types.model import HashAlgorithm, KeyAlgorithm, SubjectAttributes

BASE = "/api/v1/cert-manager/ca/internal"
NAME_MAX = 255  # schema: certificate_authorities.name
ROOT_TTL = "3650d"
INTERMEDIATE_TTL = "1825d"
SUBJECT_KEYS = {
    "commonName": "common_name",
    "organization": "organization",
    "organizationalUnit": "organizational_unit",
    "country": "country",
    "state": "state",
    "locality": "locality",
}
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
        description=f"default {ROOT_TTL} (root), {INTERMEDIATE_TTL} (intermediate)",
        extra=_TTL,
    ),
    Field("parentCaId", "string", description="intermediate only"),
)
UPDATE_REQUEST = body(
    "CAUpdateRequest",
    # ca_admin.set_status checks the value
    Field("status", "string", required=True, extra={"enum": ["active", "disabled"]}),
)


def _subject(given: Values, name: str) -> SubjectAttributes:
    values = {attr: given.get(key, "").strip() for key, attr in SUBJECT_KEYS.items()}
    subject = SubjectAttributes(**{**values, "common_name": values["common_name"] or name})
    try:
        subject_to_name(subject)  # cheap checks before the (slow) key generation
    except CAError as exc:
        raise ApiError(400, f"subject: {exc}") from None
    return subject


def _spec(values: Values, default_ttl: str) -> CASpec:
    name: str = values["name"].strip()
    if not name or len(name) > NAME_MAX:
        raise ApiError(400, f"name must be 1-{NAME_MAX} characters")
    key_algorithm = parse_enum(KeyAlgorithm, values["keyAlgorithm"], "keyAlgorithm")
    hash_algorithm = parse_enum(HashAlgorithm, values["hashAlgorithm"], "hashAlgorithm")
    try:
        validity = parse_validity(values.get("ttl", default_ttl))
    except InvalidRequestError as exc:
        raise ApiError(400, f"ttl: {exc}") from None
    return CASpec(
        name=name,
        subject=_subject(values.get("subject", {}), name),
        key_algorithm=key_algorithm,
        hash_algorithm=hash_algorithm,
        validity=validity,
    )


async def create_ca(request: Request) -> Response:
    """Create a root or an intermediate certificate authority."""
    principal = principal_of(request)
    values = parse(CREATE_REQUEST, await read_json(request))
    kind: str = values["type"]
    parent_ref: str | None = values.get("parentCaId")
    services = services_of(request)
    if kind == "root":
        if parent_ref is not None:
            raise ApiError(400, "parentCaId is only for intermediate CAs")
        ca = await create_root(services, _spec(values, ROOT_TTL))
    else:
        if parent_ref is None:
            raise ApiError(400, "parentCaId is required for an intermediate CA")
        spec = _spec(values, INTERMEDIATE_TTL)
        try:
            parent = await find_ca(services, parent_ref)
        except NotFoundError as exc:
            raise ApiError(400, f"parentCaId: {exc}") from None
        ca = await create_intermediate(services, spec, parent.id)
    await record(
        services,
        actor=principal.actor,
        action="ca.create",
        target_type="ca",
        target_id=ca.id,
        details={"name": ca.name, "type": ca.kind, "parentCaId": ca.parent_id},
    )
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
