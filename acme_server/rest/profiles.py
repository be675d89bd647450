"""Certificate profiles: /api/v1/cert-manager/certificate-profiles.

    POST   /certificate-profiles               create (slug, policyId, issuerType, caId, ...)
    GET    /certificate-profiles               list, by slug
    GET    /certificate-profiles/{profileId}   one profile (id or slug)
    PATCH  /certificate-profiles/{profileId}   any field; `enrollment` and `defaults` members
                                               given are merged over the current ones
    DELETE /certificate-profiles/{profileId}   409 while ACME accounts, orders or EAB keys
                                               belong to it; its certificates stay

Body (camelCase; the store keeps the snake_case form acme_state.py reads):
    {"slug", "name", "description", "policyId", "issuerType": "ca" | "self_signed", "caId",
     "enrollment": {"acme": {"enabled", "eabRequired", "allowIpIdentifiers",
                             "challengeTypes": ["http-01", "dns-01", "tls-alpn-01"],
                             "caaCheck"},
                    "api": {"enabled", "allowKeyExport"}},
     "defaults": {"ttl", "keyAlgorithm", "hashAlgorithm", "keyUsages", "extendedKeyUsages",
                  "certificatePolicies": ["2.23.140.1.2.1", ...]},
     "autoRenew", "renewBeforeDays", "isDefault"}
The answer adds `acmeDirectoryUrl` (null while ACME is off). certificatePolicies go on every
leaf of the profile ([]: none); never set, leaves with serverAuth get the CA/B Forum
domain-validated 2.23.140.1.2.1, and the answer shows that for the profile's own usages.
"""

from __future__ import annotations

from dataclasses import replace
from enum import Enum
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute

from acme_server.rest.body import Field, Values, body, loosened, names_of, parse
from acme_server.rest.common import read_json, services_of
from acme_server.rest.guard import ApiRoute, principal_of
from acme_server.services import access
from acme_server.services.audit import record
from acme_server.services.profiles import admin as profile_admin
from acme_server.services.profiles.admin import ProfileChanges, ProfileSpec, profile_document
from acme_server.services.profiles.lookup import find_profile
from acme_server.services.profiles.settings import (
    Defaults,
    EnrollmentConfig,
    check_ttl,
    choice,
    choices,
    policy_oids,
)
from acme_server.services.roles import Permission
from pki_types.model import ExtendedKeyUsage, HashAlgorithm, IssuerType, KeyAlgorithm, KeyUsage
from store import UNSET

BASE = "/api/v1/cert-manager/certificate-profiles"
ACME_KEYS = {
    "enabled": "acme_enabled",
    "eabRequired": "eab_required",
    "allowIpIdentifiers": "allow_ip_identifiers",
    "caaCheck": "caa_check",
}
_STRINGS = Field("", "string", errors={"type": "{parent} must be an array of strings"})
ENROLLMENT = Field(
    "enrollment",
    "object",
    closed=True,
    ref="ProfileEnrollment",
    fields=(
        Field(
            "acme",
            "object",
            closed=True,
            fields=(
                *(Field(key, "boolean") for key in ACME_KEYS),
                Field("challengeTypes", "array", items=_STRINGS),
            ),
        ),
        Field(
            "api",
            "object",
            closed=True,
            fields=(Field("enabled", "boolean"), Field("allowKeyExport", "boolean")),
        ),
    ),
)


def _names(kind: type[Enum]) -> dict[str, Any]:
    """An array whose names profiles/settings.choices checks (and reports by index)."""
    return {"items": {"type": "string", **names_of(kind)}}


