"""SAN rules: type allowed, wildcard, allowed/denied patterns, required types, count.

Shared by `evaluate` (a whole request) and `check_identifiers` (ACME newOrder), so both give
the same message for the same name. A SAN's own violations carry it as `identifier`.
"""

from __future__ import annotations

from collections.abc import Sequence

from pki_types.model import SanType, SubjectAltName
from policy import messages as m
from policy.messages import Code
from policy.names import KIND_OF_SAN, Judgement, is_wildcard, judge
from policy.rules import CertificatePolicy
from policy.verdict import Violation


def count_violations(sans: Sequence[SubjectAltName], policy: CertificatePolicy) -> list[Violation]:
    if policy.max_sans is None or len(sans) <= policy.max_sans:
        return []
    detail = f"{len(sans)} requested, at most {policy.max_sans}"
    return [Violation(Code.TOO_MANY_SANS, m.with_detail(m.TOO_MANY_SANS, detail))]


def san_violations(san: SubjectAltName, policy: CertificatePolicy) -> list[Violation]:
    """The violations of one SAN: its type, then wildcard, then its patterns."""
    sentinel = m.SAN_NOT_ALLOWED.format(type=m.SAN_TYPE_NAMES[san.type])
    message = m.with_detail(sentinel, m.show(san.value))
    if san.type not in policy.allowed_san_types:
        return [Violation(Code.SAN_TYPE_NOT_ALLOWED, message, san)]
    out: list[Violation] = []
    if san.type is SanType.DNS and not policy.allow_wildcards and is_wildcard(san.value):
        wildcard = m.with_detail(m.WILDCARD_NOT_ALLOWED, m.show(san.value))
        out.append(Violation(Code.WILDCARD_NOT_ALLOWED, wildcard, san))
    rules = policy.san_rules(san.type)
    judgement = judge(KIND_OF_SAN[san.type], san.value, rules.allowed, rules.denied)
    if judgement is Judgement.DENIED:
        out.append(Violation(Code.SAN_DENIED, message, san))
    elif judgement is Judgement.NOT_ALLOWED:
        out.append(Violation(Code.SAN_NOT_ALLOWED, message, san))
    return out


def required_violations(
    sans: Sequence[SubjectAltName], policy: CertificatePolicy
) -> list[Violation]:
    present = {san.type for san in sans}
    return [
        Violation(Code.SAN_REQUIRED, m.SAN_REQUIRED.format(type=m.SAN_TYPE_NAMES[t]))
        for t in SanType
        if t in policy.required_san_types and t not in present
    ]
