"""A profile's enrollment methods and certificate defaults, typed and checked.

The store keeps both as snake_case JSON: EnrollmentConfig.from_store is the one reader of
the enrollment part (ACME, REST and the CLI all use it); services/profiles/defaults.py reads
the defaults. The REST API shows them in camelCase. These classes convert between the
three, always writing every key. Messages name the REST field (`defaults.keyAlgorithm[0]`...).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import Any, Final, TypeVar

from acme_server.services.errors import InvalidRequestError
from acme_server.services.profiles.defaults import (
    automatic_certificate_policies,
    parse_enum,
    parse_validity,
)
from ca_core.errors import CAError
from ca_core.extensions import policy_oid
from pki_types.model import ExtendedKeyUsage, HashAlgorithm, KeyAlgorithm, KeyUsage
from store import ProfileRecord

# Every ACME challenge type a profile may allow (RFC 8555 sections 8.3 and 8.4, RFC 8737);
# a profile offers those of them the server implements (validation/challenges.py).
CHALLENGE_TYPES: Final = ("http-01", "dns-01", "tls-alpn-01")


_READ_ENTRIES: Final = 1024  # profiles (versions of them) whose settings are kept read
_READ: dict[tuple[str, datetime], tuple[Mapping[str, Any], EnrollmentConfig]] = {}


@dataclass(frozen=True, slots=True)
class EnrollmentConfig:
    acme_enabled: bool = True
    eab_required: bool = False
    allow_ip_identifiers: bool = True
    api_enabled: bool = True
    challenge_types: tuple[str, ...] = CHALLENGE_TYPES  # allowed, in CHALLENGE_TYPES order
    caa_check: bool = True  # RFC 8659 CAA before issuing; off for purely internal names
    allow_key_export: bool = True  # managed private keys may be exported (REST and CLI)

    def __post_init__(self) -> None:
        unknown = [t for t in self.challenge_types if t not in CHALLENGE_TYPES]
        if unknown:
            raise InvalidRequestError(
                f"enrollment.acme.challengeTypes: unknown challenge type {unknown[0]!r} "
                f"(known: {', '.join(CHALLENGE_TYPES)})"
            )
        if not self.challenge_types:
            raise InvalidRequestError("enrollment.acme.challengeTypes must allow at least one type")
        ordered = tuple(t for t in CHALLENGE_TYPES if t in self.challenge_types)
        object.__setattr__(self, "challenge_types", ordered)

    @classmethod
    def of(cls, profile: ProfileRecord) -> EnrollmentConfig:
        """The profile's enrollment settings, read once per version of the profile (every
        ACME request asks; a profile's updated_at changes with each update)."""
        key = (profile.id, profile.updated_at)
        found = _READ.get(key)
        if found is None or found[0] != profile.enrollment:
            if len(_READ) >= _READ_ENTRIES:
                _READ.clear()
            found = _READ[key] = (profile.enrollment, cls.from_store(profile.enrollment))
        return found[1]

    @classmethod
    def from_store(cls, stored: Mapping[str, Any]) -> EnrollmentConfig:
        """Read the stored JSON; the one reader of it (ACME, REST and the CLI use this)."""
        acme = stored.get("acme")
        acme = acme if isinstance(acme, dict) else {}
        api = stored.get("api")
        api = api if isinstance(api, dict) else {}
        return cls(
            acme_enabled=bool(acme.get("enabled", False)),
            eab_required=bool(acme.get("eab_required", False)),
            allow_ip_identifiers=bool(acme.get("allow_ip_identifiers", True)),
            api_enabled=bool(api.get("enabled", True)),
            challenge_types=_stored_types(acme.get("challenge_types")),
            caa_check=bool(acme.get("caa_check", True)),
            allow_key_export=bool(api.get("allow_key_export", True)),
        )

    def to_store(self) -> dict[str, Any]:
        return {
            "acme": {
                "enabled": self.acme_enabled,
                "eab_required": self.eab_required,
                "allow_ip_identifiers": self.allow_ip_identifiers,
                "challenge_types": list(self.challenge_types),
                "caa_check": self.caa_check,
            },
            "api": {"enabled": self.api_enabled, "allow_key_export": self.allow_key_export},
        }

    def to_json(self) -> dict[str, Any]:
        return {
            "acme": {
                "enabled": self.acme_enabled,
                "eabRequired": self.eab_required,
                "allowIpIdentifiers": self.allow_ip_identifiers,
                "challengeTypes": list(self.challenge_types),
                "caaCheck": self.caa_check,
            },
            "api": {"enabled": self.api_enabled, "allowKeyExport": self.allow_key_export},
        }