DEFAULTS = Field(
    "defaults",
    "object",
    closed=True,
    ref="ProfileDefaults",
    # the names, the TTL and the OIDs are checked by profiles/settings.py
    fields=(
        Field("ttl", "string", extra={"pattern": "^[0-9]+[smhdwy]$", "examples": ["90d"]}),
        Field("keyAlgorithm", "string", extra=names_of(KeyAlgorithm)),
        Field("hashAlgorithm", "string", extra=names_of(HashAlgorithm)),
        Field("keyUsages", "array", extra=_names(KeyUsage)),
        Field("extendedKeyUsages", "array", extra=_names(ExtendedKeyUsage)),
        Field(
            "certificatePolicies",
            "array",
            extra={"items": {"type": "string", "pattern": r"^[0-9]+(\.[0-9]+)+$"}},
        ),
    ),
)
CREATE_REQUEST = body(
    "ProfileCreateRequest",
    Field("slug", "string", required=True, extra={"pattern": "^[a-z0-9]([a-z0-9_-]*[a-z0-9])?$"}),
    Field("name", "string", default=""),
    Field("description", "string", default=""),
    Field("policyId", "string", required=True),
    Field(
        "issuerType",
        "string",
        default="ca",
        enum=tuple(t.value for t in IssuerType),
        errors={"enum": "issuerType must be 'ca' or 'self_signed'"},
    ),
    Field("caId", "string", nullable=True),
    ENROLLMENT,
    DEFAULTS,
    Field("autoRenew", "boolean", default=False),
    Field(
        "renewBeforeDays",
        "integer",
        default=profile_admin.DEFAULT_RENEW_BEFORE_DAYS,
        extra={"minimum": 0},  # and at most profile_admin.MAX_RENEW_BEFORE_DAYS
    ),
    Field("isDefault", "boolean", default=False),
)
UPDATE_REQUEST = loosened(CREATE_REQUEST, "ProfileUpdateRequest")


def parse_enrollment(given: Values, base: EnrollmentConfig) -> EnrollmentConfig:
    """`given` (the request's checked `enrollment` object) merged over `base`."""
    acme: Values = given.get("acme", {})
    changes: dict[str, Any] = {attr: acme[key] for key, attr in ACME_KEYS.items() if key in acme}
    if "challengeTypes" in acme:
        changes["challenge_types"] = tuple(acme["challengeTypes"])
    api: Values = given.get("api", {})
    if "enabled" in api:
        changes["api_enabled"] = api["enabled"]
    if "allowKeyExport" in api:
        changes["allow_key_export"] = api["allowKeyExport"]
    return replace(base, **changes)


def parse_defaults(given: Values, base: Defaults) -> Defaults:
    """`given` (the request's checked `defaults` object) merged over `base`."""
    changes: dict[str, Any] = {}
    if (ttl := given.get("ttl")) is not None:
        changes["ttl"] = check_ttl(ttl, "defaults.ttl")
    if (key := given.get("keyAlgorithm")) is not None:
        changes["key_algorithm"] = choice(KeyAlgorithm, key, "defaults.keyAlgorithm")
    if (digest := given.get("hashAlgorithm")) is not None:
        changes["hash_algorithm"] = choice(HashAlgorithm, digest, "defaults.hashAlgorithm")
    if (usages := given.get("keyUsages")) is not None:
        changes["key_usages"] = choices(KeyUsage, usages, "defaults.keyUsages")
    if (ekus := given.get("extendedKeyUsages")) is not None:
        changes["extended_key_usages"] = choices(
            ExtendedKeyUsage, ekus, "defaults.extendedKeyUsages"
        )
    if (oids := given.get("certificatePolicies")) is not None:
        changes["certificate_policies"] = policy_oids(oids, "defaults.certificatePolicies")
    return replace(base, **changes)


async def create_profile(request: Request) -> Response:
    """Create a certificate profile."""
    principal = principal_of(request)
    values = parse(CREATE_REQUEST, await read_json(request))
    spec = ProfileSpec(
        slug=values["slug"],
        name=values["name"],
        description=values["description"],
        policy_ref=values["policyId"],
        issuer_type=IssuerType(values["issuerType"]),
        ca_ref=values.get("caId"),
        enrollment=parse_enrollment(values.get("enrollment", {}), EnrollmentConfig()),
        defaults=parse_defaults(values.get("defaults", {}), Defaults()),
        auto_renew=values["autoRenew"],
        renew_before_days=values["renewBeforeDays"],
        is_default=values["isDefault"],
    )
    services = services_of(request)
    profile = await profile_admin.create_profile(services, spec)
    await record(
        services,
        actor=principal.actor,
        action="profile.create",
        target_type="profile",
        target_id=profile.id,
        details={"slug": profile.slug, "policyId": profile.policy_id, "caId": profile.ca_id},
    )
    return JSONResponse({"profile": profile_document(services, profile)}, status_code=201)


