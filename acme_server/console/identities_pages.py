"""Machine identities in the console (identity.manage: admins): the list with a create
form, one identity's details with its client certificates and their credential state
(ok / warning / expiring), changing its role or profile grants, and disabling it.

The pages call what REST's /api/v1/identities routes call (services/identities/tokens.py,
grants.py, client_certs.py), with the same checks and audit records. The client secret is
in the create answer only (no-store, like every console page); no page shows it again.
A disabled identity stays disabled (the service has no enable, as REST refuses
`"disabled": false`): create a new one.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute

from acme_server.console.forms import checked, text, texts
from acme_server.console.guard import ConsoleRoute, form_of, signed_in
from acme_server.console.templating import page
from acme_server.render.identities import render_identity
from acme_server.rest.common import services_of
from acme_server.services.context import Services
from acme_server.services.errors import InvalidRequestError, ServiceError
from acme_server.services.identities import client_certs as certs
from acme_server.services.identities import grants
from acme_server.services.identities import tokens as identities
from acme_server.services.roles import GRANTED_ROLES, ROLE_HELP, ROLES, Permission
from store import IdentityRecord

MANAGE = Permission.IDENTITY_MANAGE
BASE = "/ui/identities"


async def _shown(services: Services, identity: IdentityRecord) -> dict[str, Any]:
    return render_identity(identity, await grants.reach_of(services, identity))


async def _profile_slugs(services: Services) -> list[str]:
    return [p.slug for p in await services.store.list_profiles()]


async def _list(
    request: Request,
    *,
    errors: dict[str, str] | None = None,
    values: dict[str, Any] | None = None,
    status: int = 200,
) -> Response:
    services = services_of(request)
    found = [await _shown(services, i) for i in await identities.list_identities(services)]
    context = {
        "identities": found,
        "roles": ROLES,
        "role_help": ROLE_HELP,
        "profiles": await _profile_slugs(services),
        "errors": errors or {},
        "values": values or {"role": "issuer", "profiles": []},
    }
    return page(request, "identities.html", context, status=status)


async def identities_page(request: Request) -> Response:
    """GET /ui/identities -- every machine identity, oldest first, and the create form."""
    return await _list(request)


async def _wanted(services: Services, role: str, every: bool, refs: list[str]) -> grants.Grants:
    """The grants the create or grants form asks for, checked as REST checks them."""
    if role not in GRANTED_ROLES:
        if every or refs:
            raise InvalidRequestError(f"an {role} takes no profiles: it reaches what its role does")
        return None
    if every == bool(refs):
        raise InvalidRequestError("choose some profiles or all profiles (not both)")
    return None if every else await grants.profile_ids(services, refs)


async def create_identity(request: Request) -> Response:
    """POST /ui/identities -- create one; the answer shows its client secret, this once."""
    me = signed_in(request)
    form = form_of(request)
    services = services_of(request)
    name = text(form, "name", 255)
    role = text(form, "role", 16)
    every = checked(form, "allProfiles")
    refs = texts(form, "profiles", 255)
    values = {"name": name, "role": role, "allProfiles": every, "profiles": refs}
    refused: dict[str, str] = {}
    if not name:
        refused["name"] = "a name is required"
    elif role not in ROLES:
        refused["role"] = f"role must be one of {', '.join(ROLES)}"
    if refused:
        return await _list(request, errors=refused, values=values, status=400)
    try:
        wanted = await _wanted(services, role, every, refs)
        record, secret = await identities.create_identity(
            services, name, role=role, profile_grants=wanted, actor=me.principal.actor
        )
    except ServiceError as exc:
        field = "name" if "name" in str(exc) else "profiles"
        return await _list(request, errors={field: str(exc)}, values=values, status=400)
    context = {"identity": await _shown(services, record), "secret": secret}
    return page(request, "identity_created.html", context, status=201)


async def identity_page(request: Request) -> Response:
    """GET /ui/identities/{identity_id} -- the identity, its grants and client certificates."""
    return await _details(request)


async def _details(
    request: Request, *, errors: dict[str, str] | None = None, status: int = 200
) -> Response:
    services = services_of(request)
    identity, credentials = await certs.list_credentials(
        services, request.path_params["identity_id"]
    )
    context = {
        "identity": await _shown(services, identity),
        "credentials": [
            {"binding": binding, "standing": standing} for binding, standing in credentials
        ],
        "roles": ROLES,
        "granted_roles": sorted(GRANTED_ROLES),
        "profiles": await _profile_slugs(services),
        "errors": errors or {},
    }
    return page(request, "identity.html", context, status=status)


async def _found(request: Request) -> IdentityRecord:
    return await identities.find_identity(services_of(request), request.path_params["identity_id"])


def _back(identity: IdentityRecord, note: str) -> Response:
    return RedirectResponse(f"{BASE}/{identity.id}?done={note}", status_code=303)


async def disable_identity(request: Request) -> Response:
    """POST /ui/identities/{identity_id}/disable -- stop its logins and tokens (confirmed)."""
    me = signed_in(request)
    identity = await _found(request)
    if not checked(form_of(request), "confirm"):
        return await _details(
            request, errors={"disable": "tick the box to confirm disabling it"}, status=400
        )
    await identities.disable_identity(services_of(request), identity.id, actor=me.principal.actor)
    return _back(identity, "disabled")


async def set_role(request: Request) -> Response:
    """POST /ui/identities/{identity_id}/role -- give it another role."""
    me = signed_in(request)
    identity = await _found(request)
    role = text(form_of(request), "role", 16)
    try:
        await grants.set_role(services_of(request), identity.id, role, actor=me.principal.actor)
    except InvalidRequestError as exc:
        return await _details(request, errors={"role": str(exc)}, status=400)
    return _back(identity, "role")


async def set_grants(request: Request) -> Response:
    """POST /ui/identities/{identity_id}/grants -- the profiles an issuer or reader reaches
    from now on (every grant taken, then the chosen ones given, each change audited)."""
    me = signed_in(request)
    identity = await _found(request)
    form = form_of(request)
    services = services_of(request)
    actor = me.principal.actor
    try:
        if identity.role not in GRANTED_ROLES:
            raise InvalidRequestError(
                f"an {identity.role} takes no profiles: grants are for issuers and readers"
            )
        wanted = await _wanted(
            services, identity.role, checked(form, "allProfiles"), texts(form, "profiles", 255)
        )
        if wanted != identity.profile_grants:
            await grants.revoke(services, identity.id, None, actor=actor)
            if wanted is None or wanted:
                await grants.grant(services, identity.id, wanted, actor=actor)
    except ServiceError as exc:
        return await _details(request, errors={"grants": str(exc)}, status=400)
    return _back(identity, "grants")


def routes() -> list[BaseRoute]:
    one = BASE + "/{identity_id}"
    return [
        ConsoleRoute(BASE, identities_page, ["GET"], MANAGE),
        ConsoleRoute(BASE, create_identity, ["POST"], MANAGE),
        ConsoleRoute(one, identity_page, ["GET"], MANAGE),
        ConsoleRoute(one + "/disable", disable_identity, ["POST"], MANAGE),
        ConsoleRoute(one + "/role", set_role, ["POST"], MANAGE),
        ConsoleRoute(one + "/grants", set_grants, ["POST"], MANAGE),
    ]
