"""`kms cert list|show|issue|export|revoke|renew|auto-renew|delete|metadata`: the same
services as the REST API, each write recorded in the audit log with the actor "cli"."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from acme_server.cli.cert_files import (
    OutputFiles,
    check_outputs,
    echo_warnings,
    output_options,
    write_outputs,
)
from acme_server.cli.cert_lifecycle import (
    REASONS,
    audit_cli,
    auto_renew_command,
    certificate_json,
    delete_command,
    metadata_command,
    parse_pairs,
    renew_command,
)
from acme_server.cli.common import (
    Action,
    CLIError,
    emit_fields,
    emit_json,
    emit_table,
    kms_command,
    write_out,
)
from acme_server.services.certificates.bundles import issued_bundle
from acme_server.services.certificates.enrollment import EnrollRequest, enroll
from acme_server.services.certificates.export import (
    export_pem,
    export_pkcs12,
    find_certificate,
    key_withheld,
    require_exportable,
)
from acme_server.services.certificates.revocation import revoke
from acme_server.services.context import Services
from acme_server.services.profiles.lookup import find_profile
from acme_server.services.profiles.settings import EnrollmentConfig
from pki_types.model import CertificateStatus, RevocationReason


@click.group("cert")
def cert_group() -> None:
    """Issued certificates."""


cert_group.add_command(renew_command)
cert_group.add_command(auto_renew_command)
cert_group.add_command(delete_command)
cert_group.add_command(metadata_command)


@kms_command(cert_group, "list", json=True)
@click.option("--status", type=click.Choice([s.value for s in CertificateStatus]), default=None)
@click.option("--profile", "profile_id", default=None, help="Profile id.")
@click.option("--ca", "ca_id", default=None, help="Issuing CA id.")
@click.option("--name", default=None, help="Common name or SAN contains this text.")
@click.option("--meta", multiple=True, help="Metadata filter key=value (repeatable).")
@click.option("--limit", type=click.IntRange(1, 1000), default=50, show_default=True)
@click.option("--offset", type=click.IntRange(0), default=0)
def list_command(
    status: str | None,
    profile_id: str | None,
    ca_id: str | None,
    name: str | None,
    meta: tuple[str, ...],
    limit: int,
    offset: int,
    as_json: bool,
) -> Action:
    """List certificates, newest first."""
    metadata = parse_pairs(meta, "--meta")
    filters: dict[str, Any] = {
        "status": status,
        "profile_id": profile_id,
        "ca_id": ca_id,
        "name_contains": name,
        "metadata": metadata or None,
    }

    async def action(services: Services) -> None:
        rows = await services.store.list_certificates(**filters, limit=limit, offset=offset)
        total = await services.store.count_certificates(**filters)
        if as_json:
            emit_json({"certificates": [certificate_json(c) for c in rows], "totalCount": total})
            return
        emit_table(
            f"Certificates ({len(rows)} of {total})",
            ["ID", "Common name", "Serial", "Status", "Not after (UTC)"],
            [
                [c.id, c.common_name, c.serial_hex, c.status, f"{c.not_after:%Y-%m-%d %H:%M}"]
                for c in rows
            ],
        )

    return action


@kms_command(cert_group, "show", json=True)
@click.argument("ref")
async def show_command(services: Services, ref: str, as_json: bool) -> None:
    """Show a certificate by id or serial."""
    cert = await find_certificate(services, ref)
    data = certificate_json(cert)
    if as_json:
        emit_json({**data, "certificate": cert.certificate_pem, "certificateChain": cert.chain_pem})
        return
    sans = ", ".join(f"{s['type']}:{s['value']}" for s in cert.sans)
    emit_fields(
        f"Certificate {cert.common_name or cert.id}",
        [(k, v) for k, v in data.items() if k not in ("altNames", "metadata")]
        + [
            ("altNames", sans),
            ("metadata", ", ".join(f"{k}={v}" for k, v in cert.metadata.items())),
        ],
    )


@kms_command(cert_group, "issue", json=True)
@click.option(
    "--profile",
    "profile_ref",
    default=None,
    help="Profile slug or id (default profile if omitted).",
)
@click.option("--common-name", "--cn", "common_name", default="", help="Subject CN.")
@click.option(
    "--san", "sans", multiple=True, help="dns:NAME, ip:ADDR, email:ADDR or uri:URI (repeatable)."
)
@click.option("--csr", "csr_file", type=click.Path(dir_okay=False, path_type=Path), default=None)
@click.option("--ttl", default=None, help="Validity such as 90d (profile default if omitted).")
@click.option(
    "--key-algorithm", default=None, help="Managed key type (profile default if omitted)."
)
@click.option("-O", "--organization", default="", help="Subject O.")
@click.option("--ou", "organizational_unit", default="", help="Subject OU.")
@click.option("-C", "--country", default="", help="Subject C (two letters).")
@click.option("--state", default="", help="Subject ST.")
@click.option("--locality", default="", help="Subject L.")
@click.option("--signature-algorithm", default=None, help="e.g. ECDSA-SHA384 (its hash is used).")
@click.option("--key-usage", "key_usages", multiple=True, help="e.g. digital_signature.")
@click.option("--eku", "extended_key_usages", multiple=True, help="e.g. server_auth.")
@click.option("--meta", multiple=True, help="Metadata key=value (repeatable).")
@output_options
def issue_command(
    profile_ref: str | None,
    common_name: str,
    sans: tuple[str, ...],
    csr_file: Path | None,
    ttl: str | None,
    key_algorithm: str | None,
    organization: str,
    organizational_unit: str,
    country: str,
    state: str,
    locality: str,
    signature_algorithm: str | None,
    key_usages: tuple[str, ...],
    extended_key_usages: tuple[str, ...],
    meta: tuple[str, ...],
    out: Path | None,
    chain_out: Path | None,
    fullchain_out: Path | None,
    key_out: Path | None,
    as_json: bool,
) -> Action:
    """Issue a certificate from a CSR or with a server-generated key (the profile's policy
    applies, as over the REST API). The certificate goes to --out (or stdout), the chain
    to --chain-out, both to --fullchain-out, a server-generated key only to --key-out
    (0600; '-' for stdout). A notAfter cut to the issuing CA's is warned about on stderr."""
    metadata = parse_pairs(meta, "--meta")
    files = OutputFiles(out, chain_out, fullchain_out, key_out)
    check_outputs(files, csr=csr_file is not None, as_json=as_json)
    csr_pem = csr_file.read_text() if csr_file else None
    request = EnrollRequest(
        profile_ref=profile_ref,
        common_name=common_name,
        sans=tuple(sans),
        csr_pem=csr_pem,
        ttl=ttl,
        key_algorithm=key_algorithm,
        organization=organization,
        organizational_unit=organizational_unit,
        country=country,
        state=state,
        locality=locality,
        signature_algorithm=signature_algorithm,
        key_usages=key_usages or None,
        extended_key_usages=extended_key_usages or None,
        metadata=metadata,
    )

    async def action(services: Services) -> None:
        if key_out is not None:  # refused before anything is issued
            profile = await find_profile(services, profile_ref)
            if not EnrollmentConfig.of(profile).allow_key_export:
                raise CLIError(
                    f"--key-out: the profile {profile.slug!r} does not allow exporting "
                    "private keys (enrollment.api.allowKeyExport is false)"
                )
        issued = (await enroll(services, request)).issued
        await audit_cli(services, "certificate.issue", issued.record)
        echo_warnings(issued.warnings)
        to_stdout = out is None and not as_json
        withheld = await key_withheld(services, issued.record)
        bundle = issued_bundle(issued, key_withheld=withheld)
        write_outputs(files, bundle, certificate_to_stdout=to_stdout)
        if as_json:
            emit_json({**certificate_json(issued.record), "warnings": list(issued.warnings)})
            return
        click.echo(  # on stderr when stdout carries the PEM
            f"Issued {issued.record.serial_hex} ({issued.record.id})"
            f" until {issued.record.not_after:%Y-%m-%d %H:%M:%S} UTC",
            err=to_stdout,
        )

    return action


