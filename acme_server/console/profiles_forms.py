"""Creating and editing a certificate profile in the console, with every field REST's body
has: slug, name, description, policy, issuer (a CA or self-signed), enrollment (ACME: on,
EAB required, IP identifiers, challenge types, CAA check; API: on, private key export),
certificate defaults (TTL, key and hash algorithm, key usages, extended key usages,
certificate policy OIDs), auto-renewal and its window, the default flag.

The form becomes the ProfileSpec / ProfileChanges REST's handlers build (the same
profiles/settings.py checks) for services/profiles/admin.py; its message names the REST
field ("defaults.ttl: ...") and is shown next to that field, status 400, nothing stored.
"""

from __future__ import annotations

from typing import Any

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from acme_server.console.forms import checked, lines, text, texts
from acme_server.console.guard import form_of, signed_in
from acme_server.console.policies_pages import place_error
from acme_server.console.templating import page
from acme_server.errors import mapping_of
from acme_server.rest.common import services_of
from acme_server.services.audit import record
from acme_server.services.errors import InvalidRequestError, ServiceError
from acme_server.services.profiles import admin as profile_admin
from acme_server.services.profiles.admin import ProfileChanges, ProfileSpec, profile_document
from acme_server.services.profiles.lookup import find_profile
from acme_server.services.profiles.settings import (
    CHALLENGE_TYPES,
    Defaults,
    EnrollmentConfig,
    check_ttl,
    choice,
    choices,
    policy_oids,
)
from pki_types.model import ExtendedKeyUsage, HashAlgorithm, IssuerType, KeyAlgorithm, KeyUsage
from store import ProfileRecord

FIELDS = (
    "slug",
    "name",
    "description",
    "policyId",
    "issuerType",
    "caId",
    "enrollment.acme.enabled",
    "enrollment.acme.eabRequired",
    "enrollment.acme.allowIpIdentifiers",
    "enrollment.acme.challengeTypes",
    "enrollment.acme.caaCheck",
    "enrollment.api.enabled",
    "enrollment.api.allowKeyExport",
    "enrollment",
    "defaults.ttl",
    "defaults.keyAlgorithm",
    "defaults.hashAlgorithm",
    "defaults.keyUsages",
    "defaults.extendedKeyUsages",
    "defaults.certificatePolicies",
    "defaults",
    "autoRenew",
    "renewBeforeDays",
    "isDefault",
)


def _enrollment(form: FormData) -> EnrollmentConfig:
    return EnrollmentConfig(
        acme_enabled=checked(form, "enrollment.acme.enabled"),
        eab_required=checked(form, "enrollment.acme.eabRequired"),
        allow_ip_identifiers=checked(form, "enrollment.acme.allowIpIdentifiers"),
        challenge_types=tuple(texts(form, "enrollment.acme.challengeTypes")),
        caa_check=checked(form, "enrollment.acme.caaCheck"),
        api_enabled=checked(form, "enrollment.api.enabled"),
        allow_key_export=checked(form, "enrollment.api.allowKeyExport"),
    )


def _defaults(form: FormData) -> Defaults:
    automatic = checked(form, "defaults.certificatePoliciesAutomatic")
    oids = lines(text(form, "defaults.certificatePolicies"))
    return Defaults(
        ttl=check_ttl(text(form, "defaults.ttl", 64), "defaults.ttl"),
        key_algorithm=choice(
            KeyAlgorithm, text(form, "defaults.keyAlgorithm", 64), "defaults.keyAlgorithm"
        ),
        hash_algorithm=choice(
            HashAlgorithm, text(form, "defaults.hashAlgorithm", 64), "defaults.hashAlgorithm"
        ),
        key_usages=choices(KeyUsage, texts(form, "defaults.keyUsages"), "defaults.keyUsages"),
        extended_key_usages=choices(
            ExtendedKeyUsage,
            texts(form, "defaults.extendedKeyUsages"),
            "defaults.extendedKeyUsages",
        ),
        certificate_policies=None
        if automatic
        else policy_oids(oids, "defaults.certificatePolicies"),
    )


