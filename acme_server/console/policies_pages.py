"""Certificate policies in the console: the list, one policy's rules, and creating or editing
one with every rule the policy document has (common name and per-SAN-type patterns, SAN
types, wildcards, SAN count, subject attribute rules, key and signature algorithms, key
usages, extended key usages, maximum TTL).

The form is turned into the same policy document REST's body carries (`rules`, policy/rules.py)
and given to services/policies/admin.py, which checks it; its message, which names the
document's key ("rules.sans.dns_name.allowed[0]: ..."), is shown next to that field, the
form kept, status 400, nothing stored. Reach and audit records are REST's.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute

from acme_server.console.forms import checked, lines, text, texts
from acme_server.console.guard import ConsoleRoute, form_of, signed_in
from acme_server.console.templating import page
from acme_server.errors import mapping_of
from acme_server.rest.common import services_of
from acme_server.services import access
from acme_server.services.audit import record
from acme_server.services.errors import ServiceError
from acme_server.services.policies import admin as policy_admin
from acme_server.services.roles import Permission
from pki_types.model import (
    ExtendedKeyUsage,
    KeyAlgorithm,
    KeyUsage,
    SanType,
    SignatureAlgorithm,
    SubjectField,
)
from policy.rules import CertificatePolicy, policy_to_dict
from store import PolicyRecord

TOP = "_top"  # the errors key of a message no field owns
SAN_TYPES = [t.value for t in SanType]
SUBJECT_FIELDS = [f.value for f in SubjectField]
FIELDS = (
    "name",
    "description",
    "commonName.allowed",
    "commonName.denied",
    "commonName.required",
    "commonName",
    *(f"sans.{t}.{side}" for t in SAN_TYPES for side in ("allowed", "denied")),
    "sans",
    "allowedSanTypes",
    "requiredSanTypes",
    "allowWildcards",
    "maxSans",
    *(f"subject.{f}" for f in SUBJECT_FIELDS),
    "subject",
    "keyAlgorithms",
    "signatureAlgorithms",
    "keyUsages.allowed",
    "keyUsages.required",
    "keyUsages",
    "extendedKeyUsages.allowed",
    "extendedKeyUsages.required",
    "extendedKeyUsages",
    "maxTtl",
)


def place_error(message: str, fields: Iterable[str]) -> dict[str, str]:
    """{field: message} for the form field the service's message names first (its leading
    path, e.g. "rules.maxTtl: ..." or "defaults.ttl: ..."), else {"_top": message}."""
    head = message.split(" ", 1)[0].rstrip(":")
    path = head.removeprefix("rules.").split("[", 1)[0]
    best = ""
    for name in fields:
        if (path == name or path.startswith(name + ".")) and len(name) > len(best):
            best = name
    return {best or TOP: message}


def _strings(form: FormData, name: str) -> list[str]:
    return lines(text(form, name))


def rules_of(form: FormData) -> dict[str, Any]:
    """The policy document the form describes (checked by the policy service)."""
    rules: dict[str, Any] = {
        "commonName": {
            "allowed": _strings(form, "commonName.allowed"),
            "denied": _strings(form, "commonName.denied"),
            "required": checked(form, "commonName.required"),
        },
        "sans": {},
        "allowedSanTypes": texts(form, "allowedSanTypes"),
        "requiredSanTypes": texts(form, "requiredSanTypes"),
        "allowWildcards": checked(form, "allowWildcards"),
        "subject": {},
        "keyAlgorithms": texts(form, "keyAlgorithms"),
        "signatureAlgorithms": texts(form, "signatureAlgorithms"),
        "keyUsages": {
            "allowed": texts(form, "keyUsages.allowed"),
            "required": texts(form, "keyUsages.required"),
        },
        "extendedKeyUsages": {
            "allowed": texts(form, "extendedKeyUsages.allowed"),
            "required": texts(form, "extendedKeyUsages.required"),
        },
        "maxTtl": text(form, "maxTtl", 64) or None,
    }
    for san_type in SAN_TYPES:
        allowed = _strings(form, f"sans.{san_type}.allowed")
        denied = _strings(form, f"sans.{san_type}.denied")
        if allowed or denied:
            rules["sans"][san_type] = {"allowed": allowed, "denied": denied}
    for attribute in SUBJECT_FIELDS:
        rule = {
            "required": checked(form, f"subject.{attribute}.required"),
            "patterns": _strings(form, f"subject.{attribute}.patterns"),
            "allowed": checked(form, f"subject.{attribute}.allowed"),
        }
        if rule != {"required": False, "patterns": [], "allowed": True}:
            rules["subject"][attribute] = rule
    max_sans = text(form, "maxSans", 32)
    if max_sans:
        # a number is sent as one; anything else as given, for the policy's own message
        rules["maxSans"] = int(max_sans) if max_sans.isascii() and max_sans.isdigit() else max_sans
    return rules


def _choices() -> dict[str, list[str]]:
    return {
        "san_types": SAN_TYPES,
        "subject_fields": SUBJECT_FIELDS,
        "key_algorithms": [k.value for k in KeyAlgorithm],
        "signature_algorithms": [s.value for s in SignatureAlgorithm],
        "key_usages": [u.value for u in KeyUsage],
        "extended_key_usages": [u.value for u in ExtendedKeyUsage],
    }


def _form_page(
    request: Request,
    *,
    policy: PolicyRecord | None,
    values: dict[str, Any],
    errors: dict[str, str],
    status: int = 200,
) -> Response:
    context = {"policy": policy, "values": values, "errors": errors, **_choices()}
    return page(request, "policy_form.html", context, status=status)


def _values(name: str, description: str, rules: dict[str, Any]) -> dict[str, Any]:
    """What the form shows: the name, the description and the whole rules document."""
    return {"name": name, "description": description, "rules": rules}


async def policies_page(request: Request) -> Response:
    """GET /ui/policies -- the certificate policies the caller reaches, by name."""
    services = services_of(request)
    seen = await access.visible(services, signed_in(request).principal, "policy")
    policies = [p for p in await services.store.list_policies() if seen is None or p.id in seen]
    profiles = await services.store.list_profiles()
    used = {p.id: [f.slug for f in profiles if f.policy_id == p.id] for p in policies}
    documents = [policy_admin.policy_document(p) for p in policies]
    return page(request, "policies.html", {"policies": documents, "used": used})


async def policy_page(request: Request) -> Response:
    """GET /ui/policies/{policy_id} -- one policy's rules and the profiles using it."""
    me = signed_in(request)
    services = services_of(request)
    policy = await access.policy(services, me.principal, request.path_params["policy_id"])
    seen = await access.visible(services, me.principal, "profile")
    profiles = [
        p
        for p in await services.store.list_profiles()
        if p.policy_id == policy.id and (seen is None or p.id in seen)
    ]
    document = policy_admin.policy_document(policy)
    context = {
        "policy": document,
        "profiles": profiles,
        "document_json": json.dumps(document["rules"], indent=2),
        "saved": request.query_params.get("saved") == "1",
    }
    return page(request, "policy.html", context)


