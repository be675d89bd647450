"""Properties: deny always wins, the permissive policy accepts anything, nothing ever raises."""

from __future__ import annotations

from dataclasses import replace

from hypothesis import given, settings
from hypothesis import strategies as st

from pki_types.model import KeyUsage, SanType, SubjectAltName, SubjectAttributes
from policy.evaluate import check_identifiers, evaluate
from policy.facts import RequestFacts
from policy.messages import Code
from policy.names import KIND_OF_SAN, NameKind, matches
from policy.rules import CertificatePolicy, NameRules
from policy.verdict import Verdict
from tests.policy.strategies import (
    PATTERNS_BY_TYPE,
    VALUES_BY_TYPE,
    dns_names,
    facts,
    matching_pattern,
    policies,
    sans_of,
    typed_sans,
    weird_text,
)

DENIED_CODES = {Code.SAN_DENIED, Code.SAN_TYPE_NOT_ALLOWED}


@st.composite
def denied_cases(draw: st.DrawFn) -> tuple[SubjectAltName, str]:
    """A SAN and a deny pattern built to match it (exact, glob, regex, CIDR, *@domain)."""
    san_type = draw(st.sampled_from(list(SanType)))
    value = draw(VALUES_BY_TYPE[san_type])
    return SubjectAltName(san_type, value), draw(matching_pattern(san_type, value))


def _denied(verdict: Verdict, san: SubjectAltName) -> bool:
    return any(v.identifier == san and v.code in DENIED_CODES for v in verdict.violations)


@settings(max_examples=150)
@given(case=denied_cases(), base=policies(), others=st.lists(typed_sans, max_size=3))
def test_a_name_a_deny_pattern_matches_is_never_accepted(
    case: tuple[SubjectAltName, str], base: CertificatePolicy, others: list[SubjectAltName]
) -> None:
    san, pattern = case
    rules = base.san_rules(san.type)
    # The value itself is also allowed, to show that denied beats allowed.
    policy = replace(
        base,
        sans={
            **base.sans,
            san.type: NameRules(allowed=(*rules.allowed, san.value), denied=(pattern,)),
        },
    )
    assert matches(KIND_OF_SAN[san.type], pattern, san.value, deny=True)
    sans = (*others, san)
    assert _denied(evaluate(replace(RequestFacts(), sans=sans), policy), san)
    assert _denied(check_identifiers(sans, policy), san)


@settings(max_examples=200)
@given(name=dns_names, data=st.data())
def test_a_dns_deny_pattern_also_refuses_the_common_name(name: str, data: st.DataObject) -> None:
    pattern = data.draw(matching_pattern(SanType.DNS, name))
    policy = CertificatePolicy(sans={SanType.DNS: NameRules(denied=(pattern,))})
    verdict = evaluate(RequestFacts(subject=SubjectAttributes(common_name=name)), policy)
    assert [v.code for v in verdict.violations] == [Code.ATTRIBUTE_DENIED]


@settings(max_examples=300)
@given(
    san_type=st.sampled_from(list(SanType)),
    data=st.data(),
    value=weird_text,
)
def test_whatever_a_deny_pattern_matches_is_refused(
    san_type: SanType, data: st.DataObject, value: str
) -> None:
    """The matcher and the engine agree: any (pattern, name) match is a violation."""
    pattern = data.draw(PATTERNS_BY_TYPE[san_type])
    name = data.draw(st.one_of(st.just(value), VALUES_BY_TYPE[san_type]))
    san = SubjectAltName(san_type, name)
    policy = CertificatePolicy(sans={san_type: NameRules(denied=(pattern,))})
    verdict = check_identifiers([san], policy)
    assert _denied(verdict, san) is matches(KIND_OF_SAN[san_type], pattern, name, deny=True)


@settings(max_examples=300)
@given(request=facts)
def test_the_permissive_policy_accepts_any_leaf_request(request: RequestFacts) -> None:
    leaf = replace(request, is_ca=False, key_usages=request.key_usages - {KeyUsage.KEY_CERT_SIGN})
    assert evaluate(leaf, CertificatePolicy.permissive()).ok
    assert check_identifiers(leaf.sans, CertificatePolicy.permissive()).ok


@settings(max_examples=150)
@given(request=facts, policy=policies())
def test_evaluate_never_raises(request: RequestFacts, policy: CertificatePolicy) -> None:
    verdict = evaluate(request, policy)
    assert all(v.message for v in verdict.violations)
    assert verdict == evaluate(request, policy)


@settings(max_examples=150)
@given(identifiers=st.lists(sans_of(weird_text), max_size=5), policy=policies())
def test_check_identifiers_never_raises(
    identifiers: list[SubjectAltName], policy: CertificatePolicy
) -> None:
    verdict = check_identifiers(identifiers, policy)
    assert all(v.identifier in identifiers for v in verdict.violations if v.identifier)


@settings(max_examples=200)
@given(value=weird_text, pattern=weird_text, kind=st.sampled_from(list(NameKind)))
def test_arbitrary_text_in_attribute_values_and_common_names(
    value: str, pattern: str, kind: NameKind
) -> None:
    del kind
    subject = SubjectAttributes(
        common_name=value,
        organization=value,
        organizational_unit=value,
        country=value,
        state=value,
        locality=value,
    )
    request = RequestFacts(subject=subject, email_address=value)
    for policy in (CertificatePolicy.permissive(), _strict_subject()):
        assert isinstance(evaluate(request, policy), Verdict)


def _strict_subject() -> CertificatePolicy:
    from pki_types.model import SubjectField
    from policy.rules import AttributeRule

    return CertificatePolicy(
        common_name=NameRules(allowed=("*.example.com", "re:[a-z]+"), denied=("x.example.com",)),
        require_common_name=True,
        allow_wildcards=False,
        subject={
            field: AttributeRule(
                required=True,
                patterns=("*@example.com",) if field is SubjectField.EMAIL else ("Acme*", "re:.+"),
            )
            for field in SubjectField
        },
    )
