"""`kms identity cert-issue|cert-bind|certs`: client certificates that log an identity in.

    kms identity cert-issue --identity ID --profile default --csr-file m.csr --out m.pem
    kms identity cert-bind --identity ID --cert-file m.pem     # one this server issued
    kms identity certs ID                                      # notAfter, ok/warning/expiring

The agent then logs in with POST /api/v1/auth/cert-auth/login and rotates the certificate
itself (acme_server/services/identities/client_certs.py).
"""

from __future__ import annotations

from pathlib import Path

import click

from acme_server.cli.common import Action, CLIError, emit_json, emit_table, kms_command
from acme_server.cli.identity import identity_group
from acme_server.render.identities import render_identity
from acme_server.services.context import Services
from acme_server.services.identities import client_certs as certs
from acme_server.services.identities import grants


def _read(path: Path, what: str) -> str:
    try:
        return path.read_text()
    except (OSError, UnicodeDecodeError) as exc:
        raise CLIError(f"cannot read the {what} {path}: {exc}") from None


def _write(path: Path, text: str) -> None:
    try:
        path.write_text(text)
    except OSError as exc:
        raise CLIError(f"cannot write {path}: {exc}") from None


@kms_command(identity_group, "cert-issue")
@click.option("--identity", "identity_ref", required=True, help="Identity id or client id.")
@click.option("--profile", required=True, help="Profile (slug or id) that issues it.")
@click.option("--csr-file", required=True, type=click.Path(path_type=Path), help="PEM CSR.")
@click.option("--out", required=True, type=click.Path(path_type=Path), help="Chain PEM out.")
@click.option("--ttl", default=None, help="Lifetime, e.g. 365d (default: the profile's).")
def cert_issue_command(
    identity_ref: str, profile: str, csr_file: Path, out: Path, ttl: str | None
) -> Action:
    """Issue a clientAuth certificate for a CSR (the profile's policy applies) and bind it."""
    csr = _read(csr_file, "CSR")

    async def action(services: Services) -> None:
        issued = await certs.issue_certificate(services, identity_ref, profile, csr, ttl=ttl)
        _write(out, issued.certificate_pem + issued.chain_pem)
        binding = issued.binding
        click.echo(f"Issued and bound {binding.serial_hex} (notAfter {binding.not_after:%Y-%m-%d})")
        click.echo(f"Certificate chain written to {out}")
        click.echo(f"Log in with POST {services.settings.base_url}{certs.LOGIN_PATH}")

    return action


@kms_command(identity_group, "cert-bind")
@click.option("--identity", "identity_ref", required=True, help="Identity id or client id.")
@click.option("--cert-file", required=True, type=click.Path(path_type=Path), help="PEM.")
def cert_bind_command(identity_ref: str, cert_file: Path) -> Action:
    """Bind a certificate this server issued (active, with clientAuth) to an identity."""
    pem = _read(cert_file, "certificate")

    async def action(services: Services) -> None:
        binding = await certs.bind_certificate(services, identity_ref, pem)
        click.echo(f"Bound {binding.serial_hex} to identity {binding.identity_id}")

    return action


@kms_command(identity_group, "certs", json=True)
@click.argument("ref")
async def certs_command(services: Services, ref: str, as_json: bool) -> None:
    """An identity's client certificates: notAfter, status and ok/warning/expiring."""
    identity, found = await certs.list_credentials(services, ref)
    if as_json:
        emit_json(render_identity(identity, await grants.reach_of(services, identity), found))
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