def _stored_types(stored: object) -> tuple[str, ...]:
    """The stored list, unknown types dropped (a later server may know more); absent or
    empty: every type (profiles stored before the setting existed)."""
    if not isinstance(stored, list):
        return CHALLENGE_TYPES
    known = tuple(t for t in CHALLENGE_TYPES if t in stored)
    return known or CHALLENGE_TYPES


@dataclass(frozen=True, slots=True)
class Defaults:
    ttl: str = "90d"
    key_algorithm: KeyAlgorithm = KeyAlgorithm.EC_P256
    hash_algorithm: HashAlgorithm = HashAlgorithm.SHA256
    key_usages: tuple[KeyUsage, ...] = (KeyUsage.DIGITAL_SIGNATURE,)
    extended_key_usages: tuple[ExtendedKeyUsage, ...] = (
        ExtendedKeyUsage.SERVER_AUTH,
        ExtendedKeyUsage.CLIENT_AUTH,
    )
    # Dotted OIDs put in certificatePolicies of every leaf ([]: none). None (never set):
    # the CA/B Forum's domain-validated 2.23.140.1.2.1 on leaves with serverAuth, none on
    # the others; shown resolved for the profile's extended key usages.
    certificate_policies: tuple[str, ...] | None = None

    @classmethod
    def from_store(cls, stored: Mapping[str, Any]) -> Defaults:
        base = cls()
        return cls(
            ttl=check_ttl(str(stored.get("ttl", base.ttl)), "defaults.ttl"),
            key_algorithm=choice(
                KeyAlgorithm,
                stored.get("key_algorithm", base.key_algorithm),
                "defaults.keyAlgorithm",
            ),
            hash_algorithm=choice(
                HashAlgorithm,
                stored.get("hash_algorithm", base.hash_algorithm),
                "defaults.hashAlgorithm",
            ),
            key_usages=choices(
                KeyUsage, stored.get("key_usages", base.key_usages), "defaults.keyUsages"
            ),
            extended_key_usages=choices(
                ExtendedKeyUsage,
                stored.get("extended_key_usages", base.extended_key_usages),
                "defaults.extendedKeyUsages",
            ),
            certificate_policies=(
                policy_oids(stored["certificate_policies"], "defaults.certificatePolicies")
                if "certificate_policies" in stored
                else None
            ),
        )

    def to_store(self) -> dict[str, Any]:
        stored: dict[str, Any] = {
            "ttl": self.ttl,
            "key_algorithm": self.key_algorithm.value,
            "hash_algorithm": self.hash_algorithm.value,
            "key_usages": [u.value for u in self.key_usages],
            "extended_key_usages": [u.value for u in self.extended_key_usages],
        }
        if self.certificate_policies is not None:
            stored["certificate_policies"] = list(self.certificate_policies)
        return stored

    def to_json(self) -> dict[str, Any]:
        policies = self.certificate_policies
        if policies is None:
            policies = automatic_certificate_policies(self.extended_key_usages)
        return {
            "ttl": self.ttl,
            "keyAlgorithm": self.key_algorithm.value,
            "hashAlgorithm": self.hash_algorithm.value,
            "keyUsages": [u.value for u in self.key_usages],
            "extendedKeyUsages": [u.value for u in self.extended_key_usages],
            "certificatePolicies": list(policies),
        }


def check_ttl(text: str, where: str) -> str:
    try:
        parse_validity(text)
    except InvalidRequestError as exc:
        raise InvalidRequestError(f"{where}: {exc}") from None
    return text.strip()


E = TypeVar("E", bound=Enum)


def policy_oids(values: object, where: str) -> tuple[str, ...]:
    """Dotted certificate policy OIDs, each checked, duplicates dropped."""
    if not isinstance(values, list | tuple):
        raise InvalidRequestError(f"{where} must be an array")
    for i, value in enumerate(values):
        try:
            policy_oid(value if isinstance(value, str) else repr(value))
        except CAError as exc:
            raise InvalidRequestError(f"{where}[{i}]: {exc}") from None
    return tuple(dict.fromkeys(str(v) for v in values))


def choice(kind: type[E], value: object, where: str) -> E:
    try:
        return parse_enum(kind, value, "value")
    except InvalidRequestError as exc:
        raise InvalidRequestError(f"{where}: {exc}") from None


def choices(kind: type[E], values: object, where: str) -> tuple[E, ...]:
    if not isinstance(values, list | tuple):
        raise InvalidRequestError(f"{where} must be an array")
    picked = [choice(kind, v, f"{where}[{i}]") for i, v in enumerate(values)]
    return tuple(dict.fromkeys(picked))
