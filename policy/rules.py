"""The certificate policy: what a certificate may contain, and its JSON document.

Empty means "any" wherever a list restricts (patterns, key algorithms, signature algorithms,
allowed usages); the one exception is `allowed_san_types`, which defaults to every type and
may be emptied to allow no SANs at all. So `CertificatePolicy()` (= `permissive()`, =
`policy_from_dict({})`) accepts every well-formed leaf request. Leaves only: a request for
CA:TRUE is always refused, whatever the policy.

Subject attributes missing from `subject` are unconstrained; `AttributeRule(allowed=False)`
forbids one. The common name has its own `NameRules` (it is usually a DNS name) and DNS
semantics for patterns; DNS SAN deny patterns apply to it as well (see `subject.py`).

The JSON document (stored in the database, sent over the REST API) has camelCase top-level
keys and the enum values of `pki_types.model` inside::

    {"commonName": {"allowed": ["*.example.com"], "denied": [], "required": false},
     "sans": {"dns_name": {"allowed": [...], "denied": [...]}, "ip_address": {...}},
     "allowedSanTypes": ["dns_name", "ip_address"], "requiredSanTypes": ["dns_name"],
     "allowWildcards": true, "maxSans": 100,
     "subject": {"organization": {"required": true, "patterns": ["Acme*"], "allowed": true}},
     "keyAlgorithms": ["EC_P256"], "signatureAlgorithms": ["ECDSA-SHA256"],
     "keyUsages": {"allowed": [...], "required": [...]}, "extendedKeyUsages": {...},
     "maxTtl": "365d"}

Every key is optional and `null` means the default. `maxTtl` is written as text ("90d",
units s, m, h, d, w, y) and read as text or as whole seconds. Pattern syntax: `names.py`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from pki_types.model import (
    ExtendedKeyUsage,
    KeyAlgorithm,
    KeyUsage,
    SanType,
    SignatureAlgorithm,
    SubjectField,
)
from policy.durations import check_ttl_seconds, format_ttl_seconds, parse_ttl_seconds
from policy.errors import PolicyError
from policy.json_fields import (
    enum_names,
    enum_values,
    read_bool,
    read_enum,
    read_enums,
    read_int,
    read_object,
    read_strings,
    type_name,
)
from policy.names import KIND_OF_SAN, NameKind, check_patterns

__all__ = [
    "ALL_SAN_TYPES",
    "MAX_SANS_LIMIT",
    "RULE_KEYS",
    "AttributeRule",
    "CertificatePolicy",
    "NameRules",
    "PolicyError",
    "SanRules",
    "UsageRules",
    "policy_from_dict",
    "policy_to_dict",
]

U = TypeVar("U", KeyUsage, ExtendedKeyUsage)
ALL_SAN_TYPES: frozenset[SanType] = frozenset(SanType)
MAX_SANS_LIMIT = 100_000  # the largest maxSans a policy may set


@dataclass(frozen=True, slots=True)
class NameRules:
    """Patterns for a name: `allowed` empty = any name; `denied` always beats `allowed`."""

    allowed: tuple[str, ...] = ()
    denied: tuple[str, ...] = ()


SanRules = NameRules  # the rules for one SAN type


@dataclass(frozen=True, slots=True)
class AttributeRule:
    """A subject attribute: `patterns` empty = any value; `allowed=False` forbids any value."""

    required: bool = False
    patterns: tuple[str, ...] = ()
    allowed: bool = True


@dataclass(frozen=True, slots=True)
class UsageRules(Generic[U]):
    """Key usages or extended key usages: `allowed` empty = any; `required` must be present."""

    allowed: frozenset[U] = frozenset()
    required: frozenset[U] = frozenset()


@dataclass(frozen=True)
class CertificatePolicy:
    """Frozen; the mappings are not copied, so treat them as read-only. Checked on creation."""

    common_name: NameRules = NameRules()
    require_common_name: bool = False
    sans: Mapping[SanType, NameRules] = field(default_factory=dict)
    allowed_san_types: frozenset[SanType] = ALL_SAN_TYPES
    required_san_types: frozenset[SanType] = frozenset()
    allow_wildcards: bool = True
    max_sans: int | None = None
    subject: Mapping[SubjectField, AttributeRule] = field(default_factory=dict)
    key_algorithms: frozenset[KeyAlgorithm] = frozenset()
    signature_algorithms: frozenset[SignatureAlgorithm] = frozenset()
    key_usages: UsageRules[KeyUsage] = UsageRules()
    extended_key_usages: UsageRules[ExtendedKeyUsage] = UsageRules()
    max_ttl_seconds: int | None = None

    def __post_init__(self) -> None:
        _validate(self)

    @classmethod
    def permissive(cls) -> CertificatePolicy:
        """Accepts any well-formed leaf request."""
        return cls()

    def san_rules(self, san_type: SanType) -> NameRules:
        return self.sans.get(san_type, NameRules())

    def attribute_rule(self, attribute: SubjectField) -> AttributeRule:
        return self.subject.get(attribute, AttributeRule())


def _validate(policy: CertificatePolicy) -> None:
    """Semantic checks; errors name the JSON document's paths."""
    check_patterns(NameKind.DNS, policy.common_name.allowed, "commonName.allowed")
    check_patterns(NameKind.DNS, policy.common_name.denied, "commonName.denied")
    for san_type, rules in policy.sans.items():
        kind = KIND_OF_SAN[san_type]
        check_patterns(kind, rules.allowed, f"sans.{san_type.value}.allowed")
        check_patterns(kind, rules.denied, f"sans.{san_type.value}.denied")
    extra = policy.required_san_types - policy.allowed_san_types
    if extra:
        raise PolicyError(
            f"requiredSanTypes: {enum_names(extra)} must also be in allowedSanTypes, "
            "or no request could satisfy the policy"
        )
    if policy.max_sans is not None and not 0 <= policy.max_sans <= MAX_SANS_LIMIT:
        raise PolicyError(f"maxSans: must be a whole number from 0 to {MAX_SANS_LIMIT}")
    if policy.max_sans is not None and policy.max_sans < len(policy.required_san_types):
        raise PolicyError(
            f"maxSans: {policy.max_sans} is fewer than the {len(policy.required_san_types)} "
            "required SAN types"
        )
    for attribute, rule in policy.subject.items():
        kind = NameKind.EMAIL if attribute is SubjectField.EMAIL else NameKind.TEXT
        check_patterns(kind, rule.patterns, f"subject.{attribute.value}.patterns")
        if rule.required and not rule.allowed:
            raise PolicyError(
                f"subject.{attribute.value}: an attribute cannot be both required and not allowed"
            )
    for where, usages in (
        ("keyUsages", policy.key_usages),
        ("extendedKeyUsages", policy.extended_key_usages),
    ):
        missing = usages.required - usages.allowed
        if usages.allowed and missing:
            raise PolicyError(f"{where}.required: {enum_names(missing)} must also be allowed")
    if policy.max_ttl_seconds is not None:
        try:
            check_ttl_seconds(policy.max_ttl_seconds)
        except PolicyError as exc:
            raise PolicyError(f"maxTtl: {exc}") from None


