"""Enrollment by the REST API and the CLI: a CSR, or a server-generated ("managed") key.

`enroll(services, request)` in order (STYLE habit 6, cheap checks first):

1. the profile, by slug or id (API enrollment refused when the profile turns it off);
2. the request as an IssueSpec: names, subject, enums, TTL and metadata checked, nothing
   stored yet, so a refused request changes nothing;
3. the profile's policy, with EVERY violation at once (PolicyViolationError), plus a
   signature algorithm whose family the signing key cannot produce;
4. a certificate request record with the normalised attributes and the metadata
   (read-only afterwards: renewal re-reads it);
5. issuance (reserve -> sign -> activate) and the request attached to the certificate.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any, Literal, TypeVar

from acme_server.services.certificates.issuance import IssuedCertificate, IssueSpec, csr_spec, issue
from acme_server.services.context import Services
from acme_server.services.errors import ConflictError, InvalidRequestError, ServiceError
from acme_server.services.policies.check import load_policy, policy_violations
from acme_server.services.profiles.defaults import parse_enum, parse_validity, profile_defaults
from acme_server.services.profiles.lookup import find_profile
from acme_server.services.profiles.settings import EnrollmentConfig
from ca_core.csr import csr_facts, load_csr
from ca_core.errors import CAError
from ca_core.extensions import key_usage_extension
from ca_core.goodkey import KeyBlocklist
from ca_core.names import general_names_to_sans, sans_to_general_names, subject_to_name
from ca_core.ttl import format_ttl
from pki_types.model import (
    ExtendedKeyUsage,
    IssuerType,
    KeyAlgorithm,
    KeyUsage,
    RequestMethod,
    SanType,
    SignatureAlgorithm,
    SubjectAltName,
    SubjectAttributes,
)
from policy import messages
from store import CertificateRequestRecord, ProfileRecord
from store.values import check_metadata

E = TypeVar("E", bound=StrEnum)
Channel = Literal["api", "cli"]

MAX_METADATA_PAIRS = 64
MAX_SANS = 1000  # a sanity bound before any policy (which may set a lower maxSans)
SUBJECT_FIELDS = ("organization", "organizational_unit", "country", "state", "locality")
_SAN_PREFIXES = {"dns": SanType.DNS, "ip": SanType.IP, "email": SanType.EMAIL, "uri": SanType.URI}
# Messages whose sentinels come after the signature algorithm's in policy/evaluate.py.
_AFTER_SIGNATURE = (
    "Key usage ",
    "Required key usage ",
    "Extended key usage ",
    "Required extended key usage ",
    messages.CA_NOT_ALLOWED,
    messages.TTL_EXCEEDED,
)


class PolicyViolationError(InvalidRequestError):
    """The request breaks the profile's policy; `violations` holds every message."""

    def __init__(self, violations: Sequence[str]) -> None:
        super().__init__("; ".join(violations))
        self.violations = tuple(violations)


@dataclass(frozen=True, slots=True)
class EnrollRequest:
    """What a caller asks for. With `csr_pem`, the subject, names and key come from the CSR
    and only ttl, signature algorithm and usages may be given besides.

    sans: SubjectAltName values, or text: "dns:NAME", "ip:ADDR", "email:ADDR", "uri:URI",
    or a bare value (an IP address, a URI with "://", an email with "@", else a DNS name).
    key_usages / extended_key_usages: None = the profile's defaults.
    owner_identity_id: the machine identity the certificate will belong to (the REST
    caller, the identity a client certificate is bound to); None for the CLI.
    internal: the server's own certificate (a renewal of one): its key never leaves it.
    """

    profile_ref: str | None
    common_name: str = ""
    sans: tuple[str | SubjectAltName, ...] = ()
    organization: str = ""
    organizational_unit: str = ""
    country: str = ""
    state: str = ""
    locality: str = ""
    csr_pem: str | None = None
    ttl: str | None = None
    key_algorithm: str | None = None
    signature_algorithm: str | None = None
    key_usages: tuple[str, ...] | None = None
    extended_key_usages: tuple[str, ...] | None = None
    metadata: Mapping[str, str] = field(default_factory=dict)
    renewed_from_id: str | None = None
    owner_identity_id: str | None = None
    internal: bool = False


@dataclass(frozen=True, slots=True)
class Enrollment:
    issued: IssuedCertificate
    request: CertificateRequestRecord


@dataclass(frozen=True, slots=True)
class _Prepared:
    spec: IssueSpec
    signature_algorithm: SignatureAlgorithm | None  # as asked, None = the profile's hash
    attributes: dict[str, Any]


