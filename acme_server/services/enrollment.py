"""Enrollment by the REST API and the CLI: a CSR, or a server-generated ("managed") key."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field

from acme_server.services.context import Services
from acme_server.services.errors import InvalidRequestError
from acme_server.services.issuance import IssuedCertificate, IssueSpec, issue
from acme_server.services.profile_defaults import parse_enum, parse_validity, profile_defaults
from acme_server.services.profiles import find_profile
from ca_core.csr import csr_facts, load_csr
from ca_core.errors import CAError
from policy.model import (
    KeyAlgorithm,
    RequestMethod,
    SanType,
    SubjectAltName,
    SubjectAttributes,
)

_SAN_PREFIXES = {"dns": SanType.DNS, "ip": SanType.IP, "email": SanType.EMAIL, "uri": SanType.URI}


@dataclass(frozen=True, slots=True)
class EnrollRequest:
    profile_ref: str | None
    common_name: str = ""
    sans: tuple[str, ...] = ()  # "dns:example.com", "ip:10.0.0.1", or a bare value
    csr_pem: str | None = None
    ttl: str | None = None
    key_algorithm: str | None = None
    metadata: dict[str, str] = field(default_factory=dict)


def parse_san(text: str) -> SubjectAltName:
    prefix, sep, value = text.partition(":")
    if sep and prefix.lower() in _SAN_PREFIXES:
        return SubjectAltName(_SAN_PREFIXES[prefix.lower()], value.strip())
    value = text.strip()
    try:
        return SubjectAltName(SanType.IP, str(ipaddress.ip_address(value)))
    except ValueError:
        pass
    if "://" in value:
        return SubjectAltName(SanType.URI, value)
    if "@" in value:
        return SubjectAltName(SanType.EMAIL, value)
    return SubjectAltName(SanType.DNS, value)


async def enroll(services: Services, request: EnrollRequest) -> IssuedCertificate:
    profile = await find_profile(services, request.profile_ref)
    defaults = profile_defaults(profile)
    validity = parse_validity(request.ttl) if request.ttl else defaults.validity
    if request.csr_pem is not None:
        if request.key_algorithm:
            raise InvalidRequestError("a CSR carries its own key: leave out the key algorithm")
        try:
            facts = csr_facts(load_csr(request.csr_pem))
        except CAError as exc:
            raise InvalidRequestError(str(exc)) from None
        spec = IssueSpec(
            subject=facts.subject,
            sans=facts.sans,
            key_usages=defaults.key_usages,
            extended_key_usages=defaults.extended_key_usages,
            validity=validity,
            hash_algorithm=defaults.hash_algorithm,
            request_method=RequestMethod.API_CSR,
            public_key=facts.public_key,
            metadata=request.metadata,
        )
    else:
        key_algorithm = (
            parse_enum(KeyAlgorithm, request.key_algorithm, "key algorithm")
            if request.key_algorithm
            else defaults.key_algorithm
        )
        spec = IssueSpec(
            subject=SubjectAttributes(common_name=request.common_name),
            sans=tuple(parse_san(s) for s in request.sans),
            key_usages=defaults.key_usages,
            extended_key_usages=defaults.extended_key_usages,
            validity=validity,
            hash_algorithm=defaults.hash_algorithm,
            request_method=RequestMethod.API_MANAGED,
            key_algorithm=key_algorithm,
            metadata=request.metadata,
            auto_renew=profile.auto_renew,
        )
    try:
        return await issue(services, profile, spec)
    except CAError as exc:
        raise InvalidRequestError(str(exc)) from None
