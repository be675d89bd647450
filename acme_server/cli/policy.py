"""`kms policy create|list|show|update|delete`: certificate policies, through the same
service layer as the REST API (services/policy_admin.py), audited as actor "cli"."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import ParamSpec, TypeVar

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
from acme_server.services import policy_admin
from acme_server.services.audit import ACTOR_CLI, record
from acme_server.services.context import Services
from store import UNSET, PolicyRecord, Unset

P = ParamSpec("P")
T = TypeVar("T")


def read_rules(rules_file: Path | None, rules_json: str | None) -> object | Unset:
    """The policy document from --rules FILE or --rules-json TEXT (not both)."""
    if rules_file is not None and rules_json is not None:
        raise CLIError("give --rules or --rules-json, not both")
    if rules_file is None and rules_json is None:
        return UNSET
    try:
        text = rules_file.read_text() if rules_file is not None else str(rules_json)
    except OSError as exc:
        raise CLIError(f"cannot read {rules_file}: {exc.strerror}") from None
    try:
        document: object = json.loads(text)
    except ValueError as exc:
        raise CLIError(f"the rules are not valid JSON: {exc}") from None
    return document


def _rules_options(func: Callable[P, T]) -> Callable[P, T]:
    func = click.option("--rules-json", default=None, help="The policy JSON document as text.")(
        func
    )
    return click.option(
        "--rules",
        "rules_file",
        type=click.Path(dir_okay=False, path_type=Path),
        default=None,
        help="A file holding the policy JSON document (see policy/rules.py).",
    )(func)


def _show(policy: PolicyRecord, as_json: bool, headline: str | None = None) -> None:
    data = policy_admin.policy_document(policy)
    if as_json:
        emit_json(data)
        return
    if headline:
        click.echo(headline)
    emit_fields(
        f"Policy {policy.name}",
        [(k, v) for k, v in data.items() if k != "rules"],
    )
    click.echo(json.dumps(policy.rules, indent=2))


@click.group("policy")
def policy_group() -> None:
    """Certificate policies: what certificates may contain."""


@policy_group.command("create")
@click.option("--name", required=True, help="Unique name of the policy.")
@click.option("--description", default="", help="Free text.")
@_rules_options
@settings_options
@json_option
def create_command(
    name: str,
    description: str,
    rules_file: Path | None,
    rules_json: str | None,
    data_dir: Path | None,
    database_url: str | None,
    config_file: Path | None,
    as_json: bool,
) -> None:
    """Create a policy from a JSON rules document (--rules FILE or --rules-json TEXT)."""
    rules = read_rules(rules_file, rules_json)
    if isinstance(rules, Unset):
        raise CLIError("give the rules with --rules FILE or --rules-json TEXT ('{}' allows all)")
    settings = build_settings(config_file, data_dir=data_dir, database_url=database_url)

    async def action(services: Services) -> PolicyRecord:
        policy = await policy_admin.create_policy(
            services, name=name, rules=rules, description=description
        )
        await record(
            services,
            actor=ACTOR_CLI,
            action="policy.create",
            target_type="policy",
            target_id=policy.id,
            details={"name": policy.name},
        )
        return policy

    policy = run(with_services(settings, action))
    _show(policy, as_json, f"Created policy {policy.name!r} ({policy.id})")


@policy_group.command("list")
@settings_options
@json_option
def list_command(
    data_dir: Path | None, database_url: str | None, config_file: Path | None, as_json: bool
) -> None:
    """List policies."""
    settings = build_settings(config_file, data_dir=data_dir, database_url=database_url)

    async def action(services: Services) -> list[PolicyRecord]:
        return await services.store.list_policies()

    policies = run(with_services(settings, action))
    if as_json:
        emit_json([policy_admin.policy_document(p) for p in policies])
        return
    emit_table(
        "Certificate policies",
        ["ID", "Name", "Max TTL", "Description"],
        [[p.id, p.name, p.rules.get("maxTtl") or "", p.description] for p in policies],
    )


@policy_group.command("show")
@click.argument("policy_ref")
@settings_options
@json_option
def show_command(
    policy_ref: str,
    data_dir: Path | None,
    database_url: str | None,
    config_file: Path | None,
    as_json: bool,
) -> None:
    """Show one policy (by id or name) with its rules."""
    settings = build_settings(config_file, data_dir=data_dir, database_url=database_url)

    async def action(services: Services) -> PolicyRecord:
        return await policy_admin.find_policy(services, policy_ref)

    _show(run(with_services(settings, action)), as_json)


@policy_group.command("update")
@click.argument("policy_ref")
@click.option("--name", default=None, help="A new name.")
@click.option("--description", default=None, help="A new description.")
@_rules_options
@settings_options
@json_option
def update_command(
    policy_ref: str,
    name: str | None,
    description: str | None,
    rules_file: Path | None,
    rules_json: str | None,
    data_dir: Path | None,
    database_url: str | None,
    config_file: Path | None,
    as_json: bool,
) -> None:
    """Change a policy's name, description or rules (the rules are replaced whole)."""
    rules = read_rules(rules_file, rules_json)
    if name is None and description is None and isinstance(rules, Unset):
        raise CLIError("nothing to change: give --name, --description, --rules or --rules-json")
    settings = build_settings(config_file, data_dir=data_dir, database_url=database_url)

    async def action(services: Services) -> PolicyRecord:
        policy = await policy_admin.find_policy(services, policy_ref)
        updated = await policy_admin.update_policy(
            services,
            policy,
            name=UNSET if name is None else name,
            description=UNSET if description is None else description,
            rules=rules,
        )
        fields = [
            f
            for f, v in (("name", name), ("description", description), ("rules", rules))
            if v is not None and not isinstance(v, Unset)
        ]
        await record(
            services,
            actor=ACTOR_CLI,
            action="policy.update",
            target_type="policy",
            target_id=policy.id,
            details={"name": updated.name, "fields": fields},
        )
        return updated

    policy = run(with_services(settings, action))
    _show(policy, as_json, f"Updated policy {policy.name!r}")


@policy_group.command("delete")
@click.argument("policy_ref")
@settings_options
@json_option
def delete_command(
    policy_ref: str,
    data_dir: Path | None,
    database_url: str | None,
    config_file: Path | None,
    as_json: bool,
) -> None:
    """Delete a policy that no profile uses."""
    settings = build_settings(config_file, data_dir=data_dir, database_url=database_url)

    async def action(services: Services) -> PolicyRecord:
        policy = await policy_admin.find_policy(services, policy_ref)
        await policy_admin.delete_policy(services, policy)
        await record(
            services,
            actor=ACTOR_CLI,
            action="policy.delete",
            target_type="policy",
            target_id=policy.id,
            details={"name": policy.name},
        )
        return policy

    policy = run(with_services(settings, action))
    if as_json:
        emit_json({"deleted": policy_admin.policy_document(policy)})
    else:
        click.echo(f"Deleted policy {policy.name!r} ({policy.id})")
