"""The policy model and its JSON document (policy/rules.py)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings

from pki_types.model import (
    ExtendedKeyUsage,
    KeyAlgorithm,
    KeyUsage,
    SanType,
    SignatureAlgorithm,
    SubjectField,
)
from policy.errors import PolicyError
from policy.rules import (
    ALL_SAN_TYPES,
    AttributeRule,
    CertificatePolicy,
    NameRules,
    UsageRules,
    policy_from_dict,
    policy_to_dict,
)
from tests.policy.strategies import json_values, near_documents, policies

FULL_DOCUMENT: dict[str, Any] = {
    "commonName": {"allowed": ["*.example.com"], "denied": ["admin.example.com"], "required": True},
    "sans": {
        "dns_name": {"allowed": ["*.example.com", "re:[a-z]+\\.internal"], "denied": []},
        "ip_address": {"allowed": ["10.0.0.0/8"], "denied": ["10.0.0.1"]},
    },
    "allowedSanTypes": ["dns_name", "ip_address"],
    "requiredSanTypes": ["dns_name"],
    "allowWildcards": False,
    "maxSans": 10,
    "subject": {
        "organization": {"required": True, "patterns": ["Acme*"], "allowed": True},
        "organizational_unit": {"required": False, "patterns": [], "allowed": False},
    },
    "keyAlgorithms": ["RSA_3072", "EC_P256"],
    "signatureAlgorithms": ["RSA-SHA256", "ECDSA-SHA384"],
    "keyUsages": {"allowed": ["digital_signature", "key_encipherment"], "required": []},
    "extendedKeyUsages": {"allowed": [], "required": ["server_auth"]},
    "maxTtl": "90d",
}
FULL_POLICY = CertificatePolicy(
    common_name=NameRules(allowed=("*.example.com",), denied=("admin.example.com",)),
    require_common_name=True,
    sans={
        SanType.DNS: NameRules(allowed=("*.example.com", "re:[a-z]+\\.internal")),
        SanType.IP: NameRules(allowed=("10.0.0.0/8",), denied=("10.0.0.1",)),
    },
    allowed_san_types=frozenset({SanType.DNS, SanType.IP}),
    required_san_types=frozenset({SanType.DNS}),
    allow_wildcards=False,
    max_sans=10,
    subject={
        SubjectField.ORGANIZATION: AttributeRule(required=True, patterns=("Acme*",)),
        SubjectField.ORGANIZATIONAL_UNIT: AttributeRule(allowed=False),
    },
    key_algorithms=frozenset({KeyAlgorithm.RSA_3072, KeyAlgorithm.EC_P256}),
    signature_algorithms=frozenset(
        {SignatureAlgorithm.RSA_SHA256, SignatureAlgorithm.ECDSA_SHA384}
    ),
    key_usages=UsageRules(
        allowed=frozenset({KeyUsage.DIGITAL_SIGNATURE, KeyUsage.KEY_ENCIPHERMENT})
    ),
    extended_key_usages=UsageRules(required=frozenset({ExtendedKeyUsage.SERVER_AUTH})),
    max_ttl_seconds=90 * 86400,
)


def test_document_reads_into_the_policy_and_writes_back_unchanged() -> None:
    assert policy_from_dict(FULL_DOCUMENT) == FULL_POLICY
    assert policy_to_dict(FULL_POLICY) == FULL_DOCUMENT


@pytest.mark.parametrize("document", [{}, None, {"maxTtl": None, "sans": None, "subject": {}}])
def test_empty_document_is_the_permissive_policy(document: object) -> None:
    assert policy_from_dict(document) == CertificatePolicy.permissive() == CertificatePolicy()


def test_permissive_policy_document() -> None:
    document = policy_to_dict(CertificatePolicy.permissive())
    assert document["allowedSanTypes"] == ["dns_name", "ip_address", "email", "uri"]
    assert document["keyAlgorithms"] == []
    assert document["maxTtl"] is None
    assert document["allowWildcards"] is True
    assert CertificatePolicy().allowed_san_types == ALL_SAN_TYPES


@pytest.mark.parametrize(
    ("max_ttl", "seconds"),
    [("365d", 365 * 86400), ("1y", 365 * 86400), ("12h", 43200), (" 30m ", 1800), (3600, 3600)],
)
def test_max_ttl_is_text_or_seconds(max_ttl: object, seconds: int) -> None:
    assert policy_from_dict({"maxTtl": max_ttl}).max_ttl_seconds == seconds


@pytest.mark.parametrize(("seconds", "text"), [(86400 * 365, "365d"), (7200, "2h"), (90, "90s")])
def test_max_ttl_is_written_in_the_largest_exact_unit(seconds: int, text: str) -> None:
    assert policy_to_dict(CertificatePolicy(max_ttl_seconds=seconds))["maxTtl"] == text


BAD_DOCUMENTS: list[tuple[object, str]] = [
    ([], "policy: expected an object, got a list"),
    ({"maxTTL": "1d"}, "policy: unknown key 'maxTTL'; known keys: commonName, sans,"),
    ({1: 2}, "policy: keys must be strings, got a number"),
    ({"commonName": {"allow": []}}, "commonName: unknown key 'allow'"),
    ({"commonName": {"allowed": "*.x"}}, "commonName.allowed: expected a list, got a string"),
    ({"commonName": {"allowed": [1]}}, "commonName.allowed[0]: expected a string, got a number"),
    ({"commonName": {"required": "yes"}}, "commonName.required: expected true or false"),
    ({"sans": {"dns": {}}}, "sans: unknown value 'dns'; use one of dns_name, ip_address, email"),
    ({"sans": {"dns_name": {"allowed": ["re:("]}}}, "sans.dns_name.allowed[0]: invalid regular"),
    ({"sans": {"ip_address": {"denied": ["*.x"]}}}, "sans.ip_address.denied[0]: '*.x' is not an"),
    ({"sans": {"email": {"allowed": ["x"]}}}, "sans.email.allowed[0]: 'x': email patterns are"),
    ({"sans": {"uri": []}}, "sans.uri: expected an object, got a list"),
    ({"allowedSanTypes": ["DNS"]}, "allowedSanTypes[0]: unknown value 'DNS'"),
    ({"allowedSanTypes": "dns_name"}, "allowedSanTypes: expected a list, got a string"),
    (
        {"allowedSanTypes": ["dns_name"], "requiredSanTypes": ["uri"]},
        "requiredSanTypes: uri must also be in allowedSanTypes",
    ),
    ({"allowWildcards": 1}, "allowWildcards: expected true or false, got a number"),
    ({"maxSans": -1}, "maxSans: expected a whole number from 0 to 100000, got -1"),
    ({"maxSans": 1.5}, "maxSans: expected a whole number from 0 to 100000, got 1.5"),
    ({"maxSans": True}, "maxSans: expected a whole number from 0 to 100000, got True"),
    (
        {"maxSans": 0, "requiredSanTypes": ["dns_name"]},
        "maxSans: 0 is fewer than the 1 required SAN types",
    ),
    ({"subject": {"common_name": {}}}, "subject: unknown value 'common_name'"),
    ({"subject": {"country": {"pattern": []}}}, "subject.country: unknown key 'pattern'"),
    ({"subject": {"country": {"patterns": ["/US/"]}}}, "subject.country.patterns[0]: '/US/' looks"),
    (
        {"subject": {"state": {"required": True, "allowed": False}}},
        "subject.state: an attribute cannot be both required and not allowed",
    ),
    ({"keyAlgorithms": ["RSA_1024"]}, "keyAlgorithms[0]: unknown value 'RSA_1024'; use one of"),
    ({"keyAlgorithms": [["EC_P256"]]}, "keyAlgorithms[0]: unknown value ['EC_P256']"),
    ({"signatureAlgorithms": ["SHA256-RSA"]}, "signatureAlgorithms[0]: unknown value"),
    ({"keyUsages": {"allowed": ["digitalSignature"]}}, "keyUsages.allowed[0]: unknown value"),
    (
        {"keyUsages": {"allowed": ["digital_signature"], "required": ["key_agreement"]}},
        "keyUsages.required: key_agreement must also be allowed",
    ),
    ({"extendedKeyUsages": {"denied": []}}, "extendedKeyUsages: unknown key 'denied'"),
    ({"maxTtl": "1 year"}, "maxTtl: invalid TTL '1 year'"),
    ({"maxTtl": "0d"}, "maxTtl: invalid TTL '0d'"),
    ({"maxTtl": 0}, "maxTtl: a TTL must be positive and at most 100 years"),
    ({"maxTtl": "101y"}, "maxTtl: a TTL must be positive and at most 100 years"),
    ({"maxTtl": 1.5}, 'maxTtl: expected text such as "365d" or seconds, got a number'),
    ({"maxSans": 10**5000}, "maxSans: expected a whole number from 0 to 100000, got a number"),
    ({"keyAlgorithms": [10**5000]}, "keyAlgorithms[0]: unknown value a number"),
]


@pytest.mark.parametrize(("document", "error"), BAD_DOCUMENTS)
def test_bad_documents_name_the_key_and_value(document: object, error: str) -> None:
    with pytest.raises(PolicyError) as info:
        policy_from_dict(document)
    assert str(info.value).startswith(error), str(info.value)


def test_policy_error_is_a_value_error() -> None:
    assert issubclass(PolicyError, ValueError)


CONSTRUCTOR_ERRORS: list[tuple[dict[str, Any], str]] = [
    ({"common_name": NameRules(allowed=("a..b",))}, "commonName.allowed[0]"),
    ({"sans": {SanType.URI: NameRules(denied=("",))}}, "sans.uri.denied[0]"),
    ({"max_sans": -1}, "maxSans"),
    ({"max_ttl_seconds": 0}, "maxTtl"),
    ({"required_san_types": frozenset({SanType.IP}), "allowed_san_types": frozenset()}, "requ"),
    ({"extended_key_usages": UsageRules(frozenset({ExtendedKeyUsage.CLIENT_AUTH}),
      frozenset({ExtendedKeyUsage.SERVER_AUTH}))}, "extendedKeyUsages.required"),
]  # fmt: skip


@pytest.mark.parametrize(("kwargs", "where"), CONSTRUCTOR_ERRORS)
def test_the_constructor_checks_too(kwargs: dict[str, Any], where: str) -> None:
    with pytest.raises(PolicyError) as info:
        CertificatePolicy(**kwargs)
    assert str(info.value).startswith(where)


@settings(max_examples=100)
@given(policies())
def test_round_trip_through_json(policy: CertificatePolicy) -> None:
    document = policy_to_dict(policy)
    text = json.dumps(document)
    assert policy_from_dict(json.loads(text)) == policy
    assert policy_to_dict(policy_from_dict(document)) == document


@settings(max_examples=300)
@given(json_values)
def test_any_json_value_reads_or_raises_policy_error(document: object) -> None:
    try:
        policy = policy_from_dict(document)
    except PolicyError:
        return
    assert isinstance(policy, CertificatePolicy)


@settings(max_examples=200)
@given(near_documents)
def test_documents_with_known_keys_and_any_values_read_or_raise_policy_error(
    document: dict[str, Any],
) -> None:
    try:
        policy = policy_from_dict(document)
    except PolicyError as exc:
        assert str(exc)
        return
    assert policy_from_dict(policy_to_dict(policy)) == policy
