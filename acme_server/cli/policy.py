"""`kms policy create|list|show|update|delete`: certificate policies, through the same
service layer as the REST API (services/policies/admin.py), audited as actor "cli"."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import ParamSpec, TypeVar

import click

from acme_server.cli.common import (
    Action,
    CLIError,
    emit_fields,
    emit_json,
    emit_table,
    kms_command,
)
from acme_server.services.audit import ACTOR_CLI, record
from acme_server.services.context import Services
from acme_server.services.policies import admin as policy_admin
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
        help="A file holding the policy JSON document (the rules below).",
    )(func)


RULES_HELP = """\b
The rules: a JSON object; every key is optional, null is its default, {} allows every leaf.
  commonName           {"allowed": ["*.example.com"], "denied": ["admin.example.com"],
                        "required": true}  (matched as a DNS name)
  sans                 {"dns_name": {"allowed": ["*.example.com"], "denied": []},
                        "ip_address": {"allowed": ["10.0.0.0/8"]},
                        "email": {"allowed": ["*@example.com"]}, "uri": {...}}
  allowedSanTypes      ["dns_name", "ip_address"]  (default: all four; []: no SANs)
  requiredSanTypes     ["dns_name"]
  allowWildcards       false  (default true)
  maxSans              10
  subject              {"organization": {"required": true, "patterns": ["Acme*"]},
                        "locality": {"allowed": false}}  (also organizational_unit,
                        country, state, email)
  keyAlgorithms        ["EC_P256", "RSA_3072"]  (RSA_2048/3072/4096, EC_P256/P384/P521)
  signatureAlgorithms  ["ECDSA-SHA256", "RSA-SHA256"]  (RSA- or ECDSA- SHA256/384/512)
  keyUsages            {"allowed": ["digital_signature", "key_encipherment"],
                        "required": ["digital_signature"]}
  extendedKeyUsages    {"allowed": ["server_auth", "client_auth"],
                        "required": ["server_auth"]}
  maxTtl               "90d"  (s, m, h, d, w or y; or whole seconds)

\b
Patterns: *.example.com (exactly one whole label), re:REGEX (a full, case-insensitive
match), an IP address or CIDR network (IP SANs), *@example.com (email), else the exact
value. Denied beats allowed; an empty allowed list allows any value.
  kms policy create --name web --rules-json '{"sans": {"dns_name": {"allowed":
    ["*.example.com"]}}, "allowedSanTypes": ["dns_name"], "maxTtl": "90d"}'
docs/policies.md has every rule with an example.
"""
"""The epilog of `kms policy create --help` and `update --help`."""


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


@kms_command(policy_group, "create", json=True)
@click.option("--name", required=True, help="Unique name of the policy.")
@click.option("--description", default="", help="Free text.")
@_rules_options
def create_command(
    name: str,
    description: str,
    rules_file: Path | None,
    rules_json: str | None,
    as_json: bool,
) -> Action:
    """Create a policy from a JSON rules document (--rules FILE or --rules-json TEXT)."""
    rules = read_rules(rules_file, rules_json)
    if isinstance(rules, Unset):
        raise CLIError("give the rules with --rules FILE or --rules-json TEXT ('{}' allows all)")

    async def action(services: Services) -> None:
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
        _show(policy, as_json, f"Created policy {policy.name!r} ({policy.id})")

    return action


create_command.epilog = RULES_HELP


@kms_command(policy_group, "list", json=True)
async def list_command(services: Services, as_json: bool) -> None:
    """List policies."""
    policies = await services.store.list_policies()
    if as_json:
        emit_json([policy_admin.policy_document(p) for p in policies])
        return
    emit_table(
        "Certificate policies",
        ["ID", "Name", "Max TTL", "Description"],
        [[p.id, p.name, p.rules.get("maxTtl") or "", p.description] for p in policies],
    )


@kms_command(policy_group, "show", json=True)
@click.argument("policy_ref")
async def show_command(services: Services, policy_ref: str, as_json: bool) -> None:
    """Show one policy (by id or name) with its rules."""
    _show(await policy_admin.find_policy(services, policy_ref), as_json)


@kms_command(policy_group, "update", json=True)
@click.argument("policy_ref")
@click.option("--name", default=None, help="A new name.")
@click.option("--description", default=None, help="A new description.")
@_rules_options
def update_command(
    policy_ref: str,
    name: str | None,
    description: str | None,
    rules_file: Path | None,
    rules_json: str | None,
    as_json: bool,
) -> Action:
    """Change a policy's name, description or rules (the rules are replaced whole)."""
    rules = read_rules(rules_file, rules_json)
    if name is None and description is None and isinstance(rules, Unset):
        raise CLIError("nothing to change: give --name, --description, --rules or --rules-json")

    async def action(services: Services) -> None:
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
        _show(updated, as_json, f"Updated policy {updated.name!r}")

    return action


update_command.epilog = RULES_HELP


@kms_command(policy_group, "delete", json=True)
@click.argument("policy_ref")
async def delete_command(services: Services, policy_ref: str, as_json: bool) -> None:
    """Delete a policy that no profile uses."""
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
    if as_json:
        emit_json({"deleted": policy_admin.policy_document(policy)})
    else:
        click.echo(f"Deleted policy {policy.name!r} ({policy.id})")
