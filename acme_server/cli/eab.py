"""`kms eab create|list|revoke`: External Account Binding credentials for a profile."""

from __future__ import annotations

import click

from acme_server.cli.common import emit_json, emit_table, kms_command
from acme_server.render.eab import render_new_credential
from acme_server.services.context import Services
from acme_server.services.eab_credentials import (
    HMAC_ALGS,
    create_credential,
    list_credentials,
    revoke_credential,
)
from acme_server.services.profiles.lookup import find_profile
from store import EABKeyRecord


@click.group("eab")
def eab_group() -> None:
    """External Account Binding credentials (RFC 8555 7.3.4)."""


@kms_command(eab_group, "create", json=True)
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
    "--hmac-alg", type=click.Choice(sorted(HMAC_ALGS)), default="HS256", show_default=True
)
async def create_command(
    services: Services, profile_ref: str | None, reusable: bool, hmac_alg: str, as_json: bool
) -> None:
    """Create a key id and HMAC key; the HMAC key is shown once and stored encrypted."""
    profile = await find_profile(services, profile_ref)
    credential = await create_credential(services, profile, reusable=reusable, hmac_alg=hmac_alg)
    document = render_new_credential(credential)
    if as_json:
        emit_json(document)  # what REST answers to POST .../eab-credentials
        return
    directory = document["directory"]
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


@kms_command(eab_group, "list", json=True)
@click.option(
    "--profile",
    "profile_ref",
    default=None,
    help="Profile slug or id (default profile if omitted).",
)
async def list_command(services: Services, profile_ref: str | None, as_json: bool) -> None:
    """List a profile's EAB key ids (never their HMAC keys)."""
    profile = await find_profile(services, profile_ref)
    keys = await list_credentials(services, profile)
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


@kms_command(eab_group, "revoke")
@click.argument("kid")
async def revoke_command(services: Services, kid: str) -> None:
    """Revoke an EAB key id: no new account can bind with it."""
    await revoke_credential(services, kid)
    click.echo(f"Revoked {kid}")
