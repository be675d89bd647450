"""Renew now: a new certificate from the same profile and the same request attributes, with
a FRESH key, linked both ways to the one it renews (renewed-from / renewed-by), carrying the
renewed certificate's current metadata and owner (the machine identity it belongs to). The
profile's policy is applied again, as it is today: a renewal that the policy no longer
allows is refused like a new request.

Only certificates whose private key the server holds (managed keys) can be renewed by the
server; CSR and ACME certificates are renewed by their holder sending a new CSR or order.

The successor's `CertificateIssued` is followed by `CertificateRenewed` (services/events.py),
`automatic` when the renewal scheduler asked.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

from cryptography import x509

from acme_server.services.certificates.enrollment import Channel, Enrollment, EnrollRequest, enroll
from acme_server.services.certificates.issuance import BACKDATE
from acme_server.services.context import Services
from acme_server.services.errors import AlreadyRenewedError, ConflictError, InvalidRequestError
from acme_server.services.events import CertificateRenewed
from ca_core.errors import CAError
from ca_core.extensions import extended_key_usages_of, key_usages_of
from ca_core.names import name_to_subject
from ca_core.ttl import format_ttl
from pki_types.model import CertificateStatus, RequestMethod, SanType, SubjectAltName
from store import CertificateRecord, NotFound

CANNOT_RENEW = "cannot renew: the server does not hold this certificate's private key"


def _text(attributes: dict[str, Any], key: str) -> str:
    value = attributes.get(key)
    return value if isinstance(value, str) else ""


def _texts(attributes: dict[str, Any], key: str) -> tuple[str, ...] | None:
    value = attributes.get(key)
    if not isinstance(value, list):
        return None
    return tuple(str(v) for v in value)


def _from_attributes(cert: CertificateRecord, attributes: dict[str, Any]) -> EnrollRequest:
    sans: list[SubjectAltName] = []
    for san in attributes.get("altNames") or []:
        try:
            sans.append(SubjectAltName(SanType(san["type"]), str(san["value"])))
        except (KeyError, TypeError, ValueError):
            raise InvalidRequestError(
                f"cannot renew: the stored request of certificate {cert.id} is unreadable"
            ) from None
    return EnrollRequest(
        profile_ref=cert.profile_id,
        common_name=_text(attributes, "commonName"),
        sans=tuple(sans),
        organization=_text(attributes, "organization"),
        organizational_unit=_text(attributes, "organizationalUnit"),
        country=_text(attributes, "country"),
        state=_text(attributes, "state"),
        locality=_text(attributes, "locality"),
        ttl=_text(attributes, "ttl") or None,
        key_algorithm=_text(attributes, "keyAlgorithm") or cert.key_algorithm,
        signature_algorithm=_text(attributes, "signatureAlgorithm") or None,
        key_usages=_texts(attributes, "keyUsages"),
        extended_key_usages=_texts(attributes, "extendedKeyUsages"),
        metadata=cert.metadata,
        renewed_from_id=cert.id,
    )


def _from_certificate(cert: CertificateRecord) -> EnrollRequest:
    """For a managed certificate with no request record (e.g. the server's own TLS
    certificate): what the certificate itself says."""
    parsed = x509.load_pem_x509_certificate(cert.certificate_pem.encode())
    try:
        subject = name_to_subject(parsed.subject)
    except CAError as exc:
        raise InvalidRequestError(f"cannot renew: {exc}") from None
    extensions = parsed.extensions
    try:
        ku = extensions.get_extension_for_class(x509.KeyUsage).value
        key_usages: tuple[str, ...] = tuple(u.value for u in key_usages_of(ku))
    except x509.ExtensionNotFound:
        key_usages = ()
    try:
        eku = extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
        ekus: tuple[str, ...] = tuple(u.value for u in extended_key_usages_of(eku))
    except (x509.ExtensionNotFound, CAError):
        ekus = ()
    return EnrollRequest(
        profile_ref=cert.profile_id,
        common_name=subject.common_name,
        sans=tuple(SubjectAltName(SanType(s["type"]), s["value"]) for s in cert.sans),
        organization=subject.organization,
        organizational_unit=subject.organizational_unit,
        country=subject.country,
        state=subject.state,
        locality=subject.locality,
        ttl=format_ttl(_ttl_of(cert)),
        key_algorithm=cert.key_algorithm,
        key_usages=key_usages,
        extended_key_usages=ekus,
        metadata=cert.metadata,
        renewed_from_id=cert.id,
    )


def _ttl_of(cert: CertificateRecord) -> timedelta:
    """The TTL a certificate was issued with: its lifetime less the backdated minute in
    front of the issuance time (issuance.BACKDATE), so that renewals keep the TTL."""
    lifetime = cert.not_after - cert.not_before
    return lifetime - BACKDATE if lifetime > BACKDATE else lifetime


async def renewal_request(services: Services, cert: CertificateRecord) -> EnrollRequest:
    """The enrollment that renews `cert`: its request's attributes, or the certificate's."""
    if cert.certificate_request_id is not None:
        try:
            stored = await services.store.get_certificate_request(cert.certificate_request_id)
        except NotFound:
            stored = None
        if stored is not None and stored.method == RequestMethod.API_MANAGED:
            return _from_attributes(cert, stored.attributes)
    return _from_certificate(cert)


async def renew_now(
    services: Services,
    cert: CertificateRecord,
    *,
    channel: Channel = "cli",
    automatic: bool = False,
) -> Enrollment:
    """Issue the successor of `cert` now (see the module docstring)."""
    if cert.status == CertificateStatus.PENDING or not cert.certificate_pem:
        raise ConflictError(f"certificate {cert.id} was never issued: there is nothing to renew")
    if cert.renewed_by_id is not None:
        raise AlreadyRenewedError(
            f"certificate {cert.id} was already renewed by {cert.renewed_by_id}: renew that one"
        )
    if cert.encrypted_private_key is None:
        raise InvalidRequestError(CANNOT_RENEW)
    if cert.profile_id is None:
        raise ConflictError(f"cannot renew certificate {cert.id}: its profile was deleted")
    request = replace(
        await renewal_request(services, cert),
        owner_identity_id=cert.owner_identity_id,
        internal=cert.internal,
    )
    enrollment = await enroll(services, request, channel=channel)
    services.events.publish(
        CertificateRenewed.of(
            enrollment.issued.record, renewed_from_id=cert.id, automatic=automatic
        )
    )
    return enrollment
