"""External Account Binding credentials of a profile (RFC 8555 7.3.4):
/api/v1/cert-manager/certificate-profiles/{profileId}/eab-credentials.

    POST   .../eab-credentials        {"reusable"?: false, "hmacAlgorithm"?: "HS256"}
                                      -> {"kid", "hmacKey", "hmacAlgorithm", "reusable",
                                          "directory", "createdAt"} (render/eab.py, as
                                          `kms eab create --json`); the key is shown
                                          this once and stored only encrypted
    GET    .../eab-credentials        list (never the key)
    DELETE .../eab-credentials/{kid}  revoke: no new account binds with it (409 if it was)
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute

from acme_server.render.eab import render_new_credential
from acme_server.rest.body import Field, body, parse
from acme_server.rest.common import iso, read_json, services_of
from acme_server.rest.guard import ApiRoute, principal_of
from acme_server.services import eab_credentials as eab
from acme_server.services.audit import record
from acme_server.services.profiles.lookup import find_profile
from acme_server.services.roles import Permission
from store import EABKeyRecord

BASE = "/api/v1/cert-manager/certificate-profiles/{profile_id}/eab-credentials"
CREATE_REQUEST = body(
    "EabCreateRequest",
    Field("reusable", "boolean", default=False),
    Field("hmacAlgorithm", "string", default="HS256", enum=tuple(sorted(eab.HMAC_ALGS))),
)


def render_key(key: EABKeyRecord) -> dict[str, Any]:
    return {
        "kid": key.id,
        "profileId": key.profile_id,
        "hmacAlgorithm": key.hmac_alg,
        "reusable": key.reusable,
        "status": eab.status_of(key),
        "createdAt": iso(key.created_at),
        "usedAt": iso(key.used_at),
        "revokedAt": iso(key.revoked_at),
        "boundAccountId": key.bound_account_id,
    }


async def create_credential(request: Request) -> Response:
    """Create an EAB credential for the profile; the HMAC key is returned only here."""
    principal = principal_of(request)
    values = parse(CREATE_REQUEST, await read_json(request))
    reusable: bool = values["reusable"]
    algorithm: str = values["hmacAlgorithm"]
    services = services_of(request)
    profile = await find_profile(services, request.path_params["profile_id"])
    made = await eab.create_credential(services, profile, reusable=reusable, hmac_alg=algorithm)
    await record(
        services,
        actor=principal.actor,
        action="eab.create",
        target_type="eab_credential",
        target_id=made.record.id,
        details={"profileId": profile.id, "reusable": reusable, "hmacAlgorithm": algorithm},
    )
    return JSONResponse(
        render_new_credential(made),
        status_code=201,
        headers={"Cache-Control": "no-store"},
    )


async def list_credentials(request: Request) -> Response:
    """List the profile's EAB credentials (key ids and state, never the HMAC keys)."""
    services = services_of(request)
    profile = await find_profile(services, request.path_params["profile_id"])
    keys = await eab.list_credentials(services, profile)
    return JSONResponse({"eabCredentials": [render_key(k) for k in keys]})


async def revoke_credential(request: Request) -> Response:
    """Revoke an EAB credential: no new ACME account can bind with it."""
    principal = principal_of(request)
    services = services_of(request)
    profile = await find_profile(services, request.path_params["profile_id"])
    kid = request.path_params["kid"]
    revoked = await eab.revoke_credential(services, kid, profile=profile)
    await record(
        services,
        actor=principal.actor,
        action="eab.revoke",
        target_type="eab_credential",
        target_id=kid,
        details={"profileId": profile.id},
    )
    return JSONResponse({"eabCredential": render_key(revoked)})


def routes() -> list[BaseRoute]:
    return [
        ApiRoute(BASE, create_credential, ["POST"], Permission.EAB_MANAGE),
        ApiRoute(BASE, list_credentials, ["GET"], Permission.EAB_MANAGE),
        ApiRoute(f"{BASE}/{{kid}}", revoke_credential, ["DELETE"], Permission.EAB_MANAGE),
    ]
