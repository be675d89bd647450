"""Hypothesis strategies for hostile input: random bytes and JSON, and byte-level mutations
of valid JWS bodies, CSRs and PEM text; plus `examples(n)`, the per-test example count
scaled by the active profile (see tests/fuzz/conftest.py)."""

from __future__ import annotations

import base64
import json
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

JSON_SCALARS = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=40)
JSON = st.recursive(
    JSON_SCALARS,
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=12), children, max_size=5)
    ),
    max_leaves=20,
)
# Names the ACME and REST parsers look at, so random objects reach past the first check.
ACME_KEYS = st.sampled_from(
    [
        "protected", "payload", "signature", "header", "alg", "nonce", "url", "jwk", "kid",
        "identifiers", "type", "value", "csr", "certificate", "reason", "contact",
        "termsOfServiceAgreed", "onlyReturnExisting", "externalAccountBinding", "notBefore",
        "notAfter", "kty", "crv", "x", "y", "n", "e",
    ]
)  # fmt: skip
REST_KEYS = st.sampled_from(
    [
        "profileId", "csr", "attributes", "commonName", "altNames", "ttl", "keyAlgorithm",
        "metadata", "keyUsages", "extendedKeyUsages", "signatureAlgorithm", "organization",
    ]
)  # fmt: skip
KEYED_JSON = st.recursive(
    JSON_SCALARS,
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(ACME_KEYS | REST_KEYS | st.text(max_size=8), children, max_size=6)
    ),
    max_leaves=16,
)


def examples(n: int) -> settings:
    """`n` examples in the normal run; the `fuzz` profile multiplies them."""
    active = settings.default
    scale = 1 if active is None else max(1, active.max_examples // 100)
    return settings(
        max_examples=n * scale,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    )


@st.composite
def mutated(draw: st.DrawFn, original: bytes) -> bytes:
    """`original` with a few random byte flips, insertions, deletions or truncation."""
    data = bytearray(original)
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["flip", "insert", "delete", "truncate", "duplicate"]))
        if not data:
            data.extend(draw(st.binary(min_size=1, max_size=8)))
            continue
        at = draw(st.integers(0, len(data) - 1))
        if op == "flip":
            data[at] ^= draw(st.integers(1, 255))
        elif op == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=8))
        elif op == "delete":
            del data[at : at + draw(st.integers(1, 16))]
        elif op == "truncate":
            del data[at:]
        else:
            data[at:at] = data[at : at + draw(st.integers(1, 32))]
    if data == original:  # two flips of one byte can cancel out: a mutation always changes
        data.append(0)
    return bytes(data)


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@st.composite
def mutated_jws(draw: st.DrawFn, document: dict[str, str]) -> bytes:
    """A flattened JWS, mutated as bytes, or member by member (decoded, mutated, re-encoded)."""
    if draw(st.booleans()):
        return draw(mutated(json.dumps(document).encode()))
    changed: dict[str, Any] = dict(document)
    member = draw(st.sampled_from(sorted(document)))
    raw = base64.urlsafe_b64decode(document[member] + "=" * (-len(document[member]) % 4))
    choice = draw(st.integers(0, 2))
    if choice == 0:
        changed[member] = b64(draw(mutated(raw)))
    elif choice == 1:
        changed[member] = draw(JSON)
    else:
        changed[draw(ACME_KEYS)] = draw(KEYED_JSON)
    return json.dumps(changed).encode()
