"""Subject rules: the common name, then O, OU, C, ST, L and emailAddress, in that order.

A value of only white space counts as missing for `required`, and is still checked against
the patterns. The common name is matched as a DNS name (see `names.py`) against
`common_name` and, so that a name denied as a DNS SAN cannot come in as the CN instead,
against the DNS SAN deny patterns too.
"""

from __future__ import annotations

from pki_types.model import SanType, SubjectField
from policy import messages as m
from policy.facts import RequestFacts
from policy.messages import Code
from policy.names import Judgement, NameKind, is_wildcard, judge
from policy.rules import AttributeRule, CertificatePolicy
from policy.verdict import Violation


def subject_violations(facts: RequestFacts, policy: CertificatePolicy) -> list[Violation]:
    out = common_name_violations(facts.subject.common_name, policy)
    for attribute in SubjectField:
        value = (
            facts.email_address
            if attribute is SubjectField.EMAIL
            else str(getattr(facts.subject, attribute.value))
        )
        out += attribute_violations(attribute, value, policy.attribute_rule(attribute))
    return out


def common_name_violations(value: str, policy: CertificatePolicy) -> list[Violation]:
    out: list[Violation] = []
    if not value.strip() and policy.require_common_name:
        message = m.MISSING_ATTRIBUTE.format(attribute=m.COMMON_NAME)
        out.append(Violation(Code.MISSING_ATTRIBUTE, message))
    if not value:
        return out
    if not policy.allow_wildcards and is_wildcard(value):
        message = m.with_detail(m.WILDCARD_NOT_ALLOWED, m.show(value))
        out.append(Violation(Code.WILDCARD_NOT_ALLOWED, message))
    rules = policy.common_name
    denied = rules.denied + policy.san_rules(SanType.DNS).denied
    judgement = judge(NameKind.DNS, value, rules.allowed, denied)
    message = m.with_detail(m.ATTRIBUTE_MISMATCH.format(attribute=m.COMMON_NAME), m.show(value))
    if judgement is Judgement.DENIED:
        out.append(Violation(Code.ATTRIBUTE_DENIED, message))
    elif judgement is Judgement.NOT_ALLOWED:
        out.append(Violation(Code.ATTRIBUTE_NOT_ALLOWED, message))
    return out


def attribute_violations(
    attribute: SubjectField, value: str, rule: AttributeRule
) -> list[Violation]:
    name = m.ATTRIBUTE_NAMES[attribute]
    out: list[Violation] = []
    if not value.strip() and rule.required:
        out.append(Violation(Code.MISSING_ATTRIBUTE, m.MISSING_ATTRIBUTE.format(attribute=name)))
    if not value:
        return out
    kind = NameKind.EMAIL if attribute is SubjectField.EMAIL else NameKind.TEXT
    if not rule.allowed or judge(kind, value, rule.patterns, ()) is not Judgement.OK:
        message = m.with_detail(m.ATTRIBUTE_MISMATCH.format(attribute=name), m.show(value))
        out.append(Violation(Code.ATTRIBUTE_NOT_ALLOWED, message))
    return out