# --- the JSON document ------------------------------------------------------------------

RULE_KEYS = (
    "commonName",
    "sans",
    "allowedSanTypes",
    "requiredSanTypes",
    "allowWildcards",
    "maxSans",
    "subject",
    "keyAlgorithms",
    "signatureAlgorithms",
    "keyUsages",
    "extendedKeyUsages",
    "maxTtl",
)
"""The top-level keys of the policy document: one a rule kind (docs/policies.md)."""


def policy_from_dict(document: object) -> CertificatePolicy:
    """Read a policy document; PolicyError naming the bad key or value, never anything else."""
    top = read_object(document, "policy", RULE_KEYS)
    kwargs: dict[str, Any] = {}
    if cn := read_object(top.get("commonName"), "commonName", ("allowed", "denied", "required")):
        kwargs["common_name"] = _name_rules(cn, "commonName")
        kwargs["require_common_name"] = read_bool(cn.get("required"), "commonName.required", False)
    if sans := read_object(top.get("sans"), "sans"):
        kwargs["sans"] = {
            read_enum(SanType, key, "sans"): _name_rules(
                read_object(value, f"sans.{key}", ("allowed", "denied")), f"sans.{key}"
            )
            for key, value in sans.items()
        }
    if top.get("allowedSanTypes") is not None:
        kwargs["allowed_san_types"] = read_enums(SanType, top["allowedSanTypes"], "allowedSanTypes")
    kwargs["required_san_types"] = read_enums(
        SanType, top.get("requiredSanTypes"), "requiredSanTypes"
    )
    kwargs["allow_wildcards"] = read_bool(top.get("allowWildcards"), "allowWildcards", True)
    if top.get("maxSans") is not None:
        kwargs["max_sans"] = read_int(top["maxSans"], "maxSans", MAX_SANS_LIMIT)
    if subject := read_object(top.get("subject"), "subject"):
        kwargs["subject"] = {
            read_enum(SubjectField, key, "subject"): _attribute_rule(value, f"subject.{key}")
            for key, value in subject.items()
        }
    kwargs["key_algorithms"] = read_enums(KeyAlgorithm, top.get("keyAlgorithms"), "keyAlgorithms")
    kwargs["signature_algorithms"] = read_enums(
        SignatureAlgorithm, top.get("signatureAlgorithms"), "signatureAlgorithms"
    )
    kwargs["key_usages"] = _usage_rules(KeyUsage, top.get("keyUsages"), "keyUsages")
    kwargs["extended_key_usages"] = _usage_rules(
        ExtendedKeyUsage, top.get("extendedKeyUsages"), "extendedKeyUsages"
    )
    kwargs["max_ttl_seconds"] = _ttl(top.get("maxTtl"))
    return CertificatePolicy(**kwargs)


