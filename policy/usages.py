"""Key usages, extended key usages and basic constraints (RFC 5280 4.2.1.3, 4.2.1.9, 4.2.1.12).

Leaves only: CA:TRUE is refused whatever the policy, and so is keyCertSign, which RFC 5280
4.2.1.3 allows only together with CA:TRUE.
"""

from __future__ import annotations

from typing import TypeVar

from pki_types.model import ExtendedKeyUsage, KeyUsage
from policy import messages as m
from policy.facts import RequestFacts
from policy.messages import Code
from policy.rules import CertificatePolicy, UsageRules
from policy.verdict import Violation

U = TypeVar("U", KeyUsage, ExtendedKeyUsage)


def key_usage_violations(facts: RequestFacts, policy: CertificatePolicy) -> list[Violation]:
    return _usage_violations(
        KeyUsage,
        facts.key_usages,
        policy.key_usages,
        (Code.KEY_USAGE_NOT_ALLOWED, m.KEY_USAGE_NOT_ALLOWED),
        (Code.KEY_USAGE_REQUIRED, m.KEY_USAGE_REQUIRED),
    )


def extended_key_usage_violations(
    facts: RequestFacts, policy: CertificatePolicy
) -> list[Violation]:
    return _usage_violations(
        ExtendedKeyUsage,
        facts.extended_key_usages,
        policy.extended_key_usages,
        (Code.EXTENDED_KEY_USAGE_NOT_ALLOWED, m.EXTENDED_KEY_USAGE_NOT_ALLOWED),
        (Code.EXTENDED_KEY_USAGE_REQUIRED, m.EXTENDED_KEY_USAGE_REQUIRED),
    )


def basic_constraints_violations(facts: RequestFacts) -> list[Violation]:
    if facts.is_ca:
        return [Violation(Code.CA_NOT_ALLOWED, m.CA_NOT_ALLOWED)]
    if KeyUsage.KEY_CERT_SIGN in facts.key_usages:
        detail = f"key usage {KeyUsage.KEY_CERT_SIGN.value} is only for CA certificates"
        return [Violation(Code.CA_NOT_ALLOWED, m.with_detail(m.CA_NOT_ALLOWED, detail))]
    return []


def _usage_violations(
    cls: type[U],
    requested: frozenset[U],
    rules: UsageRules[U],
    not_allowed: tuple[Code, str],
    required: tuple[Code, str],
) -> list[Violation]:
    out = [
        Violation(not_allowed[0], not_allowed[1].format(usage=u.value))
        for u in cls
        if u in requested and rules.allowed and u not in rules.allowed
    ]
    out += [
        Violation(required[0], required[1].format(usage=u.value))
        for u in cls
        if u in rules.required and u not in requested
    ]
    return out