def _renew_before(form: FormData) -> int:
    given = text(form, "renewBeforeDays", 16)
    if not (given.isascii() and given.isdigit()):
        raise InvalidRequestError(
            "renewBeforeDays must be a whole number from 0 to "
            f"{profile_admin.MAX_RENEW_BEFORE_DAYS}"
        )
    return int(given)


def _issuer(form: FormData) -> tuple[IssuerType, str | None]:
    given = text(form, "issuerType", 32)
    if given not in {t.value for t in IssuerType}:
        raise InvalidRequestError("issuerType must be 'ca' or 'self_signed'")
    issuer = IssuerType(given)
    ca_ref = text(form, "caId", 255) or None
    return issuer, None if issuer is IssuerType.SELF_SIGNED else ca_ref


def spec_of(form: FormData) -> ProfileSpec:
    """A new profile from the form, checked as REST's create checks its body."""
    issuer, ca_ref = _issuer(form)
    return ProfileSpec(
        slug=text(form, "slug", 255),
        name=text(form, "name", 1024),
        description=text(form, "description", 8192),
        policy_ref=text(form, "policyId", 255),
        issuer_type=issuer,
        ca_ref=ca_ref,
        enrollment=_enrollment(form),
        defaults=_defaults(form),
        auto_renew=checked(form, "autoRenew"),
        renew_before_days=_renew_before(form),
        is_default=checked(form, "isDefault"),
    )


def changes_of(form: FormData) -> ProfileChanges:
    """Every field from the form: enrollment and defaults are replaced whole."""
    spec = spec_of(form)
    return ProfileChanges(
        slug=spec.slug,
        name=spec.name,
        description=spec.description,
        policy_ref=spec.policy_ref,
        issuer_type=spec.issuer_type,
        ca_ref=spec.ca_ref,
        enrollment=spec.enrollment,
        defaults=spec.defaults,
        auto_renew=spec.auto_renew,
        renew_before_days=spec.renew_before_days,
        is_default=spec.is_default,
    )


def _values_of_form(form: FormData) -> dict[str, Any]:
    """The form as sent, in the template's shape, to show it again after a refusal."""
    return {
        "slug": text(form, "slug", 255),
        "name": text(form, "name", 1024),
        "description": text(form, "description", 8192),
        "policyId": text(form, "policyId", 255),
        "issuerType": text(form, "issuerType", 32),
        "caId": text(form, "caId", 255),
        "acme": {
            "enabled": checked(form, "enrollment.acme.enabled"),
            "eabRequired": checked(form, "enrollment.acme.eabRequired"),
            "allowIpIdentifiers": checked(form, "enrollment.acme.allowIpIdentifiers"),
            "challengeTypes": texts(form, "enrollment.acme.challengeTypes"),
            "caaCheck": checked(form, "enrollment.acme.caaCheck"),
        },
        "api": {
            "enabled": checked(form, "enrollment.api.enabled"),
            "allowKeyExport": checked(form, "enrollment.api.allowKeyExport"),
        },
        "defaults": {
            "ttl": text(form, "defaults.ttl", 64),
            "keyAlgorithm": text(form, "defaults.keyAlgorithm", 64),
            "hashAlgorithm": text(form, "defaults.hashAlgorithm", 64),
            "keyUsages": texts(form, "defaults.keyUsages"),
            "extendedKeyUsages": texts(form, "defaults.extendedKeyUsages"),
            "certificatePolicies": lines(text(form, "defaults.certificatePolicies")),
        },
        "certificatePoliciesAutomatic": checked(form, "defaults.certificatePoliciesAutomatic"),
        "autoRenew": checked(form, "autoRenew"),
        "renewBeforeDays": text(form, "renewBeforeDays", 16),
        "isDefault": checked(form, "isDefault"),
    }