async def new_policy_page(request: Request) -> Response:
    """GET/POST /ui/policies/new -- create a policy (errors in place, nothing stored)."""
    if request.method == "GET":
        blank = policy_to_dict(CertificatePolicy())
        return _form_page(request, policy=None, values=_values("", "", blank), errors={})
    me = signed_in(request)
    form = form_of(request)
    name, description = text(form, "name", 1024), text(form, "description", 8192)
    rules = rules_of(form)
    services = services_of(request)
    try:
        policy = await policy_admin.create_policy(
            services, name=name, rules=rules, description=description
        )
    except ServiceError as exc:
        errors = place_error(str(exc), FIELDS)
        values = _values(name, description, rules)
        return _form_page(
            request, policy=None, values=values, errors=errors, status=mapping_of(exc).rest_status
        )
    await record(
        services,
        actor=me.principal.actor,
        action="policy.create",
        target_type="policy",
        target_id=policy.id,
        details={"name": policy.name},
    )
    return RedirectResponse(f"/ui/policies/{policy.id}?saved=1", status_code=303)


async def edit_policy_page(request: Request) -> Response:
    """GET/POST /ui/policies/{policy_id}/edit -- change a policy (rules replaced whole)."""
    me = signed_in(request)
    services = services_of(request)
    policy = await policy_admin.find_policy(services, request.path_params["policy_id"])
    if request.method == "GET":
        values = _values(policy.name, policy.description, policy_admin.normalised(policy.rules))
        return _form_page(request, policy=policy, values=values, errors={})
    form = form_of(request)
    name, description = text(form, "name", 1024), text(form, "description", 8192)
    rules = rules_of(form)
    try:
        updated = await policy_admin.update_policy(
            services, policy, name=name, description=description, rules=rules
        )
    except ServiceError as exc:
        errors = place_error(str(exc), FIELDS)
        values = _values(name, description, rules)
        status = mapping_of(exc).rest_status
        return _form_page(request, policy=policy, values=values, errors=errors, status=status)
    await record(
        services,
        actor=me.principal.actor,
        action="policy.update",
        target_type="policy",
        target_id=policy.id,
        details={"name": updated.name, "fields": ["description", "name", "rules"]},
    )
    return RedirectResponse(f"/ui/policies/{policy.id}?saved=1", status_code=303)


def routes() -> list[BaseRoute]:
    return [
        ConsoleRoute("/ui/policies", policies_page, ["GET"], Permission.POLICY_READ),
        ConsoleRoute(
            "/ui/policies/new", new_policy_page, ["GET", "POST"], Permission.POLICY_MANAGE
        ),
        ConsoleRoute("/ui/policies/{policy_id}", policy_page, ["GET"], Permission.POLICY_READ),
        ConsoleRoute(
            "/ui/policies/{policy_id}/edit",
            edit_policy_page,
            ["GET", "POST"],
            Permission.POLICY_MANAGE,
        ),
    ]
