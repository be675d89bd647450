"""`kms identity create|list|set-role|disable`: machine identities for the REST API.

Roles: `member` (the default) issues certificates and reaches only its own (those it
issued or renewed, the client certificates bound to it) and itself; `admin` reaches every
certificate and identity. Identities made before roles existed are admins: narrow them
with `kms identity set-role ID member`."""

from __future__ import annotations

import click

from acme_server.cli.common import CLIError, emit_json, emit_table, kms_command
from acme_server.services.context import Services
from acme_server.services.identities import tokens as identities

LOGIN_PATH = "/api/v1/auth/universal-auth/login"


@click.group("identity")
def identity_group() -> None:
    """Machine identities: a client id and secret that log in to the REST API."""


ROLE_HELP = (
    "member: its own certificates and itself only (the default); "
    "admin: every certificate and identity."
)


@kms_command(identity_group, "create", json=True)
@click.option("--name", required=True, help="A name for the identity (1-255 characters).")
@click.option(
    "--role",
    type=click.Choice(identities.ROLES),
    default=identities.MEMBER,
    show_default=True,
    help=ROLE_HELP,
)
async def create_command(services: Services, name: str, role: str, as_json: bool) -> None:
    """Create an identity; its client secret is shown once and stored as a slow hash."""
    record, secret = await identities.create_identity(services, name, role=role)
    if as_json:
        emit_json(
            {
                "id": record.id,
                "name": record.name,
                "clientId": record.client_id,
                "role": record.role,
                "clientSecret": secret,
            }
        )
        return
    click.echo(f"Identity:      {record.id} ({record.name})")
    click.echo(f"Role:          {record.role}")
    click.echo(f"Client id:     {record.client_id}")
    click.echo(f"Client secret: {secret}")
    click.echo("The client secret is not shown again.")
    click.echo(f"Log in with POST {services.settings.base_url}{LOGIN_PATH}")


@kms_command(identity_group, "list", json=True)
async def list_command(services: Services, as_json: bool) -> None:
    """List identities (never their secrets)."""
    found = await identities.list_identities(services)
    if as_json:
        emit_json(
            [
                {
                    "id": i.id,
                    "name": i.name,
                    "clientId": i.client_id,
                    "disabled": i.disabled,
                    "role": i.role,
                    "createdAt": i.created_at,
                }
                for i in found
            ]
        )
        return
    emit_table(
        "Machine identities",
        ["Id", "Name", "Client id", "Role", "State", "Created (UTC)"],
        [
            [
                i.id,
                i.name,
                i.client_id,
                i.role,
                "disabled" if i.disabled else "enabled",
                f"{i.created_at:%Y-%m-%d %H:%M}",
            ]
            for i in found
        ],
    )


@kms_command(identity_group, "set-role")
@click.argument("ref")
@click.argument("role", type=click.Choice(identities.ROLES))
async def set_role_command(services: Services, ref: str, role: str) -> None:
    """Give an identity (by id or client id) another role: member or admin. It applies to
    the identity's next request, with the tokens it holds now."""
    if not await identities.set_role(services, ref, role):
        raise CLIError(f"identity {ref!r} already has the role {role}")
    click.echo(f"{ref} is now {role}")


@kms_command(identity_group, "disable")
@click.argument("ref")
async def disable_command(services: Services, ref: str) -> None:
    """Disable an identity (by id or client id): its logins and tokens stop working."""
    if not await identities.disable_identity(services, ref):
        raise CLIError(f"identity {ref!r} is already disabled")
    click.echo(f"Disabled {ref}")
