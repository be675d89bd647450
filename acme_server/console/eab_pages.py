"""A profile's External Account Binding credentials in the console (RFC 8555 7.3.4):
the list (usable / used / revoked, the account each bound), creating one (single-use or
reusable, its HMAC algorithm) and revoking one (a confirmation the server checks).

A new credential's HMAC key is on the answer to the create form only (not a redirect:
nothing can load it again; every console page is Cache-Control: no-store). The services,
lookups and audit records are those of REST's eab-credentials routes.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute

from acme_server.console.forms import checked, text
from acme_server.console.guard import ConsoleRoute, form_of, signed_in
from acme_server.console.profiles_pages import certbot_snippet
from acme_server.console.templating import page
from acme_server.errors import mapping_of
from acme_server.rest.common import services_of
from acme_server.services import eab_credentials as eab
from acme_server.services.audit import record
from acme_server.services.errors import InvalidRequestError, NotFoundError, ServiceError
from acme_server.services.profiles.admin import acme_directory_url
from acme_server.services.profiles.lookup import find_profile
from acme_server.services.roles import Permission
from store import ProfileRecord


async def _list_page(
    request: Request,
    profile: ProfileRecord,
    *,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    services = services_of(request)
    keys = await eab.list_credentials(services, profile)
    context = {
        "profile": profile,
        "keys": [(k, eab.status_of(k)) for k in keys],
        "algorithms": sorted(eab.HMAC_ALGS),
        "directory": acme_directory_url(services, profile),
        "errors": errors or {},
        "revoked": request.query_params.get("revoked", ""),
    }
    return page(request, "eab.html", context, status=status)


async def eab_page(request: Request) -> Response:
    """GET /ui/profiles/{profile_id}/eab -- the profile's EAB credentials (never a key)."""
    profile = await find_profile(services_of(request), request.path_params["profile_id"])
    return await _list_page(request, profile)


async def create_eab(request: Request) -> Response:
    """POST /ui/profiles/{profile_id}/eab -- a new credential; its HMAC key shown this once."""
    me = signed_in(request)
    form = form_of(request)
    services = services_of(request)
    profile = await find_profile(services, request.path_params["profile_id"])
    reusable = text(form, "kind", 32) == "reusable"
    algorithm = text(form, "hmacAlgorithm", 16) or "HS256"
    try:
        if algorithm not in eab.HMAC_ALGS:
            raise InvalidRequestError(
                f"hmacAlgorithm must be one of {', '.join(sorted(eab.HMAC_ALGS))}"
            )
        made = await eab.create_credential(services, profile, reusable=reusable, hmac_alg=algorithm)
    except ServiceError as exc:
        errors = {"hmacAlgorithm": str(exc)}
        return await _list_page(request, profile, errors=errors, status=mapping_of(exc).rest_status)
    await record(
        services,
        actor=me.principal.actor,
        action="eab.create",
        target_type="eab_credential",
        target_id=made.record.id,
        details={"profileId": profile.id, "reusable": reusable, "hmacAlgorithm": algorithm},
    )
    context = {
        "profile": profile,
        "made": made,
        "certbot": certbot_snippet(
            made.directory, eab=True, kid=made.record.id, hmac=made.hmac_key_b64
        ),
    }
    return page(request, "eab_created.html", context, status=201)


async def revoke_eab(request: Request) -> Response:
    """POST /ui/profiles/{profile_id}/eab/{kid}/revoke -- revoke (confirmation required)."""
    me = signed_in(request)
    form = form_of(request)
    services = services_of(request)
    profile = await find_profile(services, request.path_params["profile_id"])
    kid = request.path_params["kid"]
    if not checked(form, "confirm"):
        keys = {k.id for k in await eab.list_credentials(services, profile)}
        if kid not in keys:
            raise NotFoundError(f"no EAB credential {kid!r} for profile {profile.slug!r}")
        errors = {f"revoke-{kid}": "Tick the confirmation to revoke this credential."}
        return await _list_page(request, profile, errors=errors, status=400)
    await eab.revoke_credential(services, kid, profile=profile)
    await record(
        services,
        actor=me.principal.actor,
        action="eab.revoke",
        target_type="eab_credential",
        target_id=kid,
        details={"profileId": profile.id},
    )
    return RedirectResponse(f"/ui/profiles/{profile.id}/eab?revoked={kid}", status_code=303)


def routes() -> list[BaseRoute]:
    base = "/ui/profiles/{profile_id}/eab"
    return [
        ConsoleRoute(base, eab_page, ["GET"], Permission.EAB_MANAGE),
        ConsoleRoute(base, create_eab, ["POST"], Permission.EAB_MANAGE),
        ConsoleRoute(f"{base}/{{kid}}/revoke", revoke_eab, ["POST"], Permission.EAB_MANAGE),
    ]
