"""`kms identity create|list|set-role|grant|revoke|disable`: machine identities for the
REST API, their roles and the profiles they are granted.

Roles (acme_server/services/roles.py): admin (everything), issuer (issue, renew, revoke,
export and edit the certificates of its granted profiles), reader (read those; never a
private key), auditor (the audit log). An issuer or reader is granted some profiles
(`--profile`, repeatable) or every profile (`--all-profiles`). Identities made before
roles existed are admins; members of an earlier version became issuers of the profiles they
had certificates of.
Narrow one with `kms identity set-role ID reader`, `kms identity revoke ID --all-profiles`
and `kms identity grant ID --profile web`."""

from __future__ import annotations

import click

from acme_server.cli.common import CLIError, emit_json, emit_table, kms_command
from acme_server.render.identities import render_identity
from acme_server.services.context import Services
from acme_server.services.identities import grants
from acme_server.services.identities import tokens as identities
from acme_server.services.roles import GRANTED_ROLES, ISSUER, ROLE_HELP, ROLES
from store import IdentityRecord

LOGIN_PATH = "/api/v1/auth/universal-auth/login"


@click.group("identity")
def identity_group() -> None:
    """Machine identities: a client id and secret that log in to the REST API."""


ROLES_HELP = "; ".join(f"{role}: {text}" for role, text in ROLE_HELP.items())
_profile_option = click.option(
    "--profile",
    "profiles",
    multiple=True,
    metavar="SLUG",
    help="A profile (slug or id) it is granted; repeatable.",
)
_all_option = click.option(
    "--all-profiles", is_flag=True, help="Grant every profile, present and future."
)


async def _chosen(
    services: Services, profiles: tuple[str, ...], all_profiles: bool
) -> grants.Grants:
    if all_profiles == bool(profiles):
        raise CLIError("give --profile SLUG (repeatable) or --all-profiles")
    return None if all_profiles else await grants.profile_ids(services, list(profiles))


async def _reach_text(services: Services, identity: IdentityRecord) -> str:
    reach = await grants.reach_of(services, identity)
    if reach.all_profiles:
        return "every profile"
    return ", ".join(reach.profiles) if reach.profiles else "none"


@kms_command(identity_group, "create", json=True)
@click.option("--name", required=True, help="A name for the identity (1-255 characters).")
@click.option(
    "--role", type=click.Choice(ROLES), default=ISSUER, show_default=True, help=ROLES_HELP
)
@_profile_option
@_all_option
async def create_command(
    services: Services,
    name: str,
    role: str,
    profiles: tuple[str, ...],
    all_profiles: bool,
    as_json: bool,
) -> None:
    """Create an identity; its client secret is shown once and stored as a slow hash. An
    issuer or reader needs --profile SLUG (repeatable) or --all-profiles."""
    chosen: grants.Grants = None
    if role in GRANTED_ROLES:
        chosen = await _chosen(services, profiles, all_profiles)
    elif profiles or all_profiles:
        raise CLIError(f"an {role} takes no --profile: it reaches what its role does")
    record, secret = await identities.create_identity(
        services, name, role=role, profile_grants=chosen
    )
    if as_json:
        shown = render_identity(record, await grants.reach_of(services, record))
        emit_json(shown | {"clientSecret": secret})
        return
    click.echo(f"Identity:      {record.id} ({record.name})")
    click.echo(f"Role:          {record.role}")
    click.echo(f"Profiles:      {await _reach_text(services, record)}")
    click.echo(f"Client id:     {record.client_id}")
    click.echo(f"Client secret: {secret}")
    click.echo("The client secret is not shown again.")
    click.echo(f"Log in with POST {services.settings.base_url}{LOGIN_PATH}")


@kms_command(identity_group, "list", json=True)
async def list_command(services: Services, as_json: bool) -> None:
    """List identities (never their secrets)."""
    found = await identities.list_identities(services)
    if as_json:
        emit_json([render_identity(i, await grants.reach_of(services, i)) for i in found])
        return
    emit_table(
        "Machine identities",
        ["Id", "Name", "Client id", "Role", "Profiles", "State", "Created (UTC)"],
        [
            [
                i.id,
                i.name,
                i.client_id,
                i.role,
                await _reach_text(services, i),
                "disabled" if i.disabled else "enabled",
                f"{i.created_at:%Y-%m-%d %H:%M}",
            ]
            for i in found
        ],
    )


@kms_command(identity_group, "set-role")
@click.argument("ref")
@click.argument("role", type=click.Choice(ROLES))
async def set_role_command(services: Services, ref: str, role: str) -> None:
    """Give an identity (by id or client id) another role. An issuer or reader keeps its
    grants (a former admin or auditor is granted every profile: narrow it with revoke and
    grant). It applies to the identity's next request, with the tokens it holds now."""
    record, changed = await grants.set_role(services, ref, role)
    if not changed:
        raise CLIError(f"identity {ref!r} already has the role {role}")
    click.echo(f"{ref} is now {role} ({await _reach_text(services, record)})")


@kms_command(identity_group, "grant")
@click.argument("ref")
@_profile_option
@_all_option
async def grant_command(
    services: Services, ref: str, profiles: tuple[str, ...], all_profiles: bool
) -> None:
    """Grant an issuer or reader (by id or client id) more profiles, or every profile."""
    record, changed = await grants.grant(
        services, ref, await _chosen(services, profiles, all_profiles)
    )
    if not changed:
        raise CLIError(f"identity {ref!r} already has those grants")
    click.echo(f"{ref} reaches {await _reach_text(services, record)}")


@kms_command(identity_group, "revoke")
@click.argument("ref")
@_profile_option
@_all_option
async def revoke_command(
    services: Services, ref: str, profiles: tuple[str, ...], all_profiles: bool
) -> None:
    """Take profiles (or every profile) from an issuer's or reader's grants."""
    record, changed = await grants.revoke(
        services, ref, await _chosen(services, profiles, all_profiles)
    )
    if not changed:
        raise CLIError(f"identity {ref!r} has none of those grants")
    click.echo(f"{ref} reaches {await _reach_text(services, record)}")


@kms_command(identity_group, "disable")
@click.argument("ref")
async def disable_command(services: Services, ref: str) -> None:
    """Disable an identity (by id or client id): its logins and tokens stop working."""
    if not await identities.disable_identity(services, ref):
        raise CLIError(f"identity {ref!r} is already disabled")
    click.echo(f"Disabled {ref}")
