"""A profile's defaults (TTL, key and hash algorithms, key usages) as typed values."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from enum import Enum
from typing import TypeVar

from acme_server.services.errors import InvalidRequestError
from ca_core.errors import CAError
from ca_core.ttl import parse_ttl
from policy.model import ExtendedKeyUsage, HashAlgorithm, KeyAlgorithm, KeyUsage
from store import ProfileRecord

E = TypeVar("E", bound=Enum)


def parse_enum(kind: type[E], value: object, what: str) -> E:
    try:
        return kind(value)
    except ValueError:
        allowed = ", ".join(str(v.value) for v in kind)
        raise InvalidRequestError(f"unknown {what} {value!r}; use one of {allowed}") from None


def parse_validity(text: str) -> timedelta:
    try:
        return parse_ttl(text)
    except CAError as exc:
        raise InvalidRequestError(str(exc)) from None


@dataclass(frozen=True, slots=True)
class ProfileDefaults:
    validity: timedelta
    key_algorithm: KeyAlgorithm
    hash_algorithm: HashAlgorithm
    key_usages: frozenset[KeyUsage]
    extended_key_usages: frozenset[ExtendedKeyUsage]
    certificate_policies: tuple[str, ...] = ()


def profile_defaults(profile: ProfileRecord) -> ProfileDefaults:
    d = profile.defaults
    return ProfileDefaults(
        validity=parse_validity(str(d.get("ttl", "90d"))),
        key_algorithm=parse_enum(KeyAlgorithm, d.get("key_algorithm", "EC_P256"), "key algorithm"),
        hash_algorithm=parse_enum(
            HashAlgorithm, d.get("hash_algorithm", "SHA256"), "hash algorithm"
        ),
        key_usages=frozenset(parse_enum(KeyUsage, v, "key usage") for v in d.get("key_usages", [])),
        extended_key_usages=frozenset(
            parse_enum(ExtendedKeyUsage, v, "extended key usage")
            for v in d.get("extended_key_usages", [])
        ),
        certificate_policies=tuple(str(v) for v in d.get("certificate_policies", [])),
    )
