"""Certificates, requests, bundles and CRLs as the REST API shows them (camelCase JSON,
UTC ISO 8601 times ending in "Z", serial numbers as `openssl x509 -serial` prints them:
upper-case hex of even length, no colons)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from acme_server.rest.common import iso
from acme_server.services.certificates.bundles import Bundle
from acme_server.services.certificates.enrollment import Enrollment
from acme_server.services.certificates.inventory import CertificateDetails, effective_status
from pki_types.model import SubjectAttributes
from store import CertificateRecord, CertificateRequestRecord, CRLRecord


def certificate_summary(record: CertificateRecord, now: datetime) -> dict[str, Any]:
    """One row of the inventory."""
    return {
        "id": record.id,
        "serialNumber": record.serial_hex,
        "status": effective_status(record, now).value,
        "commonName": record.common_name,
        "friendlyName": record.friendly_name,
        "altNames": [{"type": s["type"], "value": s["value"]} for s in record.sans],
        "notBefore": iso(record.not_before),
        "notAfter": iso(record.not_after),
        "caId": record.ca_id,
        "profileId": record.profile_id,
        "requestMethod": record.request_method.value,
        "keyAlgorithm": record.key_algorithm,
        "hasPrivateKey": record.encrypted_private_key is not None,
        "autoRenew": record.auto_renew,
        "renewal": {
            "status": record.renewal_status,
            "lastError": record.renewal_error,
            "attempts": record.renewal_attempts,
            "nextAttemptAt": iso(record.next_renewal_at),
        },
        "metadata": dict(record.metadata),
        "renewedFromId": record.renewed_from_id,
        "renewedById": record.renewed_by_id,
        "revokedAt": iso(record.revoked_at),
        "revocationReason": None
        if record.revocation_reason is None
        else record.revocation_reason.value,
        "certificateRequestId": record.certificate_request_id,
        "createdAt": iso(record.created_at),
    }


def _subject(subject: SubjectAttributes | None) -> dict[str, str] | None:
    if subject is None:
        return None
    return {
        "commonName": subject.common_name,
        "organization": subject.organization,
        "organizationalUnit": subject.organizational_unit,
        "country": subject.country,
        "state": subject.state,
        "locality": subject.locality,
    }


def certificate_details(details: CertificateDetails, now: datetime) -> dict[str, Any]:
    """Everything a certificate's details page shows (no private key)."""
    record = details.record
    out = certificate_summary(record, now)
    out["status"] = details.status.value
    out.update(
        {
            "subject": _subject(details.subject),
            "subjectDn": details.subject_dn,
            "issuerDn": details.issuer_dn,
            "issuingCa": None
            if details.ca is None
            else {"id": details.ca.id, "name": details.ca.name},
            "profile": None
            if details.profile is None
            else {"id": details.profile.id, "slug": details.profile.slug},
            "basicConstraints": None
            if details.is_ca is None
            else {"isCA": details.is_ca, "pathLength": details.path_length},
            "keyUsages": None if details.key_usages is None else list(details.key_usages),
            "extendedKeyUsages": None
            if details.extended_key_usages is None
            else list(details.extended_key_usages),
            "signatureAlgorithm": details.signature_algorithm,
            "hashAlgorithm": record.hash_algorithm,
            "fingerprints": {
                "sha256": details.sha256_fingerprint,
                "sha1": details.sha1_fingerprint,
            },
            "certificate": record.certificate_pem or None,
        }
    )
    return out


def bundle_json(bundle: Bundle) -> dict[str, Any]:
    """The bundle endpoints' body; privateKey is null when the server holds no key, or
    when the caller may not have it (then privateKeyWithheld says why)."""
    body = {
        "certificateId": bundle.certificate_id,
        "serialNumber": bundle.serial_hex,
        "certificate": bundle.certificate,
        "certificateChain": bundle.chain,
        "issuingCaCertificate": bundle.issuing_ca,
        "privateKey": bundle.private_key,
    }
    if bundle.key_withheld is not None:
        body["privateKeyWithheld"] = bundle.key_withheld
    return body


def issued_json(enrollment: Enrollment, bundle: Bundle) -> dict[str, Any]:
    """The issuance (and renewal) answer; privateKey only for a managed key; `notAfterCut`
    (null when notAfter is as asked) and `warnings` say when notAfter was cut short."""
    certificate: dict[str, Any] = {
        "certificate": bundle.certificate,
        "certificateChain": bundle.chain,
        "issuingCaCertificate": bundle.issuing_ca,
        "serialNumber": bundle.serial_hex,
        "certificateId": bundle.certificate_id,
    }
    if bundle.private_key is not None:
        certificate["privateKey"] = bundle.private_key
    if bundle.key_withheld is not None:
        certificate["privateKeyWithheld"] = bundle.key_withheld
    issued = enrollment.issued
    cut = issued.not_after_cut
    return {
        "certificate": certificate,
        "certificateRequestId": enrollment.request.id,
        "notAfterCut": None
        if cut is None
        else {
            "reason": cut.reason,
            "notAfter": iso(cut.not_after),
            "requestedNotAfter": iso(cut.requested_not_after),
        },
        "warnings": list(issued.warnings),
    }


def request_json(request: CertificateRequestRecord) -> dict[str, Any]:
    return {
        "id": request.id,
        "profileId": request.profile_id,
        "method": request.method.value,
        "status": request.status,
        "csr": request.csr_pem,
        "attributes": dict(request.attributes),
        "metadata": dict(request.metadata),
        "certificateId": request.certificate_id,
        "error": request.error,
        "createdAt": iso(request.created_at),
    }


def crl_json(crl: CRLRecord) -> dict[str, Any]:
    pem = x509.load_der_x509_crl(crl.der).public_bytes(Encoding.PEM).decode("ascii")
    return {
        "id": crl.id,
        "crl": pem,
        "crlNumber": crl.number,
        "thisUpdate": iso(crl.this_update),
        "nextUpdate": iso(crl.next_update),
    }