@kms_command(cert_group, "export")
@click.argument("ref")
@click.option(
    "--format", "fmt", type=click.Choice(["pem", "pkcs12"]), default="pem", show_default=True
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="File (default stdout).",
)
@click.option(
    "--password",
    default=None,
    help="PKCS#12 password (or KMS_EXPORT_PASSWORD).",
    envvar="KMS_EXPORT_PASSWORD",
)
@click.option("--alias", default="", help="PKCS#12 friendly name.")
@click.option("--no-key", is_flag=True, help="Leave the private key out of a PEM export.")
def export_command(
    ref: str, fmt: str, out: Path | None, password: str | None, alias: str, no_key: bool
) -> Action:
    """Export a certificate, its chain and (when held) its key as PEM or PKCS#12."""
    if fmt == "pkcs12" and not password:
        raise CLIError("PKCS#12 export needs --password (or KMS_EXPORT_PASSWORD)")
    if fmt == "pkcs12" and out is None:
        raise CLIError("PKCS#12 is binary: give --out FILE")

    async def action(services: Services) -> None:
        record = await find_certificate(services, ref)
        if fmt == "pkcs12" or not no_key:
            await require_exportable(services, record)  # internal, or allowKeyExport false
        if fmt == "pkcs12":
            assert password is not None
            data = export_pkcs12(services, record, password=password, alias=alias)
        else:
            data = export_pem(services, record, include_key=not no_key).encode()
        if record.encrypted_private_key is not None and not (fmt == "pem" and no_key):
            await audit_cli(services, "certificate.export", record)
        if out is None:
            click.echo(data.decode(), nl=False)
            return
        write_out(out, data)
        click.echo(f"Wrote {out}", err=True)

    return action


@kms_command(cert_group, "revoke", json=True)
@click.argument("ref")
@click.option(
    "--reason",
    type=click.Choice(REASONS, case_sensitive=False),
    default="UNSPECIFIED",
    show_default=True,
)
async def revoke_command(services: Services, ref: str, reason: str, as_json: bool) -> None:
    """Revoke a certificate; its CA's CRL is regenerated at once."""
    record = await find_certificate(services, ref)
    cert = await revoke(services, record, RevocationReason(reason.upper()))
    await audit_cli(services, "certificate.revoke", record, reason=reason.upper())
    if as_json:
        emit_json(certificate_json(cert))
    else:
        assert cert.revoked_at is not None
        click.echo(
            f"Revoked {cert.serial_hex} at {cert.revoked_at.isoformat()} ({cert.revocation_reason})"
        )
