"""Hypothesis strategies for names, patterns, policies and JSON documents."""

from __future__ import annotations

import ipaddress
import re
from typing import Any

from hypothesis import strategies as st

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
from policy.facts import RequestFacts
from policy.rules import AttributeRule, CertificatePolicy, NameRules, UsageRules

# --- names ------------------------------------------------------------------------------

labels = st.text(alphabet="abcdefghijklmnopqrstuvwxyzABC0123456789-", min_size=1, max_size=12)
unicode_labels = st.text(alphabet="abcäöüßéçñøжλ中", min_size=1, max_size=8)
dns_names = st.lists(st.one_of(labels, labels, unicode_labels), min_size=1, max_size=4).map(
    ".".join
)
wildcard_names = dns_names.map(lambda name: "*." + name)
ipv4 = st.ip_addresses(v=4).map(str)
ipv6 = st.ip_addresses(v=6).map(str)
ip_values = st.one_of(ipv4, ipv6)
emails = st.tuples(labels, dns_names).map(lambda t: f"{t[0]}@{t[1]}")
uris = st.tuples(st.sampled_from(["https", "spiffe", "urn"]), dns_names, st.lists(labels)).map(
    lambda t: f"{t[0]}://{t[1]}/" + "/".join(t[2])
)
VALUES_BY_TYPE = {
    SanType.DNS: st.one_of(dns_names, wildcard_names),
    SanType.IP: ip_values,
    SanType.EMAIL: emails,
    SanType.URI: uris,
}
any_text = st.text(max_size=80)
weird_text = st.one_of(
    any_text,
    st.text(alphabet="*.@/:%[]()\\ \t\nxn--aA0\u00e9\u3002\uff45", max_size=40),
    st.sampled_from(
        ["", ".", "..", "*", "*.", "@", "xn--", "xn--zz", "::ffff:10.0.0.1", "a" * 3000]
    ),
)


def sans_of(values: st.SearchStrategy[str]) -> st.SearchStrategy[SubjectAltName]:
    return st.builds(SubjectAltName, st.sampled_from(list(SanType)), values)


typed_sans = st.sampled_from(list(SanType)).flatmap(
    lambda t: VALUES_BY_TYPE[t].map(lambda v: SubjectAltName(t, v))
)

# --- patterns that match a given value, by construction ---------------------------------


@st.composite
def matching_pattern(draw: st.DrawFn, san_type: SanType, value: str) -> str:
    """A pattern that certainly matches `value` (read as a deny pattern)."""
    regex = "re:" + draw(st.sampled_from(["", ".*"])) + re.escape(_recase(draw, value))
    if san_type is SanType.DNS:
        parts = value.split(".")
        index = draw(st.integers(0, len(parts) - 1))
        star = ".".join("*" if i == index else p for i, p in enumerate(parts))
        other = ".".join("other" if p == "*" else p for p in parts)  # a name the wildcard covers
        exact = _recase(draw, value) + draw(st.sampled_from(["", "."]))
        return draw(st.sampled_from([exact, star, regex, other]))
    if san_type is SanType.IP:
        address = ipaddress.ip_address(value)
        prefix = draw(st.integers(0, address.max_prefixlen))
        network = ipaddress.ip_network(f"{address}/{prefix}", strict=False)
        return draw(st.sampled_from([str(address), str(network), regex]))
    if san_type is SanType.EMAIL:
        local, _, domain = value.rpartition("@")
        parts = domain.split(".")
        index = draw(st.integers(0, len(parts) - 1))
        star = ".".join("*" if i == index else p for i, p in enumerate(parts))
        return draw(st.sampled_from([_recase(draw, value), f"*@{domain}", f"{local}@{star}"]))
    return draw(st.sampled_from([_recase(draw, value), regex]))


def _recase(draw: st.DrawFn, value: str) -> str:
    """The same name in other ASCII letter cases (Unicode case mappings may change length)."""
    upper = "".join(c.upper() if c.isascii() else c for c in value)
    lower = "".join(c.lower() if c.isascii() else c for c in value)
    return draw(st.sampled_from([value, upper, lower]))


# --- arbitrary valid patterns and policies ----------------------------------------------

glob_dns = st.lists(st.one_of(labels, st.just("*")), min_size=1, max_size=4).map(".".join)
regex_patterns = st.lists(
    st.sampled_from(["a", "b", "-", ".", r"\.", ".*", "[a-z]+", "(x|y)", "\\d", "é", "@", "/"]),
    min_size=1,
    max_size=6,
).map(lambda parts: "re:" + "".join(parts))
PATTERNS_BY_TYPE = {
    SanType.DNS: st.one_of(glob_dns, regex_patterns),
    SanType.IP: st.one_of(
        ip_values, st.ip_addresses(v=4).map(lambda a: f"{a}/32"), st.just("10.0.0.0/8")
    ),
    SanType.EMAIL: st.one_of(emails, dns_names.map(lambda d: "*@" + d), regex_patterns),
    SanType.URI: st.one_of(uris, uris.map(lambda u: u + "*"), regex_patterns),
}
text_patterns = st.one_of(labels, labels.map(lambda x: x + "*"), regex_patterns)