def parse_san(text: str) -> SubjectAltName:
    prefix, sep, value = text.partition(":")
    if sep and prefix.strip().lower() in _SAN_PREFIXES:
        return SubjectAltName(_SAN_PREFIXES[prefix.strip().lower()], value.strip())
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


def checked_metadata(metadata: Mapping[str, str]) -> dict[str, str]:
    if len(metadata) > MAX_METADATA_PAIRS:
        raise InvalidRequestError(f"metadata may hold at most {MAX_METADATA_PAIRS} pairs")
    try:
        return check_metadata(metadata)
    except ValueError as exc:
        raise InvalidRequestError(str(exc)) from None


def _enums(kind: type[E], values: Sequence[str], what: str) -> frozenset[E]:
    return frozenset(parse_enum(kind, value, what) for value in values)


def _canonical_sans(sans: Sequence[str | SubjectAltName]) -> tuple[SubjectAltName, ...]:
    if len(sans) > MAX_SANS:
        raise InvalidRequestError(f"at most {MAX_SANS} alternative names are accepted")
    parsed = [san if isinstance(san, SubjectAltName) else parse_san(san) for san in sans]
    try:
        return general_names_to_sans(sans_to_general_names(parsed))
    except CAError as exc:
        raise InvalidRequestError(str(exc)) from None


def _check_leaf(spec: IssueSpec) -> None:
    """What the CA core would refuse at signing, refused before anything is stored."""
    if not spec.sans and not spec.subject.common_name:
        raise InvalidRequestError(
            "a certificate needs a common name or at least one subject alternative name"
        )
    try:
        subject_to_name(spec.subject)
        if spec.key_usages:
            key_usage_extension(spec.key_usages)
    except CAError as exc:
        raise InvalidRequestError(str(exc)) from None


def _attributes(spec: IssueSpec, signature: SignatureAlgorithm | None) -> dict[str, Any]:
    """The request as stored on its record (camelCase, as the REST API names it)."""
    subject = spec.subject
    return {
        "commonName": subject.common_name,
        "altNames": [{"type": san.type.value, "value": san.value} for san in spec.sans],
        "organization": subject.organization,
        "organizationalUnit": subject.organizational_unit,
        "country": subject.country,
        "state": subject.state,
        "locality": subject.locality,
        "keyAlgorithm": spec.key_algorithm.value if spec.key_algorithm else None,
        "signatureAlgorithm": signature.value if signature else None,
        "hashAlgorithm": spec.hash_algorithm.value,
        "keyUsages": sorted(u.value for u in spec.key_usages),
        "extendedKeyUsages": sorted(u.value for u in spec.extended_key_usages),
        "ttl": format_ttl(spec.validity),
    }


def _prepare(profile: ProfileRecord, request: EnrollRequest, blocklist: KeyBlocklist) -> _Prepared:
    defaults = profile_defaults(profile)
    validity = parse_validity(request.ttl) if request.ttl else defaults.validity
    signature = (
        parse_enum(SignatureAlgorithm, request.signature_algorithm, "signature algorithm")
        if request.signature_algorithm
        else None
    )
    hash_algorithm = signature.hash_algorithm if signature else defaults.hash_algorithm
    key_usages = (
        _enums(KeyUsage, request.key_usages, "key usage")
        if request.key_usages is not None
        else defaults.key_usages
    )
    extended_key_usages = (
        _enums(ExtendedKeyUsage, request.extended_key_usages, "extended key usage")
        if request.extended_key_usages is not None
        else defaults.extended_key_usages
    )
    metadata = checked_metadata(request.metadata)
    subject = SubjectAttributes(
        common_name=request.common_name.strip(),
        **{name: getattr(request, name).strip() for name in SUBJECT_FIELDS},
    )
    if request.csr_pem is not None:
        if profile.issuer_type == IssuerType.SELF_SIGNED.value:
            raise InvalidRequestError("Self-signed certificates are not supported for CSR signing")
        if request.key_algorithm or request.sans or subject != SubjectAttributes():
            raise InvalidRequestError(
                "a CSR carries its own subject, alternative names and key: leave out the "
                "common name, alternative names, subject attributes and key algorithm"
            )
        try:
            facts = csr_facts(load_csr(request.csr_pem), blocklist)
        except CAError as exc:
            raise InvalidRequestError(str(exc)) from None
        spec = csr_spec(
            profile,
            facts,
            request_method=RequestMethod.API_CSR,
            sans=_canonical_sans(facts.sans),
            key_usages=key_usages,
            extended_key_usages=extended_key_usages,
            validity=validity,
            hash_algorithm=hash_algorithm,
            metadata=metadata,
            renewed_from_id=request.renewed_from_id,
        )
        attributes = _attributes(spec, signature) | {"keyAlgorithm": facts.key_algorithm.value}
    else:
        key_algorithm = (
            parse_enum(KeyAlgorithm, request.key_algorithm, "key algorithm")
            if request.key_algorithm
            else defaults.key_algorithm
        )
        spec = IssueSpec(
            subject=subject,
            sans=_canonical_sans(request.sans),
            key_usages=key_usages,
            extended_key_usages=extended_key_usages,
            validity=validity,
            hash_algorithm=hash_algorithm,
            request_method=RequestMethod.API_MANAGED,
            key_algorithm=key_algorithm,
            metadata=metadata,
            auto_renew=profile.auto_renew,
            renewed_from_id=request.renewed_from_id,
        )
        attributes = _attributes(spec, signature)
    _check_leaf(spec)
    return _Prepared(spec=spec, signature_algorithm=signature, attributes=attributes)


