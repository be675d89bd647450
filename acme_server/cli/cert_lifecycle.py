"""`kms cert renew|auto-renew|delete|metadata`, and what every `kms cert` command shares: the JSON
form of a certificate, key=value pairs, and the audit entry (actor "cli") of each write."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from acme_server.cli.common import (
    CLIError,
    build_settings,
    emit_json,
    json_option,
    run,
    settings_options,
    with_services,
    write_out,
)
from acme_server.services import audit, auto_renewal, inventory
from acme_server.services.certificates import export_pem, find_certificate
from acme_server.services.context import Services
from acme_server.services.enrollment import Enrollment
from acme_server.services.renewal import renew_now
from pki_types.model import RevocationReason
from store import CertificateRecord

REASONS = [r.value for r in RevocationReason]


def parse_pairs(pairs: tuple[str, ...], what: str) -> dict[str, str]:
    metadata: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise CLIError(f"{what} {pair!r}: use key=value")
        metadata[key] = value
    return metadata


async def audit_cli(
    services: Services, action: str, cert: CertificateRecord, **details: object
) -> None:
    await audit.record(
        services,
        actor=audit.ACTOR_CLI,
        action=action,
        target_type="certificate",
        target_id=cert.id,
        details={"serialNumber": cert.serial_hex, **details},
    )


def certificate_json(cert: CertificateRecord) -> dict[str, Any]:
    return {
        "id": cert.id,
        "serialNumber": cert.serial_hex,
        "status": cert.status,
        "commonName": cert.common_name,
        "friendlyName": cert.friendly_name,
        "subject": cert.subject,
        "altNames": cert.sans,
        "keyAlgorithm": cert.key_algorithm,
        "hashAlgorithm": cert.hash_algorithm,
        "notBefore": cert.not_before.isoformat(),
        "notAfter": cert.not_after.isoformat(),
        "profileId": cert.profile_id,
        "caId": cert.ca_id,
        "requestMethod": cert.request_method,
        "fingerprintSha256": cert.fingerprint_sha256,
        "metadata": cert.metadata,
        "renewedFromId": cert.renewed_from_id,
        "renewedById": cert.renewed_by_id,
        "autoRenew": cert.auto_renew,
        "renewal": {
            "status": cert.renewal_status,
            "lastError": cert.renewal_error,
            "attempts": cert.renewal_attempts,
            "nextAttemptAt": cert.next_renewal_at.isoformat() if cert.next_renewal_at else None,
        },
        "revokedAt": cert.revoked_at.isoformat() if cert.revoked_at else None,
        "revocationReason": cert.revocation_reason,
        "hasPrivateKey": cert.encrypted_private_key is not None,
        "certificateRequestId": cert.certificate_request_id,
    }


@click.command("renew")
@click.argument("ref")
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write the new PEM bundle (certificate, chain, key) here.",
)
@settings_options
@json_option
def renew_command(
    ref: str,
    out: Path | None,
    data_dir: Path | None,
    database_url: str | None,
    config_file: Path | None,
    as_json: bool,
) -> None:
    """Renew a certificate now: same profile and attributes, a fresh key, linked to the old
    one, metadata carried over. Only certificates whose key the server holds."""
    settings = build_settings(config_file, data_dir=data_dir, database_url=database_url)

    async def action(services: Services) -> tuple[Enrollment, str]:
        old = await find_certificate(services, ref)
        enrollment = await renew_now(services, old)
        new = enrollment.issued.record
        await audit_cli(services, "certificate.renew", new, renewedFromId=old.id)
        return enrollment, export_pem(services, new)

    enrollment, bundle = run(with_services(settings, action))
    new = enrollment.issued.record
    if out is not None:
        write_out(out, bundle)
    if as_json:
        emit_json(certificate_json(new))
        return
    click.echo(
        f"Renewed {new.renewed_from_id} as {new.serial_hex} ({new.id})"
        f" until {new.not_after:%Y-%m-%d}"
    )


@click.command("auto-renew")
@click.argument("ref")
@click.argument("state", type=click.Choice(["on", "off"]))
@settings_options
@json_option
def auto_renew_command(
    ref: str,
    state: str,
    data_dir: Path | None,
    database_url: str | None,
    config_file: Path | None,
    as_json: bool,
) -> None:
    """Turn server-driven renewal of a certificate on or off. The scheduler renews it when
    it enters its profile's renew-before window; only certificates whose key the server
    holds (CSR- and ACME-issued ones are renewed by their holder)."""
    settings = build_settings(config_file, data_dir=data_dir, database_url=database_url)
    on = state == "on"

    async def action(services: Services) -> CertificateRecord:
        cert = await find_certificate(services, ref)
        await auto_renewal.set_auto_renew(services, cert, on)
        await audit_cli(services, "certificate.auto_renew.update", cert, autoRenew=on)
        return cert

    cert = run(with_services(settings, action))
    if as_json:
        emit_json({"certificateId": cert.id, "autoRenew": on})
        return
    click.echo(f"Auto-renewal of {cert.serial_hex} ({cert.id}): {state}")


@click.command("delete")
@click.argument("ref")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@settings_options
def delete_command(
    ref: str,
    yes: bool,
    data_dir: Path | None,
    database_url: str | None,
    config_file: Path | None,
) -> None:
    """Remove a certificate from the inventory. This does NOT revoke it (use `kms cert
    revoke` first); a revoked certificate stays until it expires, for its CRL."""
    if not yes:
        click.confirm(
            f"Delete certificate {ref} from the inventory (it is not revoked)?", abort=True
        )
    settings = build_settings(config_file, data_dir=data_dir, database_url=database_url)

    async def action(services: Services) -> CertificateRecord:
        cert = await find_certificate(services, ref)
        await inventory.delete_certificate(services, cert, datetime.now(UTC))
        await audit_cli(services, "certificate.delete", cert, commonName=cert.common_name)
        return cert

    cert = run(with_services(settings, action))
    click.echo(f"Deleted {cert.serial_hex} ({cert.id})")


@click.command("metadata")
@click.argument("ref")
@click.argument("pairs", nargs=-1)
@click.option("--clear", is_flag=True, help="Remove every pair (give no key=value).")
@settings_options
@json_option
def metadata_command(
    ref: str,
    pairs: tuple[str, ...],
    clear: bool,
    data_dir: Path | None,
    database_url: str | None,
    config_file: Path | None,
    as_json: bool,
) -> None:
    """Replace a certificate's metadata with the given key=value pairs."""
    if not pairs and not clear:
        raise CLIError("give key=value pairs, or --clear to remove all metadata")
    if pairs and clear:
        raise CLIError("--clear takes no key=value pairs")
    metadata = parse_pairs(pairs, "metadata")
    settings = build_settings(config_file, data_dir=data_dir, database_url=database_url)

    async def action(services: Services) -> CertificateRecord:
        cert = await find_certificate(services, ref)
        updated = await inventory.set_metadata(services, cert, metadata)
        await audit_cli(services, "certificate.metadata.update", cert, keys=sorted(metadata))
        return updated

    cert = run(with_services(settings, action))
    if as_json:
        emit_json({"certificateId": cert.id, "metadata": cert.metadata})
        return
    shown = ", ".join(f"{k}={v}" for k, v in cert.metadata.items()) or "(none)"
    click.echo(f"Metadata of {cert.serial_hex}: {shown}")
