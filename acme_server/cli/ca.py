"""`kms ca list|show|create-root|create-intermediate`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar

import click

from acme_server.cli.common import Action, CLIError, emit_fields, emit_json, emit_table, kms_command
from acme_server.render.cas import render_ca
from acme_server.services.cas.create import CASpec, create_intermediate, create_root, find_ca
from acme_server.services.context import Services
from ca_core.errors import InvalidTTL
from ca_core.ttl import parse_ttl
from pki_types.model import HashAlgorithm, KeyAlgorithm, SubjectAttributes
from store import CARecord

P = ParamSpec("P")
T = TypeVar("T")


@click.group("ca")
def ca_group() -> None:
    """Certificate authorities."""


@kms_command(ca_group, "list", json=True)
async def list_command(services: Services, as_json: bool) -> None:
    """List certificate authorities."""
    cas = await services.store.list_cas()
    if as_json:
        emit_json([render_ca(ca, full=True) for ca in cas])
        return
    emit_table(
        "Certificate authorities",
        ["ID", "Name", "Kind", "Status", "Key", "Not after (UTC)"],
        [
            [ca.id, ca.name, ca.kind, ca.status, ca.key_algorithm, f"{ca.not_after:%Y-%m-%d %H:%M}"]
            for ca in cas
        ],
    )


@kms_command(ca_group, "show", json=True)
@click.argument("ca_ref")
async def show_command(services: Services, ca_ref: str, as_json: bool) -> None:
    """Show one CA (by id or name)."""
    ca = await find_ca(services, ca_ref)
    data = render_ca(ca, full=True)
    if as_json:
        emit_json(data)
        return
    emit_fields(
        f"CA {ca.name}",
        [(k, v) for k, v in data.items() if k not in ("certificate", "certificateChain")],
    )
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
        emit_json(render_ca(ca, full=True))
    else:
        click.echo(
            f"Created {ca.kind} CA {ca.name!r} ({ca.id}), valid until {ca.not_after:%Y-%m-%d}"
        )


@kms_command(ca_group, "create-root", json=True)
@_ca_options
def create_root_command(as_json: bool, **kwargs: Any) -> Action:
    """Create a self-signed root CA."""
    spec = _spec(kwargs, "3650d")

    async def action(services: Services) -> None:
        _print_created(await create_root(services, spec), as_json)

    return action


@kms_command(ca_group, "create-intermediate", json=True)
@click.option("--parent", required=True, help="Id or name of the signing CA.")
@_ca_options
def create_intermediate_command(parent: str, as_json: bool, **kwargs: Any) -> Action:
    """Create an intermediate CA signed by --parent (pathLen 0)."""
    spec = _spec(kwargs, "1825d")

    async def action(services: Services) -> None:
        _print_created(await create_intermediate(services, spec, parent), as_json)

    return action