def _values_of_document(document: dict[str, Any], stored: dict[str, Any]) -> dict[str, Any]:
    """A profile's REST document in the template's shape."""
    return {
        **document,
        "caId": document["caId"] or "",
        "acme": document["enrollment"]["acme"],
        "api": document["enrollment"]["api"],
        "certificatePoliciesAutomatic": "certificate_policies" not in stored,
        "renewBeforeDays": str(document["renewBeforeDays"]),
    }


async def _form_page(
    request: Request,
    *,
    profile: ProfileRecord | None,
    values: dict[str, Any],
    errors: dict[str, str],
    status: int = 200,
) -> Response:
    services = services_of(request)
    context = {
        "profile": profile,
        "values": values,
        "errors": errors,
        "policies": await services.store.list_policies(),
        "cas": await services.store.list_cas(),
        "challenge_types": CHALLENGE_TYPES,
        "key_algorithms": [k.value for k in KeyAlgorithm],
        "hash_algorithms": [h.value for h in HashAlgorithm],
        "key_usages": [u.value for u in KeyUsage],
        "extended_key_usages": [u.value for u in ExtendedKeyUsage],
    }
    return page(request, "profile_form.html", context, status=status)


async def new_profile_page(request: Request) -> Response:
    """GET/POST /ui/profiles/new -- create a profile (errors in place, nothing stored)."""
    services = services_of(request)
    if request.method == "GET":
        blank = {
            "slug": "",
            "name": "",
            "description": "",
            "policyId": "",
            "issuerType": "ca",
            "caId": "",
            "enrollment": EnrollmentConfig().to_json(),
            "defaults": Defaults().to_json(),
            "autoRenew": False,
            "renewBeforeDays": profile_admin.DEFAULT_RENEW_BEFORE_DAYS,
            "isDefault": False,
        }
        values = _values_of_document(blank, {})
        return await _form_page(request, profile=None, values=values, errors={})
    me = signed_in(request)
    form = form_of(request)
    try:
        profile = await profile_admin.create_profile(services, spec_of(form))
    except ServiceError as exc:
        return await _form_page(
            request,
            profile=None,
            values=_values_of_form(form),
            errors=place_error(str(exc), FIELDS),
            status=mapping_of(exc).rest_status,
        )
    await record(
        services,
        actor=me.principal.actor,
        action="profile.create",
        target_type="profile",
        target_id=profile.id,
        details={"slug": profile.slug, "policyId": profile.policy_id, "caId": profile.ca_id},
    )
    return RedirectResponse(f"/ui/profiles/{profile.id}?saved=1", status_code=303)


async def edit_profile_page(request: Request) -> Response:
    """GET/POST /ui/profiles/{profile_id}/edit -- change a profile (every field)."""
    services = services_of(request)
    current = await find_profile(services, request.path_params["profile_id"])
    if request.method == "GET":
        values = _values_of_document(profile_document(services, current), current.defaults)
        return await _form_page(request, profile=current, values=values, errors={})
    me = signed_in(request)
    form = form_of(request)
    try:
        updated = await profile_admin.update_profile(services, current, changes_of(form))
    except ServiceError as exc:
        return await _form_page(
            request,
            profile=current,
            values=_values_of_form(form),
            errors=place_error(str(exc), FIELDS),
            status=mapping_of(exc).rest_status,
        )
    fields = sorted(f for f in FIELDS if "." not in f and f != "enrollment" and f != "defaults")
    await record(
        services,
        actor=me.principal.actor,
        action="profile.update",
        target_type="profile",
        target_id=current.id,
        details={"slug": updated.slug, "fields": sorted([*fields, "enrollment", "defaults"])},
    )
    return RedirectResponse(f"/ui/profiles/{updated.id}?saved=1", status_code=303)
