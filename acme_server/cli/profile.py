"""`kms profile create|list|show|update|delete`: certificate profiles, through the same
service layer as the REST API (services/profiles/admin.py), audited as actor "cli"."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any, ParamSpec, TypeVar

import click

from acme_server.cli.common import (
    Action,
    CLIError,
    emit_fields,
    emit_json,
    emit_table,
    kms_command,
)
from acme_server.services.audit import ACTOR_CLI, record
from acme_server.services.context import Services
from acme_server.services.profiles import admin as profile_admin
from acme_server.services.profiles.admin import ProfileChanges, ProfileSpec, profile_document
from acme_server.services.profiles.lookup import find_profile
from acme_server.services.profiles.settings import (
    CHALLENGE_TYPES,
    Defaults,
    EnrollmentConfig,
    check_ttl,
    policy_oids,
)
from pki_types.model import ExtendedKeyUsage, HashAlgorithm, IssuerType, KeyAlgorithm, KeyUsage
from store import UNSET, ProfileRecord

P = ParamSpec("P")
T = TypeVar("T")


def _choice(kind: type[Any]) -> click.Choice[str]:
    return click.Choice([member.value for member in kind])


def _profile_options(func: Callable[P, T]) -> Callable[P, T]:
    """Options shared by create and update; unset ones are None (update keeps the value)."""
    options = [
        click.option("--name", default=None, help="Display name (default: the slug)."),
        click.option("--description", default=None, help="Free text."),
        click.option("--policy", "policy_ref", default=None, help="Policy id or name."),
        click.option("--ca", "ca_ref", default=None, help="Issuing CA id or name."),
        click.option(
            "--self-signed", is_flag=True, default=False, help="Issue self-signed certificates."
        ),
        click.option("--ttl", default=None, help="Default validity, e.g. 90d."),
        click.option("--key-algorithm", type=_choice(KeyAlgorithm), default=None),
        click.option("--hash-algorithm", type=_choice(HashAlgorithm), default=None),
        click.option(
            "--key-usage",
            "key_usages",
            type=_choice(KeyUsage),
            multiple=True,
            help="Default key usage (repeat the option for several).",
        ),
        click.option(
            "--extended-key-usage",
            "--eku",
            "extended_key_usages",
            type=_choice(ExtendedKeyUsage),
            multiple=True,
            help="Default extended key usage (repeatable).",
        ),
        click.option(
            "--certificate-policy",
            "certificate_policies",
            multiple=True,
            help="A certificatePolicies OID of every leaf (repeatable; 'none' for none). "
            "Never set: 2.23.140.1.2.1 (CA/B Forum DV) on leaves with serverAuth.",
        ),
        click.option("--acme/--no-acme", "acme", default=None, help="ACME enrollment."),
        click.option(
            "--eab-required/--no-eab-required",
            "eab_required",
            default=None,
            help="ACME accounts need External Account Binding.",
        ),
        click.option(
            "--allow-ip-identifiers/--no-allow-ip-identifiers",
            "allow_ip",
            default=None,
            help="ACME orders may name IP addresses.",
        ),
        click.option(
            "--challenge-type",
            "challenge_types",
            type=click.Choice(CHALLENGE_TYPES),
            multiple=True,
            help="An ACME challenge type the profile allows (repeatable; default: all).",
        ),
        click.option(
            "--caa-check/--no-caa-check",
            "caa_check",
            default=None,
            help="Check CAA records (RFC 8659) before issuing; off for internal names.",
        ),
        click.option("--api/--no-api", "api", default=None, help="REST API enrollment."),
        click.option(
            "--key-export/--no-key-export",
            "key_export",
            default=None,
            help="Managed private keys may be exported (REST and kms cert export).",
        ),
        click.option(
            "--auto-renew/--no-auto-renew",
            "auto_renew",
            default=None,
            help="Renew issued certificates by default.",
        ),
        click.option("--renew-before-days", type=int, default=None),
        click.option(
            "--default/--not-default", "is_default", default=None, help="The default profile."
        ),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def _enrollment(opts: dict[str, Any], base: EnrollmentConfig) -> EnrollmentConfig:
    changes = {
        attr: opts[key]
        for key, attr in (
            ("acme", "acme_enabled"),
            ("eab_required", "eab_required"),
            ("allow_ip", "allow_ip_identifiers"),
            ("api", "api_enabled"),
            ("caa_check", "caa_check"),
            ("key_export", "allow_key_export"),
        )
        if opts[key] is not None
    }
    if opts["challenge_types"]:
        changes["challenge_types"] = tuple(opts["challenge_types"])
    return replace(base, **changes)


def _defaults(opts: dict[str, Any], base: Defaults) -> Defaults:
    changes: dict[str, Any] = {}
    if opts["ttl"] is not None:
        changes["ttl"] = check_ttl(opts["ttl"], "defaults.ttl")
    if opts["key_algorithm"] is not None:
        changes["key_algorithm"] = KeyAlgorithm(opts["key_algorithm"])
    if opts["hash_algorithm"] is not None:
        changes["hash_algorithm"] = HashAlgorithm(opts["hash_algorithm"])
    if opts["key_usages"]:
        changes["key_usages"] = tuple(dict.fromkeys(KeyUsage(u) for u in opts["key_usages"]))
    if opts["extended_key_usages"]:
        changes["extended_key_usages"] = tuple(
            dict.fromkeys(ExtendedKeyUsage(u) for u in opts["extended_key_usages"])
        )
    if opts["certificate_policies"]:
        oids = [oid for oid in opts["certificate_policies"] if oid != "none"]
        changes["certificate_policies"] = policy_oids(oids, "--certificate-policy")
    return replace(base, **changes)


def _defaults_given(opts: dict[str, Any]) -> bool:
    return any(opts[k] for k in ("ttl", "key_algorithm", "hash_algorithm", "key_usages")) or bool(
        opts["extended_key_usages"] or opts["certificate_policies"]
    )


def _show(services_profile: tuple[dict[str, Any], ProfileRecord], as_json: bool) -> None:
    data, profile = services_profile
    if as_json:
        emit_json(data)
        return
    flat = [(k, v) for k, v in data.items() if k not in ("enrollment", "defaults")]
    acme = data["enrollment"]["acme"]
    flat += [
        ("acme", "on" if acme["enabled"] else "off"),
        ("eabRequired", acme["eabRequired"]),
        ("allowIpIdentifiers", acme["allowIpIdentifiers"]),
        ("challengeTypes", ", ".join(acme["challengeTypes"])),
        ("caaCheck", acme["caaCheck"]),
        ("api", "on" if data["enrollment"]["api"]["enabled"] else "off"),
        ("allowKeyExport", data["enrollment"]["api"]["allowKeyExport"]),
    ]
    flat += [(f"defaults.{k}", v) for k, v in data["defaults"].items()]
    emit_fields(f"Profile {profile.slug}", flat)


async def _audited(
    services: Services, action: str, profile: ProfileRecord, **details: Any
) -> tuple[dict[str, Any], ProfileRecord]:
    await record(
        services,
        actor=ACTOR_CLI,
        action=action,
        target_type="profile",
        target_id=profile.id,
        details={"slug": profile.slug, **details},
    )
    return profile_document(services, profile), profile


@click.group("profile")
def profile_group() -> None:
    """Certificate profiles: policy + issuer + enrollment + defaults."""


@kms_command(profile_group, "create", json=True)
@click.option("--slug", required=True, help="URL name, e.g. web (ACME: /acme/<slug>/directory).")
@_profile_options
def create_command(slug: str, as_json: bool, **opts: Any) -> Action:
    """Create a profile: --policy and either --ca or --self-signed."""
    if opts["policy_ref"] is None:
        raise CLIError("give the policy with --policy (id or name)")
    if (opts["ca_ref"] is None) == (not opts["self_signed"]):
        raise CLIError("give exactly one of --ca CA and --self-signed")

    async def action(services: Services) -> None:
        spec = ProfileSpec(
            slug=slug,
            name=opts["name"] or "",
            description=opts["description"] or "",
            policy_ref=opts["policy_ref"],
            issuer_type=IssuerType.SELF_SIGNED if opts["self_signed"] else IssuerType.CA,
            ca_ref=opts["ca_ref"],
            enrollment=_enrollment(opts, EnrollmentConfig()),
            defaults=_defaults(opts, Defaults()) if _defaults_given(opts) else Defaults(),
            auto_renew=bool(opts["auto_renew"]),
            renew_before_days=opts["renew_before_days"]
            if opts["renew_before_days"] is not None
            else profile_admin.DEFAULT_RENEW_BEFORE_DAYS,
            is_default=bool(opts["is_default"]),
        )
        profile = await profile_admin.create_profile(services, spec)
        shown = await _audited(services, "profile.create", profile, policyId=profile.policy_id)
        if not as_json:
            click.echo(f"Created profile {profile.slug!r} ({profile.id})")
        _show(shown, as_json)

    return action


@kms_command(profile_group, "list", json=True)
async def list_command(services: Services, as_json: bool) -> None:
    """List profiles."""
    profiles = [profile_document(services, p) for p in await services.store.list_profiles()]
    if as_json:
        emit_json(profiles)
        return
    emit_table(
        "Certificate profiles",
        ["Slug", "ID", "Issuer", "ACME", "EAB", "TTL", "Default"],
        [
            [
                p["slug"],
                p["id"],
                p["caId"] or "self-signed",
                "on" if p["enrollment"]["acme"]["enabled"] else "off",
                "required" if p["enrollment"]["acme"]["eabRequired"] else "",
                p["defaults"]["ttl"],
                "yes" if p["isDefault"] else "",
            ]
            for p in profiles
        ],
    )


@kms_command(profile_group, "show", json=True)
@click.argument("profile_ref")
async def show_command(services: Services, profile_ref: str, as_json: bool) -> None:
    """Show one profile (by slug or id)."""
    profile = await find_profile(services, profile_ref)
    _show((profile_document(services, profile), profile), as_json)


@kms_command(profile_group, "update", json=True)
@click.argument("profile_ref")
@click.option("--slug", default=None, help="A new slug (changes the ACME directory URL).")
@_profile_options
def update_command(profile_ref: str, slug: str | None, as_json: bool, **opts: Any) -> Action:
    """Change a profile; options not given keep their values."""
    if opts["ca_ref"] is not None and opts["self_signed"]:
        raise CLIError("give at most one of --ca CA and --self-signed")

    def unset(value: Any) -> Any:
        return UNSET if value is None else value

    async def action(services: Services) -> None:
        current = await find_profile(services, profile_ref)
        enrollment = _enrollment(opts, EnrollmentConfig.from_store(current.enrollment))
        changes = ProfileChanges(
            slug=unset(slug),
            name=unset(opts["name"]),
            description=unset(opts["description"]),
            policy_ref=unset(opts["policy_ref"]),
            issuer_type=IssuerType.SELF_SIGNED
            if opts["self_signed"]
            else (IssuerType.CA if opts["ca_ref"] else UNSET),
            ca_ref=None if opts["self_signed"] else unset(opts["ca_ref"]),
            enrollment=enrollment
            if enrollment != EnrollmentConfig.from_store(current.enrollment)
            else UNSET,
            defaults=_defaults(opts, Defaults.from_store(current.defaults))
            if _defaults_given(opts)
            else UNSET,
            auto_renew=unset(opts["auto_renew"]),
            renew_before_days=unset(opts["renew_before_days"]),
            is_default=unset(opts["is_default"]),
        )
        if changes == ProfileChanges():
            raise CLIError("nothing to change: give at least one option")
        updated = await profile_admin.update_profile(services, current, changes)
        shown = await _audited(services, "profile.update", updated)
        if not as_json:
            click.echo(f"Updated profile {updated.slug!r}")
        _show(shown, as_json)

    return action


@kms_command(profile_group, "delete", json=True)
@click.argument("profile_ref")
async def delete_command(services: Services, profile_ref: str, as_json: bool) -> None:
    """Delete a profile no ACME account, order or EAB key belongs to."""
    profile = await find_profile(services, profile_ref)
    await profile_admin.delete_profile(services, profile)
    data, _ = await _audited(services, "profile.delete", profile)
    if as_json:
        emit_json({"deleted": data})
    else:
        click.echo(f"Deleted profile {profile.slug!r} ({profile.id})")
