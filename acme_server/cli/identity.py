"""`kms identity create|list|set-role|disable`: machine identities for the REST API.

Roles: `member` (the default) issues certificates and reaches only its own (those it
issued or renewed, the client certificates bound to it) and itself; `admin` reaches every
certificate and identity. Identities made before roles existed are admins: narrow them
with `kms identity set-role ID member`."""

from __future__ import annotations

from pathlib import Path

import click

from acme_server.cli.common import (
    CLIError,
    build_settings,
    emit_json,
    emit_table,
    json_option,
    run,
    settings_options,
    with_services,
)
from acme_server.services import identities
from acme_server.services.context import Services
from store import IdentityRecord

LOGIN_PATH = "/api/v1/auth/universal-auth/login"


@click.group("identity")
def identity_group() -> None:
    """Machine identities: a client id and secret that log in to the REST API."""


ROLE_HELP = (
    "member: its own certificates and itself only (the default); "
    "admin: every certificate and identity."
)


@identity_group.command("create")
@click.option("--name", required=True, help="A name for the identity (1-255 characters).")
@click.option(
    "--role",
    type=click.Choice(identities.ROLES),
    default=identities.MEMBER,
    show_default=True,
    help=ROLE_HELP,
)
@settings_options
@json_option
def create_command(
    name: str,
    role: str,
    data_dir: Path | None,
    database_url: str | None,
    config_file: Path | None,
    as_json: bool,
) -> None:
    """Create an identity; its client secret is shown once and stored as a slow hash."""
    settings = build_settings(config_file, data_dir=data_dir, database_url=database_url)

    async def action(services: Services) -> tuple[IdentityRecord, str]:
        return await identities.create_identity(services, name, role=role)

    record, secret = run(with_services(settings, action))
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
    click.echo(f"Log in with POST {settings.base_url}{LOGIN_PATH}")


@identity_group.command("list")
@settings_options
@json_option
def list_command(
    data_dir: Path | None, database_url: str | None, config_file: Path | None, as_json: bool
) -> None:
    """List identities (never their secrets)."""
    settings = build_settings(config_file, data_dir=data_dir, database_url=database_url)
    found = run(with_services(settings, identities.list_identities))
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


@identity_group.command("set-role")
@click.argument("ref")
@click.argument("role", type=click.Choice(identities.ROLES))
@settings_options
def set_role_command(
    ref: str, role: str, data_dir: Path | None, database_url: str | None, config_file: Path | None
) -> None:
    """Give an identity (by id or client id) another role: member or admin. It applies to
    the identity's next request, with the tokens it holds now."""
    settings = build_settings(config_file, data_dir=data_dir, database_url=database_url)

    async def action(services: Services) -> bool:
        return await identities.set_role(services, ref, role)

    if not run(with_services(settings, action)):
        raise CLIError(f"identity {ref!r} already has the role {role}")
    click.echo(f"{ref} is now {role}")


@identity_group.command("disable")
@click.argument("ref")
@settings_options
def disable_command(
    ref: str, data_dir: Path | None, database_url: str | None, config_file: Path | None
) -> None:
    """Disable an identity (by id or client id): its logins and tokens stop working."""
    settings = build_settings(config_file, data_dir=data_dir, database_url=database_url)

    async def action(services: Services) -> bool:
        return await identities.disable_identity(services, ref)

    if not run(with_services(settings, action)):
        raise CLIError(f"identity {ref!r} is already disabled")
    click.echo(f"Disabled {ref}")
