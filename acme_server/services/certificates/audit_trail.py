"""The audit records of certificate actions, written the same way whichever interface
(REST, the console) the caller used.

    await audit_trail.key_read(services, principal, cert)          # a private key left
    await audit_trail.issued(services, principal, "certificate.issue", enrollment)
    await audit_trail.revoked(services, principal, cert, reason)
"""

from __future__ import annotations

from acme_server.services import audit
from acme_server.services.certificates.enrollment import Enrollment
from acme_server.services.context import Services
from acme_server.services.identities.tokens import Principal
from pki_types.model import RevocationReason
from store import CertificateRecord


async def key_read(services: Services, principal: Principal, cert: CertificateRecord) -> None:
    """A private key leaving the server is recorded like a write."""
    await audit.record(
        services,
        actor=principal.actor,
        action="certificate.export",
        target_type="certificate",
        target_id=cert.id,
        details={"serialNumber": cert.serial_hex},
    )


async def issued(
    services: Services, principal: Principal, action: str, enrollment: Enrollment
) -> None:
    """An issuance ("certificate.issue") or a renewal ("certificate.renew")."""
    cert = enrollment.issued.record
    await audit.record(
        services,
        actor=principal.actor,
        action=action,
        target_type="certificate",
        target_id=cert.id,
        details={
            "serialNumber": cert.serial_hex,
            "commonName": cert.common_name,
            "profileId": cert.profile_id,
            "requestMethod": cert.request_method.value,
            "certificateRequestId": enrollment.request.id,
            "renewedFromId": cert.renewed_from_id,
        },
    )


async def revoked(
    services: Services, principal: Principal, cert: CertificateRecord, reason: RevocationReason
) -> None:
    await audit.record(
        services,
        actor=principal.actor,
        action="certificate.revoke",
        target_type="certificate",
        target_id=cert.id,
        details={"serialNumber": cert.serial_hex, "reason": reason.value},
    )


async def metadata_updated(
    services: Services, principal: Principal, cert: CertificateRecord, keys: list[str]
) -> None:
    await _certificate_change(
        services, principal, cert, "certificate.metadata.update", {"keys": sorted(keys)}
    )


async def auto_renew_set(
    services: Services, principal: Principal, cert: CertificateRecord, wanted: bool
) -> None:
    await _certificate_change(
        services, principal, cert, "certificate.auto_renew.update", {"autoRenew": wanted}
    )


async def deleted(services: Services, principal: Principal, cert: CertificateRecord) -> None:
    await _certificate_change(
        services, principal, cert, "certificate.delete", {"commonName": cert.common_name}
    )


async def _certificate_change(
    services: Services,
    principal: Principal,
    cert: CertificateRecord,
    action: str,
    details: dict[str, object],
) -> None:
    await audit.record(
        services,
        actor=principal.actor,
        action=action,
        target_type="certificate",
        target_id=cert.id,
        details={"serialNumber": cert.serial_hex, **details},
    )
