"""Certificate profiles as an administrator manages them (REST and `kms profile`).

A profile is a policy + an issuer (a CA, or self-signed) + how certificates are requested
(ACME, with or without External Account Binding, and/or the REST API) + the defaults of the
certificates it issues. `enrollment` and `defaults` are typed and checked by
profile_settings.py (EnrollmentConfig, Defaults), which writes the snake_case JSON that
acme_server/acme/state.py and services/profiles/defaults.py read.

Checks beyond each field's own form, so a profile never exists that could issue nothing:
the issuer type and CA agree; the default TTL and key algorithm are within the policy;
with auto-renewal on, the renewal window is shorter than the default TTL.
Error messages name the REST field (`defaults.ttl`, `caId`, ...).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from acme_server.acme.urls import AcmeUrls
from acme_server.services.cas.create import find_ca
from acme_server.services.context import Services
from acme_server.services.errors import ConflictError, InvalidRequestError, NotFoundError
from acme_server.services.policies.admin import find_policy, iso
from acme_server.services.profiles.defaults import automatic_certificate_policies, parse_validity
from acme_server.services.profiles.settings import Defaults, EnrollmentConfig
from pki_types.model import ExtendedKeyUsage, IssuerType
from policy.durations import format_ttl_seconds
from policy.rules import PolicyError, policy_from_dict
from store import UNSET, CARecord, Conflict, NotFound, PolicyRecord, ProfileRecord, Unset
from store.values import check_slug

NAME_MAX = 255  # schema: certificate_profiles.name
DESCRIPTION_MAX = 4096
MAX_RENEW_BEFORE_DAYS = 3650
DEFAULT_RENEW_BEFORE_DAYS = 30
SECONDS_PER_DAY = 86400


@dataclass(frozen=True, slots=True)
class ProfileSpec:
    """A new profile; `policy_ref` and `ca_ref` are ids or names."""

    slug: str
    policy_ref: str
    issuer_type: IssuerType
    ca_ref: str | None = None
    name: str = ""
    description: str = ""
    enrollment: EnrollmentConfig = field(default_factory=EnrollmentConfig)
    defaults: Defaults = field(default_factory=Defaults)
    auto_renew: bool = False
    renew_before_days: int = DEFAULT_RENEW_BEFORE_DAYS
    is_default: bool = False


@dataclass(frozen=True, slots=True)
class ProfileChanges:
    """What an update changes; UNSET fields stay. `enrollment` and `defaults` are whole new
    values (merge partial input onto `EnrollmentConfig.from_store(current.enrollment)` first)."""

    slug: str | Unset = UNSET
    name: str | Unset = UNSET
    description: str | Unset = UNSET
    policy_ref: str | Unset = UNSET
    issuer_type: IssuerType | Unset = UNSET
    ca_ref: str | Unset | None = UNSET
    enrollment: EnrollmentConfig | Unset = UNSET
    defaults: Defaults | Unset = UNSET
    auto_renew: bool | Unset = UNSET
    renew_before_days: int | Unset = UNSET
    is_default: bool | Unset = UNSET


def _slug(slug: str) -> str:
    try:
        return check_slug(slug)
    except ValueError as exc:
        raise InvalidRequestError(f"slug: {exc}") from None


def _text(value: str, where: str, limit: int, *, empty_ok: bool) -> str:
    if (not empty_ok and not value.strip()) or len(value) > limit:
        low = 0 if empty_ok else 1
        raise InvalidRequestError(f"{where} must be {low}-{limit} characters")
    return value


def _renew_before(days: int) -> int:
    if not 0 <= days <= MAX_RENEW_BEFORE_DAYS:
        raise InvalidRequestError(
            f"renewBeforeDays must be a whole number from 0 to {MAX_RENEW_BEFORE_DAYS}"
        )
    return days


async def _policy(services: Services, ref: str) -> PolicyRecord:
    try:
        return await find_policy(services, ref)
    except NotFoundError as exc:
        raise InvalidRequestError(f"policyId: {exc}") from None


async def _ca(services: Services, ref: str) -> CARecord:
    try:
        return await find_ca(services, ref)
    except NotFoundError as exc:
        raise InvalidRequestError(f"caId: {exc}") from None


def _check_issuer(issuer_type: IssuerType, ca_id: str | None) -> None:
    if issuer_type is IssuerType.CA and ca_id is None:
        raise InvalidRequestError("caId is required when issuerType is 'ca'")
    if issuer_type is IssuerType.SELF_SIGNED and ca_id is not None:
        raise InvalidRequestError("caId must be null when issuerType is 'self_signed'")


def check_consistency(
    policy: PolicyRecord, defaults: Defaults, *, auto_renew: bool, renew_before_days: int
) -> None:
    """The defaults must be ones the policy accepts; renewal must come before expiry."""
    ttl_seconds = int(parse_validity(defaults.ttl).total_seconds())
    try:
        rules = policy_from_dict(policy.rules)
    except PolicyError:
        rules = None  # a policy stored outside this API: issuance reports it
    if rules is not None:
        if rules.max_ttl_seconds is not None and ttl_seconds > rules.max_ttl_seconds:
            limit = format_ttl_seconds(rules.max_ttl_seconds)
            raise InvalidRequestError(
                f"defaults.ttl: {defaults.ttl} is longer than the policy's maxTtl {limit}"
            )
        if rules.key_algorithms and defaults.key_algorithm not in rules.key_algorithms:
            allowed = ", ".join(sorted(k.value for k in rules.key_algorithms))
            raise InvalidRequestError(
                f"defaults.keyAlgorithm: {defaults.key_algorithm.value} is not allowed by the "
                f"policy {policy.name!r} (allowed: {allowed})"
            )
    if auto_renew and renew_before_days * SECONDS_PER_DAY >= ttl_seconds:
        raise InvalidRequestError(
            f"renewBeforeDays: {renew_before_days} days is not shorter than defaults.ttl "
            f"{defaults.ttl}, so every certificate would be renewed at once"
        )


async def create_profile(services: Services, spec: ProfileSpec) -> ProfileRecord:
    slug = _slug(spec.slug)
    name = _text(spec.name or slug, "name", NAME_MAX, empty_ok=False)
    description = _text(spec.description, "description", DESCRIPTION_MAX, empty_ok=True)
    renew_before = _renew_before(spec.renew_before_days)
    policy = await _policy(services, spec.policy_ref)
    ca_id = None if spec.ca_ref is None else (await _ca(services, spec.ca_ref)).id
    _check_issuer(spec.issuer_type, ca_id)
    check_consistency(
        policy, spec.defaults, auto_renew=spec.auto_renew, renew_before_days=renew_before
    )
    try:
        return await services.store.create_profile(
            slug=slug,
            name=name,
            description=description,
            policy_id=policy.id,
            issuer_type=spec.issuer_type,
            ca_id=ca_id,
            enrollment=spec.enrollment.to_store(),
            defaults=spec.defaults.to_store(),
            auto_renew=spec.auto_renew,
            renew_before_days=renew_before,
            is_default=spec.is_default,
        )
    except Conflict:
        raise ConflictError(f"a certificate profile with slug {slug!r} already exists") from None
    except NotFound as exc:  # the policy or CA was deleted meanwhile
        raise ConflictError(f"a referenced object is gone: {exc}") from None


async def update_profile(
    services: Services, current: ProfileRecord, changes: ProfileChanges
) -> ProfileRecord:
    c = changes
    slug = c.slug if isinstance(c.slug, Unset) else _slug(c.slug)
    name = c.name if isinstance(c.name, Unset) else _text(c.name, "name", NAME_MAX, empty_ok=False)
    description = (
        c.description
        if isinstance(c.description, Unset)
        else _text(c.description, "description", DESCRIPTION_MAX, empty_ok=True)
    )
    renew_before = (
        c.renew_before_days
        if isinstance(c.renew_before_days, Unset)
        else _renew_before(c.renew_before_days)
    )
    policy = (
        await services.store.get_policy(current.policy_id)
        if isinstance(c.policy_ref, Unset)
        else await _policy(services, c.policy_ref)
    )
    issuer_type = current.issuer_type if isinstance(c.issuer_type, Unset) else c.issuer_type
    if isinstance(c.ca_ref, Unset):
        ca_id = current.ca_id if issuer_type is IssuerType.CA else None
    else:
        ca_id = None if c.ca_ref is None else (await _ca(services, c.ca_ref)).id
    _check_issuer(issuer_type, ca_id)
    issuer_changed = (issuer_type, ca_id) != (current.issuer_type, current.ca_id)
    defaults = (
        Defaults.from_store(current.defaults) if isinstance(c.defaults, Unset) else c.defaults
    )
    auto_renew = current.auto_renew if isinstance(c.auto_renew, Unset) else c.auto_renew
    if not all(
        isinstance(v, Unset) for v in (c.policy_ref, c.defaults, c.auto_renew, c.renew_before_days)
    ):
        check_consistency(
            policy,
            defaults,
            auto_renew=auto_renew,
            renew_before_days=current.renew_before_days
            if isinstance(renew_before, Unset)
            else renew_before,
        )
    try:
        return await services.store.update_profile(
            current.id,
            slug=slug,
            name=name,
            description=description,
            policy_id=UNSET if isinstance(c.policy_ref, Unset) else policy.id,
            issuer_type=issuer_type if issuer_changed else UNSET,
            ca_id=ca_id if issuer_changed else UNSET,
            enrollment=c.enrollment if isinstance(c.enrollment, Unset) else c.enrollment.to_store(),
            defaults=c.defaults if isinstance(c.defaults, Unset) else c.defaults.to_store(),
            auto_renew=c.auto_renew,
            renew_before_days=renew_before,
            is_default=c.is_default,
        )
    except Conflict:
        raise ConflictError(f"a certificate profile with slug {slug!r} already exists") from None
    except NotFound as exc:
        raise NotFoundError(str(exc)) from None


async def delete_profile(services: Services, profile: ProfileRecord) -> None:
    """Refused while ACME accounts, orders or EAB keys (revoked ones too) belong to it;
    its certificates stay, with no profile."""
    try:
        await services.store.delete_profile(profile.id)
    except Conflict as exc:
        raise ConflictError(
            f"certificate profile {profile.slug!r} cannot be deleted: {exc}"
        ) from None
    except NotFound:
        raise NotFoundError(f"no certificate profile with id {profile.id!r}") from None


def acme_directory_url(services: Services, profile: ProfileRecord) -> str | None:
    if not EnrollmentConfig.of(profile).acme_enabled:
        return None
    return AcmeUrls(services.settings.base_url, profile.slug).directory


def _defaults_json(stored: Mapping[str, Any]) -> dict[str, Any]:
    """Shown as stored, with the defaults issuance applies to missing keys (certificate
    policies never set: the automatic ones for the extended key usages shown)."""
    shown = Defaults().to_json()
    for key, camel in (
        ("ttl", "ttl"),
        ("key_algorithm", "keyAlgorithm"),
        ("hash_algorithm", "hashAlgorithm"),
        ("key_usages", "keyUsages"),
        ("extended_key_usages", "extendedKeyUsages"),
        ("certificate_policies", "certificatePolicies"),
    ):
        if key in stored:
            shown[camel] = stored[key]
    if "certificate_policies" not in stored:
        ekus = [u for u in ExtendedKeyUsage if u.value in shown["extendedKeyUsages"]]
        shown["certificatePolicies"] = list(automatic_certificate_policies(ekus))
    return shown


def profile_document(services: Services, profile: ProfileRecord) -> dict[str, Any]:
    """The profile as the REST API and `kms profile --json` show it."""
    return {
        "id": profile.id,
        "slug": profile.slug,
        "name": profile.name,
        "description": profile.description,
        "policyId": profile.policy_id,
        "issuerType": profile.issuer_type.value,
        "caId": profile.ca_id,
        "enrollment": EnrollmentConfig.of(profile).to_json(),
        "defaults": _defaults_json(profile.defaults),
        "autoRenew": profile.auto_renew,
        "renewBeforeDays": profile.renew_before_days,
        "isDefault": profile.is_default,
        "acmeDirectoryUrl": acme_directory_url(services, profile),
        "createdAt": iso(profile.created_at),
        "updatedAt": iso(profile.updated_at),
    }
