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
                    "api": {"enabled"}},
     "defaults": {"ttl", "keyAlgorithm", "hashAlgorithm", "keyUsages", "extendedKeyUsages",
                  "certificatePolicies": ["2.23.140.1.2.1", ...]},
     "autoRenew", "renewBeforeDays", "isDefault"}
The answer adds `acmeDirectoryUrl` (null while ACME is off). certificatePolicies go on every
leaf of the profile ([]: none); never set, leaves with serverAuth get the CA/B Forum
domain-validated 2.23.140.1.2.1, and the answer shows that for the profile's own usages.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from acme_server.rest.auth import require_principal
from acme_server.rest.common import ApiError, read_json, services_of
from acme_server.services import profile_admin
from acme_server.services.admin_input import known_keys, member
from acme_server.services.audit import record
from acme_server.services.errors import InvalidRequestError
from acme_server.services.profile_admin import ProfileChanges, ProfileSpec, profile_document
from acme_server.services.profile_settings import (
    Defaults,
    EnrollmentConfig,
    check_ttl,
    choice,
    choices,
    policy_oids,
)
from pki_types.model import ExtendedKeyUsage, HashAlgorithm, IssuerType, KeyAlgorithm, KeyUsage
from store import UNSET, Unset

BASE = "/api/v1/cert-manager/certificate-profiles"
KEYS = (
    "slug",
    "name",
    "description",
    "policyId",
    "issuerType",
    "caId",
    "enrollment",
    "defaults",
    "autoRenew",
    "renewBeforeDays",
    "isDefault",
)
ACME_KEYS = {
    "enabled": "acme_enabled",
    "eabRequired": "eab_required",
    "allowIpIdentifiers": "allow_ip_identifiers",
    "caaCheck": "caa_check",
}
DEFAULTS_KEYS = (
    "ttl",
    "keyAlgorithm",
    "hashAlgorithm",
    "keyUsages",
    "extendedKeyUsages",
    "certificatePolicies",
)


def parse_enrollment(given: dict[str, Any], base: EnrollmentConfig) -> EnrollmentConfig:
    """`given` (the request's `enrollment` object) merged over `base`."""
    known_keys(given, ("acme", "api"), "enrollment")
    changes: dict[str, Any] = {}
    acme: dict[str, Any] = member(given, "acme", dict, where="enrollment", default={})
    known_keys(acme, (*ACME_KEYS, "challengeTypes"), "enrollment.acme")
    for key, attr in ACME_KEYS.items():
        value = member(acme, key, bool, where="enrollment.acme")
        if value is not None:
            changes[attr] = value
    types: list[Any] | None = member(acme, "challengeTypes", list, where="enrollment.acme")
    if types is not None:
        if not all(isinstance(t, str) for t in types):
            raise InvalidRequestError("enrollment.acme.challengeTypes must be an array of strings")
        changes["challenge_types"] = tuple(types)
    api: dict[str, Any] = member(given, "api", dict, where="enrollment", default={})
    known_keys(api, ("enabled",), "enrollment.api")
    enabled = member(api, "enabled", bool, where="enrollment.api")
    if enabled is not None:
        changes["api_enabled"] = enabled
    return replace(base, **changes)


def parse_defaults(given: dict[str, Any], base: Defaults) -> Defaults:
    """`given` (the request's `defaults` object) merged over `base`."""
    known_keys(given, DEFAULTS_KEYS, "defaults")
    changes: dict[str, Any] = {}
    w = "defaults"
    if (ttl := member(given, "ttl", str, where=w)) is not None:
        changes["ttl"] = check_ttl(ttl, "defaults.ttl")
    if (key := member(given, "keyAlgorithm", str, where=w)) is not None:
        changes["key_algorithm"] = choice(KeyAlgorithm, key, "defaults.keyAlgorithm")
    if (digest := member(given, "hashAlgorithm", str, where=w)) is not None:
        changes["hash_algorithm"] = choice(HashAlgorithm, digest, "defaults.hashAlgorithm")
    if (usages := member(given, "keyUsages", list, where=w)) is not None:
        changes["key_usages"] = choices(KeyUsage, usages, "defaults.keyUsages")
    if (ekus := member(given, "extendedKeyUsages", list, where=w)) is not None:
        changes["extended_key_usages"] = choices(
            ExtendedKeyUsage, ekus, "defaults.extendedKeyUsages"
        )
    if (oids := member(given, "certificatePolicies", list, where=w)) is not None:
        changes["certificate_policies"] = policy_oids(oids, "defaults.certificatePolicies")
    return replace(base, **changes)


