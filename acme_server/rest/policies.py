"""Certificate policies: /api/v1/cert-manager/certificate-policies.

    POST   /certificate-policies              {"name", "description"?, "rules"}
    GET    /certificate-policies              list, by name
    GET    /certificate-policies/{policyId}   one policy (id or name)
    PATCH  /certificate-policies/{policyId}   any of name, description, rules (rules whole)
    DELETE /certificate-policies/{policyId}   409 while a profile uses it

`rules` is the policy JSON document of policy/rules.py; it is answered back normalised,
every default spelled out. A 400 names the bad key: "rules.maxTtl: invalid TTL ...".
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute

from acme_server.rest.body import Field, body, loosened, parse
from acme_server.rest.common import read_json, services_of
from acme_server.rest.guard import ApiRoute, principal_of
from acme_server.services import access
from acme_server.services.audit import record
from acme_server.services.policies import admin as policy_admin
from acme_server.services.roles import Permission
from store import UNSET

BASE = "/api/v1/cert-manager/certificate-policies"
CREATE_REQUEST = body(
    "PolicyCreateRequest",
    Field("name", "string", required=True),
    Field("description", "string", default=""),
    # the policy document of policy/rules.py, checked by the policy service
    Field("rules", "object", required=True, ref="PolicyRules"),
)
UPDATE_REQUEST = loosened(CREATE_REQUEST, "PolicyUpdateRequest")


async def create_policy(request: Request) -> Response:
    """Create a certificate policy."""
    principal = principal_of(request)
    values = parse(CREATE_REQUEST, await read_json(request))
    name: str = values["name"]
    description: str = values["description"]
    rules = values["rules"]
    services = services_of(request)
    policy = await policy_admin.create_policy(
        services, name=name, rules=rules, description=description
    )
    await record(
        services,
        actor=principal.actor,
        action="policy.create",
        target_type="policy",
        target_id=policy.id,
        details={"name": policy.name},
    )
    return JSONResponse({"policy": policy_admin.policy_document(policy)}, status_code=201)


async def list_policies(request: Request) -> Response:
    """List certificate policies by name (those of the profiles the caller is granted)."""
    services = services_of(request)
    seen = await access.visible(services, principal_of(request), "policy")
    policies = [p for p in await services.store.list_policies() if seen is None or p.id in seen]
    return JSONResponse({"policies": [policy_admin.policy_document(p) for p in policies]})


async def get_policy(request: Request) -> Response:
    """Get one certificate policy (by id or name)."""
    ref = request.path_params["policy_id"]
    policy = await access.policy(services_of(request), principal_of(request), ref)
    return JSONResponse({"policy": policy_admin.policy_document(policy)})


async def update_policy(request: Request) -> Response:
    """Change a certificate policy's name, description or rules (replaced as a whole)."""
    principal = principal_of(request)
    body = await read_json(request)
    values = parse(UPDATE_REQUEST, body)
    name = values.get("name", UNSET)
    description = values.get("description", UNSET)
    rules = values.get("rules", UNSET)
    services = services_of(request)
    policy = await policy_admin.find_policy(services, request.path_params["policy_id"])
    updated = await policy_admin.update_policy(
        services, policy, name=name, description=description, rules=rules
    )
    await record(
        services,
        actor=principal.actor,
        action="policy.update",
        target_type="policy",
        target_id=policy.id,
        details={"name": updated.name, "fields": sorted(body)},
    )
    return JSONResponse({"policy": policy_admin.policy_document(updated)})


async def delete_policy(request: Request) -> Response:
    """Delete a certificate policy no profile uses (else 409)."""
    principal = principal_of(request)
    services = services_of(request)
    policy = await policy_admin.find_policy(services, request.path_params["policy_id"])
    await policy_admin.delete_policy(services, policy)
    await record(
        services,
        actor=principal.actor,
        action="policy.delete",
        target_type="policy",
        target_id=policy.id,
        details={"name": policy.name},
    )
    return JSONResponse({"policy": policy_admin.policy_document(policy)})


def routes() -> list[BaseRoute]:
    one = f"{BASE}/{{policy_id}}"
    return [
        ApiRoute(BASE, create_policy, ["POST"], Permission.POLICY_MANAGE),
        ApiRoute(BASE, list_policies, ["GET"], Permission.POLICY_READ),
        ApiRoute(one, get_policy, ["GET"], Permission.POLICY_READ),
        ApiRoute(one, update_policy, ["PATCH"], Permission.POLICY_MANAGE),
        ApiRoute(one, delete_policy, ["DELETE"], Permission.POLICY_MANAGE),
    ]