async def _check_issuer(services: Services, profile: ProfileRecord) -> None:
    """Refuse before anything is stored when the profile's CA cannot sign (issue() checks
    again, for a CA disabled in between)."""
    if profile.issuer_type != IssuerType.CA.value:
        return
    if profile.ca_id is None:
        raise ConflictError(f"profile {profile.slug!r} has no issuing CA")
    ca = await services.store.get_ca(profile.ca_id)
    if ca.status != "active":
        raise ConflictError(f"issuing CA {ca.name!r} is {ca.status}")


async def _signer(services: Services, profile: ProfileRecord, spec: IssueSpec) -> KeyAlgorithm:
    """The algorithm of the key that signs: the issuing CA's, or the leaf's own."""
    if profile.issuer_type == IssuerType.CA.value and profile.ca_id is not None:
        return KeyAlgorithm((await services.store.get_ca(profile.ca_id)).key_algorithm)
    assert spec.key_algorithm is not None  # CSRs were refused for self-signed profiles
    return spec.key_algorithm


async def violations(services: Services, profile: ProfileRecord, prepared: _Prepared) -> list[str]:
    """Every policy message, in the policy engine's order; a signature algorithm of the
    wrong family for the signing key is reported in the signature algorithm's place."""
    policy = await load_policy(services, profile)
    found = await policy_violations(services, profile, policy, prepared.spec)
    asked = prepared.signature_algorithm
    if asked is None:
        return found
    signer = await _signer(services, profile, prepared.spec)
    if asked.is_rsa == signer.is_rsa:
        return found
    family = "RSA" if signer.is_rsa else "ECDSA"
    mismatch = messages.with_detail(
        messages.SIGNATURE_ALGORITHM_NOT_ALLOWED,
        f"{asked.value} (the signing key is {signer.value}, which signs with {family})",
    )
    kept = [m for m in found if not m.startswith(messages.SIGNATURE_ALGORITHM_NOT_ALLOWED)]
    at = next((i for i, m in enumerate(kept) if m.startswith(_AFTER_SIGNATURE)), len(kept))
    return [*kept[:at], mismatch, *kept[at:]]


async def enroll(
    services: Services, request: EnrollRequest, *, channel: Channel = "cli"
) -> Enrollment:
    """Check, record and issue (see the module docstring). Raises NotFoundError for an
    unknown profile, PolicyViolationError / InvalidRequestError for a refused request."""
    profile = await find_profile(services, request.profile_ref)
    if channel == "api" and not EnrollmentConfig.of(profile).api_enabled:
        raise InvalidRequestError(f"profile {profile.slug!r} does not allow API enrollment")
    prepared = _prepare(profile, request, services.key_blocklist)
    await _check_issuer(services, profile)
    found = await violations(services, profile, prepared)
    if found:
        raise PolicyViolationError(found)
    stored = await services.store.create_certificate_request(
        profile_id=profile.id,
        method=prepared.spec.request_method,
        csr_pem=request.csr_pem,
        attributes=prepared.attributes,
        metadata=prepared.spec.metadata,
        owner_identity_id=request.owner_identity_id,
    )
    spec = replace(
        prepared.spec,
        certificate_request_id=stored.id,
        owner_identity_id=request.owner_identity_id,
        internal=request.internal,
    )
    try:
        issued = await issue(services, profile, spec)
    except (ServiceError, CAError) as exc:
        await services.store.fail_certificate_request(stored.id, str(exc))
        if isinstance(exc, CAError):
            raise InvalidRequestError(str(exc)) from None
        raise
    except Exception:
        await services.store.fail_certificate_request(stored.id, "internal error")
        raise
    await services.store.attach_certificate(stored.id, issued.record.id)
    return Enrollment(
        issued=issued, request=await services.store.get_certificate_request(stored.id)
    )
