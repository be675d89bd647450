"""Managing machine identities over REST (identity.manage: admins), the same operations as
`kms identity create|list|set-role|grant|revoke|disable` through the same services.

    POST   /api/v1/identities                           {"name", "role", "profiles": [slug
                                                        or id...], "allProfiles"}: 201 with
                                                        the client secret, shown this once
    GET    /api/v1/identities                           every identity, oldest first
    PATCH  /api/v1/identities/{id}                      {"role"?, "disabled": true?}
    POST   /api/v1/identities/{id}/grants               {"profiles": [...]} or
                                                        {"allProfiles": true}
    DELETE /api/v1/identities/{id}/grants/{profile}     a profile's grant; "*": every one

An issuer or reader needs `profiles` or `allProfiles` (400 otherwise); an admin or an
auditor takes neither. Secrets are never shown again, tokens never.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute

from acme_server.render.identities import render_identity
from acme_server.rest.body import Field, Values, body, parse
from acme_server.rest.common import ApiError, read_json, services_of
from acme_server.rest.guard import ApiRoute, principal_of
from acme_server.services.context import Services
from acme_server.services.identities import grants
from acme_server.services.identities import tokens as identities
from acme_server.services.roles import GRANTED_ROLES, ROLES, Permission
from store import IdentityRecord

BASE = "/api/v1/identities"
EVERY_PROFILE = "*"
_PROFILES = Field("profiles", "array", items=Field("", "string", min_length=1, max_length=255))
_ROLE = Field("role", "string", enum=ROLES)
CREATE_REQUEST = body(
    "IdentityCreateRequest",
    Field("name", "string", required=True, min_length=1, max_length=255),
    Field(_ROLE.name, "string", required=True, enum=ROLES),
    _PROFILES,
    Field("allProfiles", "boolean"),
)
UPDATE_REQUEST = body(
    "IdentityUpdateRequest",
    _ROLE,
    Field("disabled", "boolean", description="true disables it: its logins and tokens stop"),
)
GRANT_REQUEST = body("IdentityGrantRequest", _PROFILES, Field("allProfiles", "boolean"))


async def _wanted_grants(services: Services, values: Values) -> grants.Grants:
    """None for allProfiles, else the ids of `profiles`; 400 when both or neither."""
    every = values.get("allProfiles") is True
    refs: list[str] = values.get("profiles") or []
    if every == bool(refs):
        raise ApiError(400, "give either profiles (an array of slugs or ids) or allProfiles")
    return None if every else await grants.profile_ids(services, refs)


async def _shown(services: Services, identity: IdentityRecord) -> dict[str, object]:
    return render_identity(identity, await grants.reach_of(services, identity))


async def create_identity(request: Request) -> Response:
    """Create a machine identity; its client secret is in this answer only."""
    principal = principal_of(request)
    values = parse(CREATE_REQUEST, await read_json(request))
    services = services_of(request)
    role: str = values["role"]
    profile_grants: grants.Grants = None
    if role in GRANTED_ROLES:
        profile_grants = await _wanted_grants(services, values)
    elif values.get("profiles") or values.get("allProfiles"):
        raise ApiError(400, f"an {role} takes no profiles: it reaches what its role does")
    record, secret = await identities.create_identity(
        services, values["name"], role=role, profile_grants=profile_grants, actor=principal.actor
    )
    shown = await _shown(services, record) | {"clientSecret": secret}
    return JSONResponse({"identity": shown}, status_code=201, headers={"Cache-Control": "no-store"})


async def list_identities(request: Request) -> Response:
    """List every machine identity, oldest first (never a secret)."""
    services = services_of(request)
    found = await identities.list_identities(services)
    return JSONResponse({"identities": [await _shown(services, i) for i in found]})


async def update_identity(request: Request) -> Response:
    """Change an identity's role, or disable it (its logins and tokens stop working)."""
    principal = principal_of(request)
    values = parse(UPDATE_REQUEST, await read_json(request))
    if values.get("disabled") is False:
        raise ApiError(400, "disabled: an identity is disabled for good; create a new one")
    services = services_of(request)
    ref = request.path_params["identity_id"]
    if "role" in values:
        await grants.set_role(services, ref, values["role"], actor=principal.actor)
    if values.get("disabled"):
        await identities.disable_identity(services, ref, actor=principal.actor)
    found = await identities.find_identity(services, ref)
    return JSONResponse({"identity": await _shown(services, found)})


async def add_grants(request: Request) -> Response:
    """Grant an issuer or reader more profiles, or every profile."""
    principal = principal_of(request)
    values = parse(GRANT_REQUEST, await read_json(request))
    services = services_of(request)
    wanted = await _wanted_grants(services, values)
    ref = request.path_params["identity_id"]
    record, _ = await grants.grant(services, ref, wanted, actor=principal.actor)
    return JSONResponse({"identity": await _shown(services, record)})


async def remove_grant(request: Request) -> Response:
    """Take a profile's grant ("*": every profile's) from an issuer or reader."""
    principal = principal_of(request)
    services = services_of(request)
    profile = request.path_params["profile"]
    wanted = None if profile == EVERY_PROFILE else await grants.profile_ids(services, [profile])
    ref = request.path_params["identity_id"]
    record, _ = await grants.revoke(services, ref, wanted, actor=principal.actor)
    return JSONResponse({"identity": await _shown(services, record)})


def routes() -> list[BaseRoute]:
    one = f"{BASE}/{{identity_id}}"
    manage = Permission.IDENTITY_MANAGE
    return [
        ApiRoute(BASE, create_identity, ["POST"], manage),
        ApiRoute(BASE, list_identities, ["GET"], manage),
        ApiRoute(one, update_identity, ["PATCH"], manage),
        ApiRoute(one + "/grants", add_grants, ["POST"], manage),
        ApiRoute(one + "/grants/{profile}", remove_grant, ["DELETE"], manage),
    ]
