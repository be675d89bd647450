"""A profile's defaults (TTL, key and hash algorithms, key usages, certificate policies) as
typed values, and the certificatePolicies a leaf of the profile gets."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import timedelta
from enum import Enum
from typing import Final, TypeVar

from acme_server.services.errors import InvalidRequestError
from ca_core.errors import CAError
from ca_core.ttl import parse_ttl
from pki_types.model import ExtendedKeyUsage, HashAlgorithm, KeyAlgorithm, KeyUsage
from store import ProfileRecord

E = TypeVar("E", bound=Enum)

# The CA/Browser Forum's reserved policy OID for domain-validated TLS server certificates
# (Baseline Requirements 7.1.6.1), which the BRs require in every subscriber certificate.
CABF_DOMAIN_VALIDATED: Final = "2.23.140.1.2.1"


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
    # The profile's certificate_policies as set (() = none); None when never set: the
    # CA/B Forum DV OID on TLS server leaves (leaf_certificate_policies).
    certificate_policies: tuple[str, ...] | None = None


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
        certificate_policies=(
            tuple(str(v) for v in d["certificate_policies"])
            if isinstance(d.get("certificate_policies"), list)
            else None
        ),
    )


def automatic_certificate_policies(ekus: Collection[ExtendedKeyUsage]) -> tuple[str, ...]:
    """The policies of a profile that never set any, for a leaf with these extended key
    usages: the CA/B Forum DV OID on TLS server certificates, none on the others (client
    and code-signing certificates are not domain-validated TLS certificates)."""
    return (CABF_DOMAIN_VALIDATED,) if ExtendedKeyUsage.SERVER_AUTH in ekus else ()


def leaf_certificate_policies(
    defaults: ProfileDefaults, ekus: Collection[ExtendedKeyUsage]
) -> tuple[str, ...]:
    """The certificatePolicies OIDs of a leaf with these extended key usages: the profile's
    own when it set them (on every leaf), else the automatic ones."""
    if defaults.certificate_policies is not None:
        return defaults.certificate_policies
    return automatic_certificate_policies(ekus)
