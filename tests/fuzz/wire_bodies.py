"""REST request bodies shaped like each route's own (the member names and nested objects its
handler reads, with values of every JSON type and spelling), so that fuzzed bodies get past
"unknown field" to the checks behind it: policy rules, profile enrollment and defaults, CA
creation, certificate export, revocation, renewal settings, EAB credentials, logins.

    RestBodies(policy_ids, ca_ids, profile_ids).bodies_for(route_path)  # SearchStrategy[bytes]
"""

from __future__ import annotations

import json
import re
from typing import Any

from hypothesis import strategies as st

from tests.fuzz.strategies import JSON, KEYED_JSON

Obj = st.SearchStrategy[dict[str, Any]]

TEXT = st.one_of(
    st.sampled_from(["", " ", "x", "default", "spare", "a" * 300, "\u0000", "\u202e", "é"]),
    st.text(max_size=12),
)
TTL = st.sampled_from(["1d", "30d", "365d", "0s", "-1d", "1h", "P1D", "99999999999d", "1.5d", ""])
KEY_ALGS = st.sampled_from(["EC_P256", "EC_P384", "RSA_2048", "EC_P521", "RSA_1024", "ed25519"])
HASHES = st.sampled_from(["SHA256", "SHA384", "SHA512", "MD5", "sha256"])
USAGES = st.sampled_from(
    ["digital_signature", "key_encipherment", "server_auth", "client_auth", "crl_sign",
     "key_cert_sign", "email_protection", "any", "nope"]
)  # fmt: skip
SAN_TYPES = st.sampled_from(["dns_name", "ip_address", "email", "uri", "other"])
PATTERNS = st.lists(
    st.sampled_from(["*.example.com", "example.com", "*", "**", "10.0.0.0/8", "*.*", "[", ""])
    | st.text(max_size=8),
    max_size=3,
)


