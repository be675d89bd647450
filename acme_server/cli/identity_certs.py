"""`kms identity cert-issue|cert-bind|certs`: client certificates that log an identity in.

    kms identity cert-issue --identity ID --profile default --csr-file m.csr --out m.pem
    kms identity cert-bind --identity ID --cert-file m.pem     # one this server issued
    kms identity certs ID                                      # notAfter, ok/warning/expiring

The agent then logs in with POST /api/v1/auth/cert-auth/login and rotates the certificate
itself (acme_server/services/identity_certificates.py).
"""

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
from acme_server.cli.identity import identity_group
from acme_server.rest.identities import render_identity
from acme_server.services import identity_certificates as certs
from acme_server.services.context import Services
from acme_server.services.identity_certificates import Rotated
from store import IdentityCertificateRecord


def _read(path: Path, what: str) -> str:
    try:
        return path.read_text()
    except (OSError, UnicodeDecodeError) as exc:
        raise CLIError(f"cannot read the {what} {path}: {exc}") from None


@identity_group.command("cert-issue")
@click.option("--identity", "identity_ref", required=True, help="Identity id or client id.")
@click.option("--profile", required=True, help="Profile (slug or id) that issues it.")
@click.option("--csr-file", required=True, type=click.Path(path_type=Path), help="PEM CSR.")
@click.option("--out", required=True, type=click.Path(path_type=Path), help="Chain PEM out.")
@click.option("--ttl", default=None, help="Lifetime, e.g. 365d (default: the profile's).")
@settings_options
def cert_issue_command(
    identity_ref: str,
    profile: str,
    csr_file: Path,
    out: Path,
    ttl: str | None,
    data_dir: Path | None,
    database_url: str | None,
    config_file: Path | None,
) -> None:
    """Issue a clientAuth certificate for a CSR (the profile's policy applies) and bind it."""
    settings = build_settings(config_file, data_dir=data_dir, database_url=database_url)
    csr = _read(csr_file, "CSR")

    async def action(services: Services) -> Rotated:
        return await certs.issue_certificate(services, identity_ref, profile, csr, ttl=ttl)

    issued = run(with_services(settings, action))
    try:
        out.write_text(issued.certificate_pem + issued.chain_pem)
    except OSError as exc:
        raise CLIError(f"cannot write {out}: {exc}") from None
    binding = issued.binding
    click.echo(f"Issued and bound {binding.serial_hex} (notAfter {binding.not_after:%Y-%m-%d})")
    click.echo(f"Certificate chain written to {out}")
    click.echo(f"Log in with POST {settings.base_url}{certs.LOGIN_PATH}")


@identity_group.command("cert-bind")
@click.option("--identity", "identity_ref", required=True, help="Identity id or client id.")
@click.option("--cert-file", required=True, type=click.Path(path_type=Path), help="PEM.")
@settings_options
def cert_bind_command(
    identity_ref: str,
    cert_file: Path,
    data_dir: Path | None,
    database_url: str | None,
    config_file: Path | None,
) -> None:
    """Bind a certificate this server issued (active, with clientAuth) to an identity."""
    settings = build_settings(config_file, data_dir=data_dir, database_url=database_url)
    pem = _read(cert_file, "certificate")

    async def action(services: Services) -> IdentityCertificateRecord:
        return await certs.bind_certificate(services, identity_ref, pem)

    binding = run(with_services(settings, action))
    click.echo(f"Bound {binding.serial_hex} to identity {binding.identity_id}")


@identity_group.command("certs")
@click.argument("ref")
@settings_options
@json_option
def certs_command(
    ref: str,
    data_dir: Path | None,
    database_url: str | None,
    config_file: Path | None,
    as_json: bool,
) -> None:
    """An identity's client certificates: notAfter, status and ok/warning/expiring."""
    settings = build_settings(config_file, data_dir=data_dir, database_url=database_url)

    identity, found = run(with_services(settings, lambda s: certs.list_credentials(s, ref)))
    if as_json:
        emit_json(render_identity(identity, found))
        return
    emit_table(
        f"Client certificates of {identity.name} ({identity.id})",
        ["Serial", "Not after (UTC)", "Rotate by (UTC)", "Status", "Credential"],
        [
            [
                binding.serial_hex,
                f"{binding.not_after:%Y-%m-%d %H:%M}",
                f"{standing.rotate_by:%Y-%m-%d %H:%M}",
                binding.state,
                standing.state,
            ]
            for binding, standing in found
        ],
    )