def _issuer_type(value: str) -> IssuerType:
    try:
        return IssuerType(value)
    except ValueError:
        raise ApiError(400, "issuerType must be 'ca' or 'self_signed'") from None


def _renew_before(body: dict[str, Any], default: Any) -> Any:
    return member(body, "renewBeforeDays", int, default=default)


async def create_profile(request: Request) -> Response:
    """Create a certificate profile."""
    principal = await require_principal(request)
    body = await read_json(request)
    known_keys(body, KEYS)
    spec = ProfileSpec(
        slug=member(body, "slug", str, required=True),
        name=member(body, "name", str, default=""),
        description=member(body, "description", str, default=""),
        policy_ref=member(body, "policyId", str, required=True),
        issuer_type=_issuer_type(member(body, "issuerType", str, default="ca")),
        ca_ref=member(body, "caId", str),
        enrollment=parse_enrollment(
            member(body, "enrollment", dict, default={}), EnrollmentConfig()
        ),
        defaults=parse_defaults(member(body, "defaults", dict, default={}), Defaults()),
        auto_renew=member(body, "autoRenew", bool, default=False),
        renew_before_days=_renew_before(body, profile_admin.DEFAULT_RENEW_BEFORE_DAYS),
        is_default=member(body, "isDefault", bool, default=False),
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
    """List certificate profiles by slug."""
    await require_principal(request)
    services = services_of(request)
    profiles = await services.store.list_profiles()
    return JSONResponse({"profiles": [profile_document(services, p) for p in profiles]})


async def get_profile(request: Request) -> Response:
    """Get one certificate profile (by id or slug)."""
    await require_principal(request)
    services = services_of(request)
    profile = await profile_admin.find_profile_strict(services, request.path_params["profile_id"])
    return JSONResponse({"profile": profile_document(services, profile)})


async def update_profile(request: Request) -> Response:
    """Change a certificate profile; enrollment and defaults members merge over the current."""
    principal = await require_principal(request)
    body = await read_json(request)
    known_keys(body, KEYS)
    services = services_of(request)
    current = await profile_admin.find_profile_strict(services, request.path_params["profile_id"])
    issuer: str | Unset = member(body, "issuerType", str, default=UNSET)
    enrollment: dict[str, Any] | None = member(body, "enrollment", dict)
    defaults: dict[str, Any] | None = member(body, "defaults", dict)
    changes = ProfileChanges(
        slug=member(body, "slug", str, default=UNSET),
        name=member(body, "name", str, default=UNSET),
        description=member(body, "description", str, default=UNSET),
        policy_ref=member(body, "policyId", str, default=UNSET),
        issuer_type=issuer if isinstance(issuer, Unset) else _issuer_type(issuer),
        # caId: null clears it (with issuerType "self_signed"); absent leaves it
        ca_ref=member(body, "caId", str) if "caId" in body else UNSET,
        enrollment=UNSET
        if enrollment is None
        else parse_enrollment(enrollment, EnrollmentConfig.from_store(current.enrollment)),
        defaults=UNSET
        if defaults is None
        else parse_defaults(defaults, Defaults.from_store(current.defaults)),
        auto_renew=member(body, "autoRenew", bool, default=UNSET),
        renew_before_days=_renew_before(body, UNSET),
        is_default=member(body, "isDefault", bool, default=UNSET),
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
    principal = await require_principal(request)
    services = services_of(request)
    profile = await profile_admin.find_profile_strict(services, request.path_params["profile_id"])
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
        Route(BASE, create_profile, methods=["POST"]),
        Route(BASE, list_profiles, methods=["GET"]),
        Route(one, get_profile, methods=["GET"]),
        Route(one, update_profile, methods=["PATCH"]),
        Route(one, delete_profile, methods=["DELETE"]),
    ]
