"""`kms ca list|show|create-root|create-intermediate`."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

import click

from acme_server.cli.common import (
    CLIError,
    build_settings,
    emit_fields,
    emit_json,
    emit_table,
    json_option,
    run,
    settings_options,
    with_services,
)
from acme_server.services.authorities import CASpec, create_intermediate, create_root, find_ca
from acme_server.services.context import Services
from ca_core.errors import InvalidTTL
from ca_core.ttl import parse_ttl
from pki_types.model import HashAlgorithm, KeyAlgorithm, SubjectAttributes
from store import CARecord

P = ParamSpec("P")
T = TypeVar("T")


def ca_json(ca: CARecord) -> dict[str, Any]:
    return {
        "id": ca.id,
        "name": ca.name,
        "kind": ca.kind,
        "parentId": ca.parent_id,
        "status": ca.status,
        "subject": ca.subject,
        "keyAlgorithm": ca.key_algorithm,
        "hashAlgorithm": ca.hash_algorithm,
        "serialNumber": ca.serial_hex,
        "notBefore": ca.not_before.isoformat(),
        "notAfter": ca.not_after.isoformat(),
        "crlNumber": ca.crl_number,
        "crlDistributionUrl": ca.crl_distribution_url,
        "aiaIssuerUrl": ca.aia_issuer_url,
        "certificate": ca.certificate_pem,
    }


@click.group("ca")
def ca_group() -> None:
    """Certificate authorities."""


@ca_group.command("list")
@settings_options
@json_option
def list_command(
    data_dir: Path | None, database_url: str | None, config_file: Path | None, as_json: bool
) -> None:
    """List certificate authorities."""
    settings = build_settings(config_file, data_dir=data_dir, database_url=database_url)

    async def action(services: Services) -> list[CARecord]:
        return await services.store.list_cas()

    cas = run(with_services(settings, action))
    if as_json:
        emit_json([ca_json(ca) for ca in cas])
        return
    emit_table(
        "Certificate authorities",
        ["ID", "Name", "Kind", "Status", "Key", "Not after (UTC)"],
        [
            [ca.id, ca.name, ca.kind, ca.status, ca.key_algorithm, f"{ca.not_after:%Y-%m-%d %H:%M}"]
            for ca in cas
        ],
    )


@ca_group.command("show")
@click.argument("ca_ref")
@settings_options
@json_option
def show_command(
    ca_ref: str,
    data_dir: Path | None,
    database_url: str | None,
    config_file: Path | None,
    as_json: bool,
) -> None:
    """Show one CA (by id or name)."""
    settings = build_settings(config_file, data_dir=data_dir, database_url=database_url)

    async def action(services: Services) -> CARecord:
        return await find_ca(services, ca_ref)

    ca = run(with_services(settings, action))
    data = ca_json(ca)
    if as_json:
        emit_json(data)
        return
    emit_fields(f"CA {ca.name}", [(k, v) for k, v in data.items() if k != "certificate"])
    click.echo(ca.certificate_pem, nl=False)


def _ca_options(func: Callable[P, T]) -> Callable[P, T]:
    options = [
        click.option("--name", required=True, help="Unique name of the CA."),
        click.option(
            "--common-name", "--cn", "common_name", default=None, help="CN (default: the name)."
        ),
        click.option("--organization", "-O", default="", help="O="),
        click.option(
            "--organizational-unit", "--ou", "organizational_unit", default="", help="OU="
        ),
        click.option("--country", "-C", default="", help="C= (two letters)"),
        click.option("--state", "--st", "state", default="", help="ST="),
        click.option("--locality", "-L", default="", help="L="),
        click.option(
            "--key-algorithm",
            type=click.Choice([k.value for k in KeyAlgorithm]),
            default=KeyAlgorithm.EC_P384.value,
            show_default=True,
        ),
        click.option(
            "--hash-algorithm",
            type=click.Choice([h.value for h in HashAlgorithm]),
            default=HashAlgorithm.SHA384.value,
            show_default=True,
        ),
        click.option(
            "--ttl",
            default=None,
            help="Validity, e.g. 3650d (root default) or 1825d (intermediate default).",
        ),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def _spec(kwargs: dict[str, Any], default_ttl: str) -> CASpec:
    try:
        validity = parse_ttl(kwargs["ttl"] or default_ttl)
    except InvalidTTL as exc:
        raise CLIError(str(exc)) from None
    return CASpec(
        name=kwargs["name"],
        subject=SubjectAttributes(
            common_name=kwargs["common_name"] or kwargs["name"],
            organization=kwargs["organization"],
            organizational_unit=kwargs["organizational_unit"],
            country=kwargs["country"],
            state=kwargs["state"],
            locality=kwargs["locality"],
        ),
        key_algorithm=KeyAlgorithm(kwargs["key_algorithm"]),
        hash_algorithm=HashAlgorithm(kwargs["hash_algorithm"]),
        validity=validity,
    )


def _print_created(ca: CARecord, as_json: bool) -> None:
    if as_json:
        emit_json(ca_json(ca))
    else:
        click.echo(
            f"Created {ca.kind} CA {ca.name!r} ({ca.id}), valid until {ca.not_after:%Y-%m-%d}"
        )


@ca_group.command("create-root")
@_ca_options
@settings_options
@json_option
def create_root_command(
    data_dir: Path | None,
    database_url: str | None,
    config_file: Path | None,
    as_json: bool,
    **kwargs: Any,
) -> None:
    """Create a self-signed root CA."""
    spec = _spec(kwargs, "3650d")
    settings = build_settings(config_file, data_dir=data_dir, database_url=database_url)

    async def action(services: Services) -> CARecord:
        return await create_root(services, spec)

    _print_created(run(with_services(settings, action)), as_json)


@ca_group.command("create-intermediate")
@click.option("--parent", required=True, help="Id or name of the signing CA.")
@_ca_options
@settings_options
@json_option
def create_intermediate_command(
    parent: str,
    data_dir: Path | None,
    database_url: str | None,
    config_file: Path | None,
    as_json: bool,
    **kwargs: Any,
) -> None:
    """Create an intermediate CA signed by --parent (pathLen 0)."""
    spec = _spec(kwargs, "1825d")
    settings = build_settings(config_file, data_dir=data_dir, database_url=database_url)

    async def action(services: Services) -> CARecord:
        return await create_intermediate(services, spec, parent)

    _print_created(run(with_services(settings, action)), as_json)