def pattern_lists(patterns: st.SearchStrategy[str]) -> st.SearchStrategy[tuple[str, ...]]:
    return st.lists(patterns, max_size=3).map(tuple)


def name_rules(san_type: SanType) -> st.SearchStrategy[NameRules]:
    patterns = PATTERNS_BY_TYPE[san_type]
    return st.builds(NameRules, pattern_lists(patterns), pattern_lists(patterns))


def _attribute_rules(attribute: SubjectField) -> st.SearchStrategy[AttributeRule]:
    patterns = PATTERNS_BY_TYPE[SanType.EMAIL] if attribute is SubjectField.EMAIL else text_patterns
    return st.builds(
        lambda required, pats, allowed: AttributeRule(required, pats, allowed or required),
        st.booleans(),
        pattern_lists(patterns),
        st.booleans(),
    )


def _usage_rules(cls: type[KeyUsage] | type[ExtendedKeyUsage]) -> st.SearchStrategy[Any]:
    members = st.frozensets(st.sampled_from(list(cls)))
    return st.builds(
        lambda allowed, required: UsageRules(allowed | required if allowed else allowed, required),
        members,
        members,
    )


_SAN_TYPE_SETS = st.one_of(
    st.just(frozenset(SanType)), st.frozensets(st.sampled_from(list(SanType)))
)
_SANS = st.fixed_dictionaries({}, optional={t: name_rules(t) for t in SanType})
_SUBJECT = st.fixed_dictionaries({}, optional={f: _attribute_rules(f) for f in SubjectField})
_KEY_USAGES = _usage_rules(KeyUsage)
_EXTENDED_KEY_USAGES = _usage_rules(ExtendedKeyUsage)


@st.composite
def policies(draw: st.DrawFn) -> CertificatePolicy:
    """Valid policies of every shape (contradictions are repaired, not filtered)."""
    allowed_types = draw(_SAN_TYPE_SETS)
    required_types = draw(_SAN_TYPE_SETS) & allowed_types
    return CertificatePolicy(
        common_name=draw(name_rules(SanType.DNS)),
        require_common_name=draw(st.booleans()),
        sans=draw(_SANS),
        allowed_san_types=allowed_types,
        required_san_types=required_types,
        allow_wildcards=draw(st.booleans()),
        max_sans=draw(st.none() | st.integers(len(required_types), 20)),
        subject=draw(_SUBJECT),
        key_algorithms=draw(st.frozensets(st.sampled_from(list(KeyAlgorithm)))),
        signature_algorithms=draw(st.frozensets(st.sampled_from(list(SignatureAlgorithm)))),
        key_usages=draw(_KEY_USAGES),
        extended_key_usages=draw(_EXTENDED_KEY_USAGES),
        max_ttl_seconds=draw(st.none() | st.integers(1, 100 * 365 * 86400)),
    )


# --- requests ---------------------------------------------------------------------------

subjects = st.builds(
    SubjectAttributes,
    common_name=st.one_of(st.just(""), dns_names, weird_text),
    organization=weird_text,
    organizational_unit=weird_text,
    country=weird_text,
    state=weird_text,
    locality=weird_text,
)
facts = st.builds(
    RequestFacts,
    subject=subjects,
    email_address=st.one_of(emails, weird_text),
    sans=st.lists(st.one_of(typed_sans, sans_of(weird_text)), max_size=6).map(tuple),
    key_algorithm=st.none() | st.sampled_from(list(KeyAlgorithm)),
    signature_algorithm=st.none() | st.sampled_from(list(SignatureAlgorithm)),
    key_usages=st.frozensets(st.sampled_from(list(KeyUsage))),
    extended_key_usages=st.frozensets(st.sampled_from(list(ExtendedKeyUsage))),
    ttl_seconds=st.none() | st.integers(min_value=-(10**20), max_value=10**20),
    is_ca=st.booleans(),
)

# --- JSON -------------------------------------------------------------------------------

json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True),
    st.text(max_size=20),
    st.sampled_from(["dns_name", "RSA_2048", "ECDSA-SHA256", "server_auth", "re:(", "90d", "*"]),
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=20,
)
KNOWN_KEYS = [
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
]
INNER_KEYS = ["allowed", "denied", "required", "patterns", "dns_name", "organization", "email"]
near_values = st.recursive(
    json_scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.sampled_from(INNER_KEYS), inner, max_size=4)
    ),
    max_leaves=12,
)
near_documents = st.dictionaries(st.sampled_from(KNOWN_KEYS), near_values, max_size=6)