def policy_to_dict(policy: CertificatePolicy) -> dict[str, Any]:
    """The full document (every key), JSON-ready; `policy_from_dict` reads it back equal."""
    return {
        "commonName": {
            "allowed": list(policy.common_name.allowed),
            "denied": list(policy.common_name.denied),
            "required": policy.require_common_name,
        },
        "sans": {
            t.value: {"allowed": list(r.allowed), "denied": list(r.denied)}
            for t in SanType
            if (r := policy.sans.get(t)) is not None
        },
        "allowedSanTypes": enum_values(SanType, policy.allowed_san_types),
        "requiredSanTypes": enum_values(SanType, policy.required_san_types),
        "allowWildcards": policy.allow_wildcards,
        "maxSans": policy.max_sans,
        "subject": {
            f.value: {"required": a.required, "patterns": list(a.patterns), "allowed": a.allowed}
            for f in SubjectField
            if (a := policy.subject.get(f)) is not None
        },
        "keyAlgorithms": enum_values(KeyAlgorithm, policy.key_algorithms),
        "signatureAlgorithms": enum_values(SignatureAlgorithm, policy.signature_algorithms),
        "keyUsages": _usage_dict(KeyUsage, policy.key_usages),
        "extendedKeyUsages": _usage_dict(ExtendedKeyUsage, policy.extended_key_usages),
        "maxTtl": None
        if policy.max_ttl_seconds is None
        else format_ttl_seconds(policy.max_ttl_seconds),
    }


def _name_rules(value: dict[str, object], where: str) -> NameRules:
    return NameRules(
        allowed=read_strings(value.get("allowed"), f"{where}.allowed"),
        denied=read_strings(value.get("denied"), f"{where}.denied"),
    )


def _attribute_rule(value: object, where: str) -> AttributeRule:
    rule = read_object(value, where, ("required", "patterns", "allowed"))
    return AttributeRule(
        required=read_bool(rule.get("required"), f"{where}.required", False),
        patterns=read_strings(rule.get("patterns"), f"{where}.patterns"),
        allowed=read_bool(rule.get("allowed"), f"{where}.allowed", True),
    )


def _usage_rules(cls: type[U], value: object, where: str) -> UsageRules[U]:
    rules = read_object(value, where, ("allowed", "required"))
    return UsageRules(
        allowed=read_enums(cls, rules.get("allowed"), f"{where}.allowed"),
        required=read_enums(cls, rules.get("required"), f"{where}.required"),
    )


def _usage_dict(cls: type[U], rules: UsageRules[U]) -> dict[str, list[str]]:
    return {
        "allowed": enum_values(cls, rules.allowed),
        "required": enum_values(cls, rules.required),
    }


def _ttl(value: object) -> int | None:
    if value is None:
        return None
    try:
        if isinstance(value, str):
            return parse_ttl_seconds(value)
        if isinstance(value, int) and not isinstance(value, bool):
            check_ttl_seconds(value)
            return value
    except PolicyError as exc:
        raise PolicyError(f"maxTtl: {exc}") from None
    raise PolicyError(f'maxTtl: expected text such as "365d" or seconds, got {type_name(value)}')
