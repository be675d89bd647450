"""(facts, policy) -> Verdict with every violation, in a fixed order; never raises.

Order: subject (common name, O, OU, C, ST, L, email), SANs (count, each SAN in request
order, required types), key algorithm, signature algorithm, key usages, extended key usages,
basic constraints, TTL. Within a set, usages and types go in their enum's order.
"""

from __future__ import annotations

from collections.abc import Sequence

from pki_types.model import SubjectAltName
from policy import messages as m
from policy.durations import format_ttl_seconds
from policy.facts import RequestFacts
from policy.messages import Code
from policy.rules import CertificatePolicy
from policy.sans import count_violations, required_violations, san_violations
from policy.subject import subject_violations
from policy.usages import (
    basic_constraints_violations,
    extended_key_usage_violations,
    key_usage_violations,
)
from policy.verdict import Verdict, Violation

__all__ = ["Verdict", "Violation", "check_identifiers", "evaluate"]


def evaluate(facts: RequestFacts, policy: CertificatePolicy) -> Verdict:
    """Check a whole request (finalize, REST enrollment) against a policy."""
    out = subject_violations(facts, policy)
    out += count_violations(facts.sans, policy)
    for san in facts.sans:
        out += san_violations(san, policy)
    out += required_violations(facts.sans, policy)
    out += _algorithm_violations(facts, policy)
    out += key_usage_violations(facts, policy)
    out += extended_key_usage_violations(facts, policy)
    out += basic_constraints_violations(facts)
    out += _ttl_violations(facts, policy)
    return Verdict(tuple(out))


def check_identifiers(identifiers: Sequence[SubjectAltName], policy: CertificatePolicy) -> Verdict:
    """Name rules only, for ACME newOrder (RFC 8555 7.4): each identifier's violations carry
    it, so the caller can build one rejectedIdentifier subproblem per identifier (7.3.3)."""
    out = count_violations(identifiers, policy)
    for identifier in identifiers:
        out += san_violations(identifier, policy)
    return Verdict(tuple(out))


def _algorithm_violations(facts: RequestFacts, policy: CertificatePolicy) -> list[Violation]:
    out: list[Violation] = []
    key = facts.key_algorithm
    if policy.key_algorithms and key not in policy.key_algorithms:
        detail = "unknown" if key is None else key.value
        message = m.with_detail(m.KEY_ALGORITHM_NOT_ALLOWED, detail)
        out.append(Violation(Code.KEY_ALGORITHM_NOT_ALLOWED, message))
    signature = facts.signature_algorithm
    if policy.signature_algorithms and signature not in policy.signature_algorithms:
        detail = "unknown" if signature is None else signature.value
        message = m.with_detail(m.SIGNATURE_ALGORITHM_NOT_ALLOWED, detail)
        out.append(Violation(Code.SIGNATURE_ALGORITHM_NOT_ALLOWED, message))
    return out


def _ttl_violations(facts: RequestFacts, policy: CertificatePolicy) -> list[Violation]:
    limit, ttl = policy.max_ttl_seconds, facts.ttl_seconds
    if limit is None or ttl is None or ttl <= limit:
        return []
    detail = f"{format_ttl_seconds(ttl)} requested, at most {format_ttl_seconds(limit)}"
    return [Violation(Code.TTL_EXCEEDED, m.with_detail(m.TTL_EXCEEDED, detail))]
