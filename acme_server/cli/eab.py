"""`kms eab create|list|revoke`: External Account Binding credentials for a profile."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import click

from acme_server import eab
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
from acme_server.services.context import Services
from acme_server.services.profiles import find_profile
from store import EABKeyRecord


@click.group("eab")
def eab_group() -> None:
    """External Account Binding credentials (RFC 8555 7.3.4)."""


@eab_group.command("create")
@click.option(
    "--profile",
    "profile_ref",
    default=None,
    help="Profile slug or id (default profile if omitted).",
)
@click.option(
    "--reusable/--single-use", default=False, show_default=True, help="One account, or many."
)
@click.option(
    "--hmac-alg", type=click.Choice(sorted(eab.HMAC_ALGS)), default="HS256", show_default=True
)
@settings_options
@json_option
def create_command(
    profile_ref: str | None,
    reusable: bool,
    hmac_alg: str,
    data_dir: Path | None,
    database_url: str | None,
    config_file: Path | None,
    as_json: bool,
) -> None:
    """Create a key id and HMAC key; the HMAC key is shown once and stored encrypted."""
    settings = build_settings(config_file, data_dir=data_dir, database_url=database_url)

    async def action(services: Services) -> tuple[eab.NewEABCredential, str]:
        profile = await find_profile(services, profile_ref)
        credential = await eab.create_credential(
            services.store,
            services.kek,
            profile_id=profile.id,
            reusable=reusable,
            hmac_alg=hmac_alg,
        )
        return credential, f"{settings.base_url}/acme/{profile.slug}/directory"

    credential, directory = run(with_services(settings, action))
    if as_json:
        emit_json(
            {
                "kid": credential.record.id,
                "hmacKey": credential.hmac_key_b64,
                "hmacAlg": credential.record.hmac_alg,
                "reusable": credential.record.reusable,
                "directory": directory,
            }
        )
        return
    click.echo(f"Key id:    {credential.record.id}")
    click.echo(f"HMAC key:  {credential.hmac_key_b64}")
    click.echo(f"Directory: {directory}")
    click.echo(
        f"Usable {'by many accounts' if reusable else 'once'}; the HMAC key is not shown again."
    )
    click.echo(
        # --flag=value: a base64url key may begin with "-", which argparse reads as an option
        f"certbot: --server {directory} --eab-kid={credential.record.id}"
        f" --eab-hmac-key={credential.hmac_key_b64}"
    )


def _row(key: EABKeyRecord) -> list[str]:
    state = (
        "revoked" if key.revoked_at else ("used" if key.used_at and not key.reusable else "usable")
    )
    return [
        key.id,
        "reusable" if key.reusable else "single-use",
        state,
        f"{key.created_at:%Y-%m-%d %H:%M}",
    ]


@eab_group.command("list")
@click.option(
    "--profile",
    "profile_ref",
    default=None,
    help="Profile slug or id (default profile if omitted).",
)
@settings_options
@json_option
def list_command(
    profile_ref: str | None,
    data_dir: Path | None,
    database_url: str | None,
    config_file: Path | None,
    as_json: bool,
) -> None:
    """List a profile's EAB key ids (never their HMAC keys)."""
    settings = build_settings(config_file, data_dir=data_dir, database_url=database_url)

    async def action(services: Services) -> list[EABKeyRecord]:
        profile = await find_profile(services, profile_ref)
        return await services.store.list_eab_keys(profile.id)

    keys = run(with_services(settings, action))
    if as_json:
        emit_json(
            [
                {
                    "kid": k.id,
                    "reusable": k.reusable,
                    "usedAt": k.used_at,
                    "revokedAt": k.revoked_at,
                }
                for k in keys
            ]
        )
        return
    emit_table("EAB keys", ["Key id", "Kind", "State", "Created (UTC)"], [_row(k) for k in keys])


@eab_group.command("revoke")
@click.argument("kid")
@settings_options
def revoke_command(
    kid: str, data_dir: Path | None, database_url: str | None, config_file: Path | None
) -> None:
    """Revoke an EAB key id: no new account can bind with it."""
    settings = build_settings(config_file, data_dir=data_dir, database_url=database_url)

    async def action(services: Services) -> bool:
        return await services.store.revoke_eab_key(kid, datetime.now(UTC))

    if not run(with_services(settings, action)):
        raise CLIError(f"EAB key {kid!r} is already revoked")
    click.echo(f"Revoked {kid}")
