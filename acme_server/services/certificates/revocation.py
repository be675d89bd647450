"""Revoke a certificate, publish the revocation on its CA's next CRL, and announce it
(`CertificateRevoked`, services/events.py: right after the revocation is stored, before
the CRL is made, so a failing CRL does not silence it)."""

from __future__ import annotations

from datetime import UTC, datetime

from acme_server.services.cas.crls import generate_crl
from acme_server.services.context import Services
from acme_server.services.errors import AlreadyRevokedError
from acme_server.services.events import CertificateRevoked
from pki_types.model import RevocationReason
from store import CertificateRecord


async def revoke(
    services: Services, certificate: CertificateRecord, reason: RevocationReason
) -> CertificateRecord:
    revoked_at = datetime.now(UTC).replace(microsecond=0)
    if not await services.store.revoke_certificate(
        certificate.id, reason=reason.value, revoked_at=revoked_at
    ):
        current = await services.store.get_certificate(certificate.id)
        raise AlreadyRevokedError(f"certificate {current.serial_hex} is already {current.status}")
    services.events.publish(
        CertificateRevoked.of(certificate, reason=reason, revoked_at=revoked_at)
    )
    if certificate.ca_id is not None:
        await generate_crl(services, certificate.ca_id)
    return await services.store.get_certificate(certificate.id)
