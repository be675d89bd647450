"""`kms cert renew|auto-renew|delete|metadata`, and what every `kms cert` command shares: the JSON
form of a certificate, key=value pairs, and the audit entry (actor "cli") of each write."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from acme_server.cli.cert_files import (
    STDOUT,
    OutputFiles,
    check_outputs,
    echo_warnings,
    output_options,
    write_outputs,
)
from acme_server.cli.common import Action, CLIError, emit_json, kms_command
from acme_server.services import audit
from acme_server.services.certificates import auto_renewal, inventory
from acme_server.services.certificates.bundles import issued_bundle
from acme_server.services.certificates.export import find_certificate, key_withheld
from acme_server.services.certificates.renewal import renew_now
from acme_server.services.context import Services
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


@kms_command(None, "renew", json=True)
@click.argument("ref")
@output_options
async def renew_command(
    services: Services,
    ref: str,
    out: Path | None,
    chain_out: Path | None,
    fullchain_out: Path | None,
    key_out: Path | None,
    as_json: bool,
) -> None:
    """Renew a certificate now: same profile and attributes, a fresh key, linked to the old
    one, metadata carried over. Only certificates whose key the server holds. The new
    certificate goes to --out, its chain to --chain-out, both to --fullchain-out, its key
    to --key-out (0600; '-' for stdout); nothing is printed but the summary otherwise."""
    files = OutputFiles(out, chain_out, fullchain_out, key_out)
    check_outputs(files, csr=False, as_json=as_json)
    old = await find_certificate(services, ref)
    withheld_before = await key_withheld(services, old) if key_out is not None else None
    if withheld_before is not None:  # the renewal's key would be kept the same way
        raise CLIError(f"--key-out: {withheld_before}")
    enrollment = await renew_now(services, old)
    issued = enrollment.issued
    new = issued.record
    await audit_cli(services, "certificate.renew", new, renewedFromId=old.id)
    echo_warnings(issued.warnings)
    if files.named() or key_out is not None:
        withheld = await key_withheld(services, new)
        bundle = issued_bundle(issued, key_withheld=withheld)
        write_outputs(files, bundle, certificate_to_stdout=False)
    if as_json:
        emit_json({**certificate_json(new), "warnings": list(issued.warnings)})
        return
    click.echo(
        f"Renewed {new.renewed_from_id} as {new.serial_hex} ({new.id})"
        f" until {new.not_after:%Y-%m-%d %H:%M:%S} UTC",
        err=key_out == STDOUT,
    )


@kms_command(None, "auto-renew", json=True)
@click.argument("ref")
@click.argument("state", type=click.Choice(["on", "off"]))
async def auto_renew_command(services: Services, ref: str, state: str, as_json: bool) -> None:
    """Turn server-driven renewal of a certificate on or off. The scheduler renews it when
    it enters its profile's renew-before window; only certificates whose key the server
    holds (CSR- and ACME-issued ones are renewed by their holder)."""
    on = state == "on"
    cert = await find_certificate(services, ref)
    await auto_renewal.set_auto_renew(services, cert, on)
    await audit_cli(services, "certificate.auto_renew.update", cert, autoRenew=on)
    if as_json:
        emit_json({"certificateId": cert.id, "autoRenew": on})
        return
    click.echo(f"Auto-renewal of {cert.serial_hex} ({cert.id}): {state}")


@kms_command(None, "delete")
@click.argument("ref")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def delete_command(ref: str, yes: bool) -> Action:
    """Remove a certificate from the inventory. This does NOT revoke it (use `kms cert
    revoke` first); a revoked certificate stays until it expires, for its CRL."""
    if not yes:
        click.confirm(
            f"Delete certificate {ref} from the inventory (it is not revoked)?", abort=True
        )

    async def action(services: Services) -> None:
        cert = await find_certificate(services, ref)
        await inventory.delete_certificate(services, cert, datetime.now(UTC))
        await audit_cli(services, "certificate.delete", cert, commonName=cert.common_name)
        click.echo(f"Deleted {cert.serial_hex} ({cert.id})")

    return action


@kms_command(None, "metadata", json=True)
@click.argument("ref")
@click.argument("pairs", nargs=-1)
@click.option("--clear", is_flag=True, help="Remove every pair (give no key=value).")
def metadata_command(ref: str, pairs: tuple[str, ...], clear: bool, as_json: bool) -> Action:
    """Replace a certificate's metadata with the given key=value pairs."""
    if not pairs and not clear:
        raise CLIError("give key=value pairs, or --clear to remove all metadata")
    if pairs and clear:
        raise CLIError("--clear takes no key=value pairs")
    metadata = parse_pairs(pairs, "metadata")

    async def action(services: Services) -> None:
        cert = await find_certificate(services, ref)
        updated = await inventory.set_metadata(services, cert, metadata)
        await audit_cli(services, "certificate.metadata.update", cert, keys=sorted(metadata))
        if as_json:
            emit_json({"certificateId": updated.id, "metadata": updated.metadata})
            return
        shown = ", ".join(f"{k}={v}" for k, v in updated.metadata.items()) or "(none)"
        click.echo(f"Metadata of {updated.serial_hex}: {shown}")

    return action
