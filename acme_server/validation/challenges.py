"""Challenge types: which ones an authorization offers, and the validator for each.

VALIDATORS maps an RFC 8555 challenge type to the coroutine that checks it; a new type
plugs in by adding its entry (and its name to profile_settings.CHALLENGE_TYPES, where every
type a profile may allow is listed). `offered()` is what newOrder creates for one
identifier: the profile's allowed types that the server implements and that can validate
that kind of identifier.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Final

import aiohttp

from acme_server.validation.config import ValidationConfig
from acme_server.validation.dns01 import validate_dns01
from acme_server.validation.http01 import validate_http01
from acme_server.validation.resolver import Resolver
from acme_server.validation.tlsalpn01 import validate_tlsalpn01


@dataclass(frozen=True, slots=True)
class Attempt:
    """Everything a validator may need for one challenge."""

    identifier_type: str  # "dns" | "ip"
    identifier: str  # the authorization's value (no "*." label)
    wildcard: bool
    token: str
    key_authorization: str
    config: ValidationConfig
    resolver: Resolver
    session: aiohttp.ClientSession | None = None


Validator = Callable[[Attempt], Awaitable[None]]


async def _http01(attempt: Attempt) -> None:
    await validate_http01(
        identifier_type=attempt.identifier_type,
        identifier=attempt.identifier,
        token=attempt.token,
        key_authorization=attempt.key_authorization,
        config=attempt.config,
        resolver=attempt.resolver,
        session=attempt.session,
    )


async def _dns01(attempt: Attempt) -> None:
    await validate_dns01(
        identifier_type=attempt.identifier_type,
        identifier=attempt.identifier,
        key_authorization=attempt.key_authorization,
        resolver=attempt.resolver,
    )


async def _tlsalpn01(attempt: Attempt) -> None:
    await validate_tlsalpn01(
        identifier_type=attempt.identifier_type,
        identifier=attempt.identifier,
        key_authorization=attempt.key_authorization,
        config=attempt.config,
        resolver=attempt.resolver,
    )


VALIDATORS: Final[Mapping[str, Validator]] = {
    "http-01": _http01,
    "dns-01": _dns01,
    "tls-alpn-01": _tlsalpn01,
}

# RFC 8555 section 7.1.3: a wildcard is validated by dns-01 only. RFC 8738 section 7: an IP
# address is never validated by dns-01.
WILDCARD_TYPES: Final = frozenset({"dns-01"})
NOT_FOR_IP: Final = frozenset({"dns-01"})


def offered(allowed: Iterable[str], *, identifier_type: str, wildcard: bool) -> tuple[str, ...]:
    """The challenge types to create for one identifier, in `allowed`'s order."""
    types = [t for t in allowed if t in VALIDATORS]
    if wildcard:
        types = [t for t in types if t in WILDCARD_TYPES]
    if identifier_type == "ip":
        types = [t for t in types if t not in NOT_FOR_IP]
    return tuple(types)


def implemented(allowed: Iterable[str]) -> tuple[str, ...]:
    """The allowed types this server can validate (what a profile's directory offers)."""
    return tuple(t for t in allowed if t in VALIDATORS)