async def list_profiles(request: Request) -> Response:
    """List certificate profiles by slug (those the caller is granted)."""
    services = services_of(request)
    seen = await access.visible(services, principal_of(request), "profile")
    profiles = [p for p in await services.store.list_profiles() if seen is None or p.id in seen]
    return JSONResponse({"profiles": [profile_document(services, p) for p in profiles]})


async def get_profile(request: Request) -> Response:
    """Get one certificate profile (by id or slug)."""
    services = services_of(request)
    ref = request.path_params["profile_id"]
    profile = await access.profile(services, principal_of(request), ref)
    return JSONResponse({"profile": profile_document(services, profile)})


async def update_profile(request: Request) -> Response:
    """Change a certificate profile; enrollment and defaults members merge over the current."""
    principal = principal_of(request)
    body = await read_json(request)
    values = parse(UPDATE_REQUEST, body)
    services = services_of(request)
    current = await find_profile(services, request.path_params["profile_id"])
    issuer: str | None = values.get("issuerType")
    enrollment: Values | None = values.get("enrollment")
    defaults: Values | None = values.get("defaults")
    changes = ProfileChanges(
        slug=values.get("slug", UNSET),
        name=values.get("name", UNSET),
        description=values.get("description", UNSET),
        policy_ref=values.get("policyId", UNSET),
        issuer_type=UNSET if issuer is None else IssuerType(issuer),
        # caId: null clears it (with issuerType "self_signed"); absent leaves it
        ca_ref=values.get("caId") if "caId" in body else UNSET,
        enrollment=UNSET
        if enrollment is None
        else parse_enrollment(enrollment, EnrollmentConfig.from_store(current.enrollment)),
        defaults=UNSET
        if defaults is None
        else parse_defaults(defaults, Defaults.from_store(current.defaults)),
        auto_renew=values.get("autoRenew", UNSET),
        renew_before_days=values.get("renewBeforeDays", UNSET),
        is_default=values.get("isDefault", UNSET),
    )
    updated = await profile_admin.update_profile(services, current, changes)
    await record(
        services,
        actor=principal.actor,
        action="profile.update",
        target_type="profile",
        target_id=current.id,
        details={"slug": updated.slug, "fields": sorted(body)},
    )
    return JSONResponse({"profile": profile_document(services, updated)})


async def delete_profile(request: Request) -> Response:
    """Delete a certificate profile (409 while ACME accounts, orders or EAB keys use it)."""
    principal = principal_of(request)
    services = services_of(request)
    profile = await find_profile(services, request.path_params["profile_id"])
    await profile_admin.delete_profile(services, profile)
    await record(
        services,
        actor=principal.actor,
        action="profile.delete",
        target_type="profile",
        target_id=profile.id,
        details={"slug": profile.slug},
    )
    return JSONResponse({"profile": profile_document(services, profile)})


def routes() -> list[BaseRoute]:
    one = f"{BASE}/{{profile_id}}"
    return [
        ApiRoute(BASE, create_profile, ["POST"], Permission.PROFILE_MANAGE),
        ApiRoute(BASE, list_profiles, ["GET"], Permission.PROFILE_READ),
        ApiRoute(one, get_profile, ["GET"], Permission.PROFILE_READ),
        ApiRoute(one, update_profile, ["PATCH"], Permission.PROFILE_MANAGE),
        ApiRoute(one, delete_profile, ["DELETE"], Permission.PROFILE_MANAGE),
    ]
