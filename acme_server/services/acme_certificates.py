"""The certificates of ACME accounts: the one an order gave an account (RFC 8555 7.4.2) and
revocation by a subscriber (7.6), who proves it by the certificate's own key (a jwk JWS),
by being the account that ordered it, or by holding valid authorizations for all its names
(services/ownership.py)."""

from __future__ import annotations

from datetime import UTC, datetime

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from acme_server.services.certificates.revocation import revoke
from acme_server.services.context import Services
from acme_server.services.errors import NotAuthorizedError, NotFoundError
from acme_server.services.ownership import account_may_act_on
from ca_core.errors import CAError
from ca_core.keys import spki_der
from ca_core.serials import serial_to_hex
from pki_types.model import RevocationReason
from store import CertificateRecord, NotFound


async def ordered_certificate(
    services: Services, account_id: str, certificate_id: str
) -> CertificateRecord:
    """A certificate an order of this account produced; another account's is "not found"."""
    try:
        return await services.store.get_ordered_certificate(certificate_id, account_id)
    except (NotFound, ValueError):
        raise NotFoundError("certificate not found") from None


_ISSUER_URLS: dict[str, str] = {}  # CA id -> its AIA URL, fixed when the CA is created


async def issuer_url(services: Services, ca_id: str) -> str:
    """The URL of the issuing CA's certificate (the download's Link rel="up")."""
    url = _ISSUER_URLS.get(ca_id)
    if url is None:
        url = _ISSUER_URLS[ca_id] = (await services.store.get_ca(ca_id)).aia_issuer_url
    return url


async def revoke_presented(
    services: Services,
    cert: x509.Certificate,
    reason: RevocationReason,
    *,
    account_id: str | None,
    jws_spki: bytes,
) -> None:
    """Revoke the certificate a revokeCert request carries. `account_id` is the signing
    account (kid), or None when the JWS is signed by a key (jwk) of SubjectPublicKeyInfo
    `jws_spki`, which must then be the certificate's."""
    try:
        record = await services.store.get_certificate_by_serial(serial_to_hex(cert.serial_number))
    except (NotFound, CAError, ValueError):  # CAError: a serial this CA never issues (<= 0)
        raise NotFoundError("certificate not found") from None
    if record.certificate_pem.strip() != cert.public_bytes(Encoding.PEM).decode().strip():
        raise NotFoundError("certificate not found")
    if account_id is None:
        if spki_der(cert.public_key()) != jws_spki:
            raise NotAuthorizedError("the JWS key is not the certificate's key")
    elif not await account_may_act_on(services, account_id, record, datetime.now(UTC)):
        raise NotAuthorizedError(
            "the account neither ordered this certificate nor holds authorizations for all "
            "its names"
        )
    await revoke(services, record, reason)
