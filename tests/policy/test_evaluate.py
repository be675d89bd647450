"""evaluate() and check_identifiers(): a table per message, exact text (policy/evaluate.py)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from pki_types.model import (
    ExtendedKeyUsage,
    KeyAlgorithm,
    KeyUsage,
    SanType,
    SignatureAlgorithm,
    SubjectAltName,
    SubjectAttributes,
    SubjectField,
)
from policy.evaluate import Verdict, Violation, check_identifiers, evaluate
from policy.facts import RequestFacts
from policy.messages import Code
from policy.rules import AttributeRule, CertificatePolicy, NameRules, UsageRules

DNS, IP, EMAIL, URI = SanType.DNS, SanType.IP, SanType.EMAIL, SanType.URI
OK_FACTS = RequestFacts(
    subject=SubjectAttributes(common_name="www.example.com", organization="Acme Corp"),
    sans=(SubjectAltName(DNS, "www.example.com"),),
    key_algorithm=KeyAlgorithm.EC_P256,
    signature_algorithm=SignatureAlgorithm.ECDSA_SHA256,
    key_usages=frozenset({KeyUsage.DIGITAL_SIGNATURE}),
    extended_key_usages=frozenset({ExtendedKeyUsage.SERVER_AUTH}),
    ttl_seconds=90 * 86400,
)
P = CertificatePolicy
F = RequestFacts


def with_sans(*sans: tuple[SanType, str]) -> RequestFacts:
    return replace(OK_FACTS, sans=tuple(SubjectAltName(t, v) for t, v in sans))


def with_subject(**attributes: str) -> RequestFacts:
    return replace(OK_FACTS, subject=replace(OK_FACTS.subject, **attributes))


def only(field: SubjectField, rule: AttributeRule) -> CertificatePolicy:
    return P(subject={field: rule})


# (id, policy, facts, the exact messages)
MESSAGE_TABLE: list[tuple[str, CertificatePolicy, RequestFacts, tuple[str, ...]]] = [
    # Missing required {attribute} attribute
    ("missing-cn", P(require_common_name=True), with_subject(common_name=""),
     ("Missing required common name attribute",)),
    ("blank-cn", P(require_common_name=True), with_subject(common_name="  "),
     ("Missing required common name attribute",)),
    ("missing-o", only(SubjectField.ORGANIZATION, AttributeRule(required=True)),
     with_subject(organization=""), ("Missing required organization attribute",)),
    ("missing-ou", only(SubjectField.ORGANIZATIONAL_UNIT, AttributeRule(required=True)),
     OK_FACTS, ("Missing required organizational unit attribute",)),
    ("missing-c", only(SubjectField.COUNTRY, AttributeRule(required=True)), OK_FACTS,
     ("Missing required country attribute",)),
    ("missing-st", only(SubjectField.STATE, AttributeRule(required=True)), OK_FACTS,
     ("Missing required state attribute",)),
    ("missing-l", only(SubjectField.LOCALITY, AttributeRule(required=True)), OK_FACTS,
     ("Missing required locality attribute",)),
    ("missing-email", only(SubjectField.EMAIL, AttributeRule(required=True)), OK_FACTS,
     ("Missing required email attribute",)),
    # {attribute} value does not match allowed patterns
    ("cn-not-allowed", P(common_name=NameRules(allowed=("*.internal",))), OK_FACTS,
     ("common name value does not match allowed patterns: www.example.com",)),
    ("cn-denied", P(common_name=NameRules(denied=("www.example.com",))), OK_FACTS,
     ("common name value does not match allowed patterns: www.example.com",)),
    ("cn-denied-as-dns-san", P(sans={DNS: NameRules(denied=("*.evil.com",))}),
     replace(OK_FACTS, subject=SubjectAttributes(common_name="www.evil.com")),
     ("common name value does not match allowed patterns: www.evil.com",)),
    ("o-pattern", only(SubjectField.ORGANIZATION, AttributeRule(patterns=("Globex*",))),
     OK_FACTS, ("organization value does not match allowed patterns: Acme Corp",)),
    ("o-regex", only(SubjectField.ORGANIZATION, AttributeRule(patterns=("re:Acme",))),
     OK_FACTS, ("organization value does not match allowed patterns: Acme Corp",)),
    ("ou-forbidden", only(SubjectField.ORGANIZATIONAL_UNIT, AttributeRule(allowed=False)),
     with_subject(organizational_unit="Ops"),
     ("organizational unit value does not match allowed patterns: Ops",)),
    ("c-pattern", only(SubjectField.COUNTRY, AttributeRule(patterns=("US", "CA"))),
     with_subject(country="DE"), ("country value does not match allowed patterns: DE",)),
    ("st-pattern", only(SubjectField.STATE, AttributeRule(patterns=("Texas",))),
     with_subject(state="Ohio"), ("state value does not match allowed patterns: Ohio",)),
    ("l-pattern", only(SubjectField.LOCALITY, AttributeRule(patterns=("Austin",))),
     with_subject(locality="Dallas"), ("locality value does not match allowed patterns: Dallas",)),
    ("email-pattern", only(SubjectField.EMAIL, AttributeRule(patterns=("*@example.com",))),
     replace(OK_FACTS, email_address="eve@evil.com"),
     ("email value does not match allowed patterns: eve@evil.com",)),
    ("value-escaped", only(SubjectField.LOCALITY, AttributeRule(patterns=("Austin",))),
     with_subject(locality="A\nB\x00"),
     ("locality value does not match allowed patterns: A\\nB\\x00",)),
    # {type} SAN is not allowed by template policy
    ("dns-denied", P(sans={DNS: NameRules(denied=("evil.example.com",))}),
     with_sans((DNS, "evil.example.com")),
     ("DNS SAN is not allowed by template policy: evil.example.com",)),
    ("dns-not-allowed", P(sans={DNS: NameRules(allowed=("*.internal",))}),
     with_sans((DNS, "evil.example.com")),
     ("DNS SAN is not allowed by template policy: evil.example.com",)),
    ("ip-type", P(allowed_san_types=frozenset({DNS})), with_sans((IP, "10.0.0.1")),
     ("IP SAN is not allowed by template policy: 10.0.0.1",)),
    ("ip-cidr", P(sans={IP: NameRules(allowed=("10.0.0.0/8",))}), with_sans((IP, "192.168.0.1")),
     ("IP SAN is not allowed by template policy: 192.168.0.1",)),
    ("email-type", P(allowed_san_types=frozenset({DNS})), with_sans((EMAIL, "a@example.com")),
     ("email SAN is not allowed by template policy: a@example.com",)),
    ("uri-denied", P(sans={URI: NameRules(denied=("spiffe://example.org/*",))}),
     with_sans((URI, "spiffe://example.org/admin")),
     ("URI SAN is not allowed by template policy: spiffe://example.org/admin",)),
    # Required {type} SAN not found
    ("required-dns", P(required_san_types=frozenset({DNS})), with_sans(),
     ("Required DNS SAN not found",)),
    ("required-ip-email", P(required_san_types=frozenset({IP, EMAIL})), OK_FACTS,
     ("Required IP SAN not found", "Required email SAN not found")),
    ("required-uri", P(required_san_types=frozenset({URI})), OK_FACTS,
     ("Required URI SAN not found",)),
    # Number of SANs exceeds the maximum allowed by the policy
    ("too-many", P(max_sans=1), with_sans((DNS, "a.example.com"), (DNS, "b.example.com")),
     ("Number of SANs exceeds the maximum allowed by the policy: 2 requested, at most 1",)),
    ("no-sans", P(max_sans=0), OK_FACTS,
     ("Number of SANs exceeds the maximum allowed by the policy: 1 requested, at most 0",)),
    # Wildcard names are not allowed by template policy
    ("wildcard-san", P(allow_wildcards=False), with_sans((DNS, "*.example.com")),
     ("Wildcard names are not allowed by template policy: *.example.com",)),
    ("wildcard-cn", P(allow_wildcards=False), with_subject(common_name="*.example.com"),
     ("Wildcard names are not allowed by template policy: *.example.com",)),
    # Key algorithm / Signature algorithm is not allowed by template policy
    ("key-alg", P(key_algorithms=frozenset({KeyAlgorithm.RSA_4096})), OK_FACTS,
     ("Key algorithm is not allowed by template policy: EC_P256",)),
    ("key-alg-unknown", P(key_algorithms=frozenset({KeyAlgorithm.RSA_4096})),
     replace(OK_FACTS, key_algorithm=None),
     ("Key algorithm is not allowed by template policy: unknown",)),
    ("sig-alg", P(signature_algorithms=frozenset({SignatureAlgorithm.ECDSA_SHA384})), OK_FACTS,
     ("Signature algorithm is not allowed by template policy: ECDSA-SHA256",)),
    ("sig-alg-unknown", P(signature_algorithms=frozenset({SignatureAlgorithm.RSA_SHA256})),
     replace(OK_FACTS, signature_algorithm=None),
     ("Signature algorithm is not allowed by template policy: unknown",)),
    # Key usage / extended key usage
    ("ku-not-allowed", P(key_usages=UsageRules(allowed=frozenset({KeyUsage.KEY_AGREEMENT}))),
     OK_FACTS, ("Key usage digital_signature is not allowed by template policy",)),
    ("ku-required", P(key_usages=UsageRules(required=frozenset({KeyUsage.KEY_ENCIPHERMENT}))),
     OK_FACTS, ("Required key usage key_encipherment not found",)),
    ("eku-not-allowed",
     P(extended_key_usages=UsageRules(allowed=frozenset({ExtendedKeyUsage.CLIENT_AUTH}))),
     OK_FACTS, ("Extended key usage server_auth is not allowed by template policy",)),
    ("eku-required",
     P(extended_key_usages=UsageRules(required=frozenset({ExtendedKeyUsage.CLIENT_AUTH}))),
     OK_FACTS, ("Required extended key usage client_auth not found",)),
    # CA certificates are not allowed by template policy
    ("ca", P(), replace(OK_FACTS, is_ca=True),
     ("CA certificates are not allowed by template policy",)),
    ("key-cert-sign", P(), replace(OK_FACTS, key_usages=frozenset({KeyUsage.KEY_CERT_SIGN})),
     ("CA certificates are not allowed by template policy: "
      "key usage key_cert_sign is only for CA certificates",)),
    # TTL exceeds the maximum allowed by the policy
    ("ttl", P(max_ttl_seconds=30 * 86400), OK_FACTS,
     ("TTL exceeds the maximum allowed by the policy: 90d requested, at most 30d",)),
    ("ttl-hours", P(max_ttl_seconds=3600), replace(OK_FACTS, ttl_seconds=3601),
     ("TTL exceeds the maximum allowed by the policy: 3601s requested, at most 1h",)),
]  # fmt: skip


@pytest.mark.parametrize(
    ("policy", "facts", "messages"),
    [pytest.param(p, f, m, id=i) for i, p, f, m in MESSAGE_TABLE],
)
def test_each_message_exact_text(
    policy: CertificatePolicy, facts: RequestFacts, messages: tuple[str, ...]
) -> None:
    assert evaluate(facts, policy).messages == messages


ACCEPT_TABLE: list[tuple[str, CertificatePolicy, RequestFacts]] = [
    ("permissive", P.permissive(), OK_FACTS),
    ("cn-allowed", P(common_name=NameRules(allowed=("*.example.com",))), OK_FACTS),
    ("o-glob", only(SubjectField.ORGANIZATION, AttributeRule(True, ("Acme*",))), OK_FACTS),
    ("o-regex", only(SubjectField.ORGANIZATION, AttributeRule(patterns=("re:acme.*",))), OK_FACTS),
    ("absent-optional", only(SubjectField.COUNTRY, AttributeRule(patterns=("US",))), OK_FACTS),
    ("ou-forbidden-absent", only(SubjectField.ORGANIZATIONAL_UNIT, AttributeRule(allowed=False)),
     OK_FACTS),
    ("wildcard-allowed", P(sans={DNS: NameRules(allowed=("*.example.com",))}),
     with_sans((DNS, "*.example.com"), (DNS, "a.example.com"))),
    ("ttl-equal", P(max_ttl_seconds=90 * 86400), OK_FACTS),
    ("ttl-unknown", P(max_ttl_seconds=1), replace(OK_FACTS, ttl_seconds=None)),
    ("max-equal", P(max_sans=1), OK_FACTS),
    ("required-ok", P(required_san_types=frozenset({DNS}),
     key_usages=UsageRules(frozenset({KeyUsage.DIGITAL_SIGNATURE}),
                           frozenset({KeyUsage.DIGITAL_SIGNATURE}))), OK_FACTS),
    ("crl-sign-leaf", P(), replace(OK_FACTS, key_usages=frozenset({KeyUsage.CRL_SIGN}))),
]  # fmt: skip


@pytest.mark.parametrize(
    ("policy", "facts"), [pytest.param(p, f, id=i) for i, p, f in ACCEPT_TABLE]
)
def test_accepted(policy: CertificatePolicy, facts: RequestFacts) -> None:
    assert evaluate(facts, policy) == Verdict(())
    assert evaluate(facts, policy).ok


STRICT = CertificatePolicy(
    common_name=NameRules(allowed=("*.corp.internal",)),
    sans={DNS: NameRules(allowed=("*.corp.internal",), denied=("admin.corp.internal",))},
    allowed_san_types=frozenset({DNS, IP}),
    required_san_types=frozenset({DNS, IP}),
    allow_wildcards=False,
    max_sans=2,
    subject={
        SubjectField.ORGANIZATION: AttributeRule(required=True, patterns=("Acme*",)),
        SubjectField.COUNTRY: AttributeRule(required=True),
    },
    key_algorithms=frozenset({KeyAlgorithm.EC_P384}),
    signature_algorithms=frozenset({SignatureAlgorithm.ECDSA_SHA384}),
    key_usages=UsageRules(
        allowed=frozenset({KeyUsage.DIGITAL_SIGNATURE}),
        required=frozenset({KeyUsage.DIGITAL_SIGNATURE}),
    ),
    extended_key_usages=UsageRules(required=frozenset({ExtendedKeyUsage.SERVER_AUTH})),
    max_ttl_seconds=30 * 86400,
)
BAD_FACTS = RequestFacts(
    subject=SubjectAttributes(common_name="www.example.com", organization="Globex"),
    sans=(
        SubjectAltName(DNS, "admin.corp.internal"),
        SubjectAltName(DNS, "*.corp.internal"),
        SubjectAltName(URI, "https://example.com/"),
    ),
    key_algorithm=KeyAlgorithm.RSA_2048,
    signature_algorithm=SignatureAlgorithm.RSA_SHA256,
    key_usages=frozenset({KeyUsage.KEY_ENCIPHERMENT, KeyUsage.KEY_CERT_SIGN}),
    extended_key_usages=frozenset({ExtendedKeyUsage.CLIENT_AUTH}),
    ttl_seconds=365 * 86400,
    is_ca=True,
)


def test_every_violation_is_listed_at_once_in_a_fixed_order() -> None:
    verdict = evaluate(BAD_FACTS, STRICT)
    assert not verdict.ok
    assert verdict.messages == (
        "common name value does not match allowed patterns: www.example.com",
        "organization value does not match allowed patterns: Globex",
        "Missing required country attribute",
        "Number of SANs exceeds the maximum allowed by the policy: 3 requested, at most 2",
        "DNS SAN is not allowed by template policy: admin.corp.internal",
        "Wildcard names are not allowed by template policy: *.corp.internal",
        "DNS SAN is not allowed by template policy: *.corp.internal",
        "URI SAN is not allowed by template policy: https://example.com/",
        "Required IP SAN not found",
        "Key algorithm is not allowed by template policy: RSA_2048",
        "Signature algorithm is not allowed by template policy: RSA-SHA256",
        "Key usage key_encipherment is not allowed by template policy",
        "Key usage key_cert_sign is not allowed by template policy",
        "Required key usage digital_signature not found",
        "Required extended key usage server_auth not found",
        "CA certificates are not allowed by template policy",
        "TTL exceeds the maximum allowed by the policy: 365d requested, at most 30d",
    )
    assert [v.code for v in verdict.violations] == [
        Code.ATTRIBUTE_NOT_ALLOWED,
        Code.ATTRIBUTE_NOT_ALLOWED,
        Code.MISSING_ATTRIBUTE,
        Code.TOO_MANY_SANS,
        Code.SAN_DENIED,
        Code.WILDCARD_NOT_ALLOWED,
        Code.SAN_DENIED,  # the wildcard covers the denied admin.corp.internal
        Code.SAN_TYPE_NOT_ALLOWED,
        Code.SAN_REQUIRED,
        Code.KEY_ALGORITHM_NOT_ALLOWED,
        Code.SIGNATURE_ALGORITHM_NOT_ALLOWED,
        Code.KEY_USAGE_NOT_ALLOWED,
        Code.KEY_USAGE_NOT_ALLOWED,
        Code.KEY_USAGE_REQUIRED,
        Code.EXTENDED_KEY_USAGE_REQUIRED,
        Code.CA_NOT_ALLOWED,
        Code.TTL_EXCEEDED,
    ]
    assert evaluate(BAD_FACTS, STRICT) == verdict  # deterministic


def test_san_violations_carry_their_identifier() -> None:
    verdict = evaluate(BAD_FACTS, STRICT)
    assert [v.identifier for v in verdict.violations if v.identifier is not None] == [
        BAD_FACTS.sans[0],
        BAD_FACTS.sans[1],
        BAD_FACTS.sans[1],
        BAD_FACTS.sans[2],
    ]


def test_check_identifiers_applies_only_name_rules() -> None:
    identifiers = [
        SubjectAltName(DNS, "www.corp.internal"),
        SubjectAltName(DNS, "admin.corp.internal"),
        SubjectAltName(IP, "10.0.0.1"),
        SubjectAltName(DNS, "*.corp.internal"),
    ]
    verdict = check_identifiers(identifiers, STRICT)
    assert verdict.violations == (
        Violation(
            Code.TOO_MANY_SANS,
            "Number of SANs exceeds the maximum allowed by the policy: 4 requested, at most 2",
        ),
        Violation(
            Code.SAN_DENIED,
            "DNS SAN is not allowed by template policy: admin.corp.internal",
            identifiers[1],
        ),
        Violation(
            Code.WILDCARD_NOT_ALLOWED,
            "Wildcard names are not allowed by template policy: *.corp.internal",
            identifiers[3],
        ),
        Violation(
            Code.SAN_DENIED,
            "DNS SAN is not allowed by template policy: *.corp.internal",
            identifiers[3],
        ),
    )


def test_check_identifiers_accepts_good_names_and_an_empty_list() -> None:
    good = [SubjectAltName(DNS, "www.corp.internal"), SubjectAltName(IP, "10.0.0.1")]
    assert check_identifiers(good, STRICT).ok
    assert check_identifiers([], STRICT).ok  # required SAN types are checked at finalize
    assert check_identifiers(good, CertificatePolicy.permissive()).messages == ()


def test_long_values_are_shortened_in_messages() -> None:
    name = "a" * 300 + ".example.com"
    verdict = check_identifiers([SubjectAltName(DNS, name)], P(allowed_san_types=frozenset()))
    assert verdict.messages == ("DNS SAN is not allowed by template policy: " + "a" * 100 + "...",)


def test_default_facts_are_accepted_by_the_permissive_policy() -> None:
    assert evaluate(F(), P.permissive()).ok