def _value(common: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Mostly a value of the expected shape, sometimes any JSON."""
    return st.one_of(common, common, common, JSON)


def _object(required: dict[str, Any], optional: dict[str, Any]) -> Obj:
    return st.fixed_dictionaries(
        {k: _value(v) for k, v in required.items()},
        optional={k: _value(v) for k, v in optional.items()},
    )


NAME_RULES = _object({}, {"allowed": PATTERNS, "denied": PATTERNS, "required": st.booleans()})
USAGE_RULES = _object({}, {"allowed": st.lists(USAGES, max_size=3), "required": st.lists(USAGES)})
RULES = _object(
    {},
    {
        "commonName": NAME_RULES,
        "sans": st.dictionaries(SAN_TYPES, NAME_RULES, max_size=2),
        "allowedSanTypes": st.lists(SAN_TYPES, max_size=3),
        "requiredSanTypes": st.lists(SAN_TYPES, max_size=2),
        "allowWildcards": st.booleans(),
        "maxSans": st.integers(-1, 2**40),
        "subject": st.dictionaries(
            st.sampled_from(["organization", "country", "state", "locality", "x"]),
            _object(
                {}, {"required": st.booleans(), "patterns": PATTERNS, "allowed": st.booleans()}
            ),
            max_size=2,
        ),
        "keyAlgorithms": st.lists(KEY_ALGS, max_size=3),
        "signatureAlgorithms": st.lists(st.sampled_from(["ECDSA-SHA256", "RSA-SHA256", "x"])),
        "keyUsages": USAGE_RULES,
        "extendedKeyUsages": USAGE_RULES,
        "maxTtl": TTL,
    },
)
POLICY = _object({"name": TEXT}, {"description": TEXT, "rules": RULES})
ENROLLMENT = _object(
    {},
    {
        "acme": _object(
            {},
            {
                "enabled": st.booleans(),
                "eabRequired": st.booleans(),
                "allowIpIdentifiers": st.booleans(),
                "caaCheck": st.booleans(),
                "challengeTypes": st.lists(
                    st.sampled_from(["http-01", "dns-01", "tls-alpn-01", "x"]), max_size=3
                ),
            },
        ),
        "api": _object({}, {"enabled": st.booleans()}),
    },
)
DEFAULTS = _object(
    {},
    {
        "ttl": TTL,
        "keyAlgorithm": KEY_ALGS,
        "hashAlgorithm": HASHES,
        "keyUsages": st.lists(USAGES, max_size=3),
        "extendedKeyUsages": st.lists(USAGES, max_size=3),
        "certificatePolicies": st.lists(st.sampled_from(["2.23.140.1.2.1", "1.2", "x", ""])),
    },
)


def _profile(policies: list[str], cas: list[str]) -> Obj:
    return _object(
        {"slug": TEXT},
        {
            "name": TEXT,
            "description": TEXT,
            "policyId": st.sampled_from(policies) | TEXT,
            "caId": st.sampled_from(cas) | TEXT,
            "issuerType": st.sampled_from(["ca", "self_signed", "acme", "x"]),
            "enrollment": ENROLLMENT,
            "defaults": DEFAULTS,
            "autoRenew": st.booleans(),
            "renewBeforeDays": st.integers(-5, 10**12),
            "isDefault": st.booleans(),
        },
    )


def _ca(cas: list[str]) -> Obj:
    subject = st.dictionaries(
        st.sampled_from(["commonName", "organization", "organizationalUnit", "country", "x"]),
        TEXT,
        max_size=3,
    )
    return _object(
        {"type": st.sampled_from(["root", "intermediate", "x"]), "name": TEXT},
        {
            "subject": subject,
            "keyAlgorithm": st.sampled_from(["EC_P256", "EC_P384", "x"]),  # no slow RSA keys
            "hashAlgorithm": HASHES,
            "ttl": TTL,
            "parentCaId": st.sampled_from(cas) | TEXT,
        },
    )


ATTRIBUTES = _object(
    {},
    {
        "commonName": TEXT,
        "altNames": st.one_of(TEXT, st.lists(TEXT, max_size=3), st.just("a.test, 10.0.0.1")),
        "ttl": TTL,
        "keyAlgorithm": KEY_ALGS,
        "signatureAlgorithm": st.sampled_from(["ECDSA-SHA256", "RSA-SHA256", "x"]),
        "keyUsages": st.lists(USAGES, max_size=3),
        "extendedKeyUsages": st.lists(USAGES, max_size=3),
        "organization": TEXT,
        "country": st.sampled_from(["US", "USA", "", "u"]),
    },
)
METADATA = st.dictionaries(TEXT, TEXT | JSON, max_size=3)
REASONS = st.sampled_from(["unspecified", "keyCompromise", "superseded", "removeFromCRL", "x"])
STATUSES = st.sampled_from(["active", "disabled", "revoked", "pending", "x"])


def _routes(policies: list[str], cas: list[str], profiles: list[str]) -> list[tuple[bytes, Obj]]:
    """(the end of a route's path, its body's shape), the more specific first."""
    renewal = {"autoRenew": st.booleans(), "renewBeforeDays": st.integers(-5, 10**6)}
    export = {
        "format": st.sampled_from(["pkcs12", "pem", "der", "x"]),
        "password": TEXT,
        "alias": TEXT,
    }
    enroll = {
        "attributes": ATTRIBUTES,
        "metadata": METADATA,
        "csr": TEXT,
        "certificate": TEXT,
        "ttl": TTL,
    }
    return [
        (b"/eab-credentials", _object({}, {"reusable": st.booleans(), "hmacAlgorithm": HASHES})),
        (b"/metadata", _object({"metadata": METADATA}, {})),
        (b"/auto-renew", _object({}, renewal)),
        (b"/token/revoke", _object({"accessToken": TEXT}, {})),
        (b"/revoke", _object({}, {"revocationReason": REASONS})),
        (b"/export", _object({}, export)),
        (b"/renew", _object({}, {"ttl": TTL})),
        (b"/universal-auth/login", _object({"clientId": TEXT, "clientSecret": TEXT}, {})),
        (b"/certificates", _object({"profileId": st.sampled_from(profiles) | TEXT}, enroll)),
        (b"/certificate-policies", POLICY),
        (b"/certificate-profiles", _profile(policies, cas)),
        (b"/ca/internal", _ca(cas) | _object({"status": STATUSES}, {})),
    ]  # fmt: skip


_LAST_PARAM = re.compile(rb"/\{\w+\}$")


class RestBodies:
    """The body shape of each REST route, built once per world."""

    def __init__(self, policies: list[str], cas: list[str], profiles: list[str]) -> None:
        self._routes = [
            (end, st.builds(_encode, shape)) for end, shape in _routes(policies, cas, profiles)
        ]
        self._generic = st.builds(_encode, KEYED_JSON)

    def bodies_for(self, template: bytes) -> st.SearchStrategy[bytes]:
        """The body shape of the route with path `template` (any JSON if it has none)."""
        path = _LAST_PARAM.sub(b"", template)
        for end, strategy in self._routes:
            if path.endswith(end):
                return strategy
        return self._generic


def _encode(value: Any) -> bytes:
    return json.dumps(value).encode()
