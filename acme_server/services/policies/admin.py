"""Certificate policies as an administrator manages them (REST and `kms policy`).

The rules are the policy JSON document of policy/rules.py. They are checked with
`policy_from_dict` and stored in their full, normalised form (`policy_to_dict`), so what
a caller reads back is exactly what issuance enforces, every default spelled out.
Error messages name the field: `name`, `description`, `rules.<path>`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from acme_server.services.context import Services
from acme_server.services.errors import ConflictError, InvalidRequestError, NotFoundError
from policy.rules import PolicyError, policy_from_dict, policy_to_dict
from store import UNSET, Conflict, NotFound, PolicyRecord, Unset

NAME_MAX = 255  # schema: certificate_policies.name
DESCRIPTION_MAX = 4096


def check_name(name: str) -> str:
    name = name.strip()
    if not name or len(name) > NAME_MAX:
        raise InvalidRequestError(f"name must be 1-{NAME_MAX} characters")
    return name


def check_description(description: str) -> str:
    if len(description) > DESCRIPTION_MAX:
        raise InvalidRequestError(f"description must be at most {DESCRIPTION_MAX} characters")
    return description


def check_rules(rules: object) -> dict[str, Any]:
    """The normalised policy document, or InvalidRequestError naming the bad key."""
    try:
        return policy_to_dict(policy_from_dict(rules))
    except PolicyError as exc:
        message = str(exc)
        if message.startswith("policy: "):
            message = "rules: " + message.removeprefix("policy: ")
        else:
            message = "rules." + message
        raise InvalidRequestError(message) from None


async def find_policy(services: Services, ref: str) -> PolicyRecord:
    """A policy by id or by name."""
    try:
        return await services.store.get_policy(ref)
    except NotFound:
        pass
    try:
        return await services.store.get_policy_by_name(ref)
    except NotFound:
        raise NotFoundError(f"no certificate policy with id or name {ref!r}") from None


async def create_policy(
    services: Services, *, name: str, rules: object, description: str = ""
) -> PolicyRecord:
    name = check_name(name)
    document = check_rules(rules)
    try:
        return await services.store.create_policy(
            name=name, description=check_description(description), rules=document
        )
    except Conflict:
        raise ConflictError(f"a certificate policy named {name!r} already exists") from None


async def update_policy(
    services: Services,
    policy: PolicyRecord,
    *,
    name: str | Unset = UNSET,
    description: str | Unset = UNSET,
    rules: object | Unset = UNSET,
) -> PolicyRecord:
    """Change the given fields; the rules are replaced as a whole document."""
    new_name = name if isinstance(name, Unset) else check_name(name)
    try:
        return await services.store.update_policy(
            policy.id,
            name=new_name,
            description=description
            if isinstance(description, Unset)
            else check_description(description),
            rules=rules if isinstance(rules, Unset) else check_rules(rules),
        )
    except Conflict:
        raise ConflictError(f"a certificate policy named {new_name!r} already exists") from None
    except NotFound:
        raise NotFoundError(f"no certificate policy with id {policy.id!r}") from None


async def delete_policy(services: Services, policy: PolicyRecord) -> None:
    """Refused (ConflictError) while a profile uses the policy."""
    try:
        await services.store.delete_policy(policy.id)
    except Conflict:
        users = [p.slug for p in await services.store.list_profiles() if p.policy_id == policy.id]
        raise ConflictError(
            f"certificate policy {policy.name!r} is used by profile(s) {', '.join(users)}; "
            "move them to another policy first"
        ) from None
    except NotFound:
        raise NotFoundError(f"no certificate policy with id {policy.id!r}") from None


def normalised(rules: dict[str, Any]) -> dict[str, Any]:
    """The full document of stored rules (policies stored before this API may be partial);
    rules that no longer read are shown as stored."""
    try:
        return policy_to_dict(policy_from_dict(rules))
    except PolicyError:
        return rules


def policy_document(policy: PolicyRecord) -> dict[str, Any]:
    """The policy as the REST API and `kms policy --json` show it."""
    return {
        "id": policy.id,
        "name": policy.name,
        "description": policy.description,
        "rules": normalised(policy.rules),
        "createdAt": iso(policy.created_at),
        "updatedAt": iso(policy.updated_at),
    }


def iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")
