"""`kms user create|list|grant|disable|enable|reset-password`: the people who sign
in to the web console, with the roles and profile grants machine identities have
(acme_server/services/roles.py). Passwords are prompted (twice, not echoed) or read from
stdin with --password-stdin (one line), and stored as argon2id hashes only."""

from __future__ import annotations

import sys

import click

from acme_server.cli.common import CLIError, emit_json, emit_table, kms_command
from acme_server.services.context import Services
from acme_server.services.identities import grants
from acme_server.services.roles import GRANTED_ROLES, ROLE_HELP, ROLES
from acme_server.services.users import accounts
from store import UserRecord

ROLES_HELP = "; ".join(f"{role}: {text}" for role, text in ROLE_HELP.items())


@click.group("user")
def user_group() -> None:
    """Console users: a name and password that sign in to the web console at /ui."""


def _password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return str(click.prompt("Password", hide_input=True, confirmation_prompt=True))


async def _grants(
    services: Services, role: str, profiles: tuple[str, ...], all_profiles: bool
) -> grants.Grants:
    if role not in GRANTED_ROLES:
        if profiles or all_profiles:
            raise CLIError(f"an {role} takes no --profile: it reaches what its role does")
        return None
    if all_profiles == bool(profiles):
        raise CLIError("give --profile SLUG (repeatable) or --all-profiles")
    return None if all_profiles else await grants.profile_ids(services, list(profiles))


def _shown(user: UserRecord) -> dict[str, object]:
    return {
        "id": user.id,
        "name": user.name,
        "role": user.role,
        "profileGrants": None if user.profile_grants is None else list(user.profile_grants),
        "disabled": user.disabled,
        "mustChangePassword": user.must_change_password,
        "createdAt": user.created_at,
    }


_profile = click.option("--profile", "profiles", multiple=True, metavar="SLUG")
_all = click.option("--all-profiles", is_flag=True, help="Every profile, present and future.")
_stdin = click.option("--password-stdin", is_flag=True, help="Read the password from stdin.")


@kms_command(user_group, "create", json=True)
@click.option("--name", required=True, help="The sign-in name (1-255 characters).")
@click.option("--role", type=click.Choice(ROLES), required=True, help=ROLES_HELP)
@_profile
@_all
@_stdin
@click.option(
    "--must-change/--no-must-change",
    default=False,
    help="The user picks a new password at the first sign-in.",
)
async def create_command(
    services: Services,
    name: str,
    role: str,
    profiles: tuple[str, ...],
    all_profiles: bool,
    password_stdin: bool,
    must_change: bool,
    as_json: bool,
) -> None:
    """Create a console user (an issuer or reader needs --profile or --all-profiles)."""
    chosen = await _grants(services, role, profiles, all_profiles)
    user = await accounts.create_user(
        services,
        name,
        _password(password_stdin),
        role=role,
        profile_grants=chosen,
        must_change_password=must_change,
    )
    if as_json:
        emit_json(_shown(user))
        return
    click.echo(f"User {user.name} ({user.id}), role {user.role}")
    click.echo(f"Sign in at {services.settings.base_url}/ui/login")


@kms_command(user_group, "list", json=True)
async def list_command(services: Services, as_json: bool) -> None:
    """List console users (never their passwords)."""
    found = await accounts.list_users(services)
    if as_json:
        emit_json([_shown(u) for u in found])
        return
    emit_table(
        "Console users",
        ["Id", "Name", "Role", "State", "Created (UTC)"],
        [
            [u.id, u.name, u.role, "disabled" if u.disabled else "enabled", f"{u.created_at:%F %R}"]
            for u in found
        ],
    )


@kms_command(user_group, "grant")
@click.argument("ref")
@click.argument("role", type=click.Choice(ROLES))
@_profile
@_all
async def grant_command(
    services: Services, ref: str, role: str, profiles: tuple[str, ...], all_profiles: bool
) -> None:
    """Give a user (by name or id) a role and, for an issuer or reader, its profiles."""
    chosen = await _grants(services, role, profiles, all_profiles)
    user = await accounts.set_access(services, ref, role, chosen)
    click.echo(f"{user.name} is now {user.role}")


@kms_command(user_group, "reset-password")
@click.argument("ref")
@_stdin
@click.option("--must-change/--no-must-change", default=True, show_default=True)
async def reset_password_command(
    services: Services, ref: str, password_stdin: bool, must_change: bool
) -> None:
    """Set a user's password (and lift a sign-in lock)."""
    user = await accounts.reset_password(
        services, ref, _password(password_stdin), must_change=must_change
    )
    click.echo(f"New password set for {user.name}")


@kms_command(user_group, "disable")
@click.argument("ref")
async def disable_command(services: Services, ref: str) -> None:
    """Disable a user: its sessions end at once and it cannot sign in."""
    user = await accounts.set_disabled(services, ref, True)
    click.echo(f"Disabled {user.name}")


@kms_command(user_group, "enable")
@click.argument("ref")
async def enable_command(services: Services, ref: str) -> None:
    """Enable a disabled user again."""
    user = await accounts.set_disabled(services, ref, False)
    click.echo(f"Enabled {user.name}")
