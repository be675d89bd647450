"""Look up certificates and export them as PEM or PKCS#12."""

from __future__ import annotations

from cryptography import x509

from acme_server.services.certificates.issuance import certificate_key_aad
from acme_server.services.context import Services
from acme_server.services.errors import ForbiddenError, InvalidRequestError, NotFoundError
from acme_server.services.profiles.settings import EnrollmentConfig
from ca_core.errors import CAError
from ca_core.export import pem_bundle, to_pkcs12
from ca_core.kek import decrypt_private_key
from ca_core.keys import PrivateKey
from ca_core.serials import serial_from_hex, serial_to_hex
from store import CertificateRecord, NotFound


def no_certificate(ref: str) -> NotFoundError:
    """The answer for a certificate that is missing, or that the caller may not see."""
    return NotFoundError(f"no certificate with id or serial {ref!r}")


async def find_certificate(services: Services, ref: str) -> CertificateRecord:
    """A certificate by id or by serial (hex, with or without colons)."""
    try:
        return await services.store.get_certificate(ref)
    except NotFound:
        pass
    try:
        serial = serial_to_hex(serial_from_hex(ref.replace(":", "").strip()))
        return await services.store.get_certificate_by_serial(serial)
    except (CAError, ValueError, NotFound):
        raise no_certificate(ref) from None


async def key_withheld(services: Services, record: CertificateRecord) -> str | None:
    """Why the server keeps this certificate's private key to itself whoever asks (None:
    it may be exported, or the server holds no key): the certificate is internal (the
    server's own TLS certificate); it is a machine identity's login credential (its key
    would log in as that identity); its profile says enrollment.api.allowKeyExport false,
    or is gone (what it said is not known: the key stays)."""
    if record.encrypted_private_key is None:
        return None
    if record.internal:
        return (
            f"certificate {record.id} is internal (the server's own): "
            "its private key never leaves the server"
        )
    if await services.store.find_identity_certificate(record.fingerprint_sha256) is not None:
        return (
            f"certificate {record.id} is a machine identity's login credential: "
            "its private key never leaves the server"
        )
    try:
        profile = await services.store.get_profile(record.profile_id or "")
    except NotFound:
        return f"certificate {record.id} has lost its profile: its private key stays here"
    if not EnrollmentConfig.of(profile).allow_key_export:
        return (
            f"the profile {profile.slug!r} does not allow exporting private keys "
            "(enrollment.api.allowKeyExport is false)"
        )
    return None


async def require_exportable(services: Services, record: CertificateRecord) -> None:
    """ForbiddenError unless the certificate's private key may leave the server (the
    CLI's check; REST adds the caller's permission: services/access.py)."""
    reason = await key_withheld(services, record)
    if reason is not None:
        raise ForbiddenError(reason, permission="certificate.export")


def _loaded(record: CertificateRecord) -> tuple[x509.Certificate, list[x509.Certificate]]:
    if not record.certificate_pem:
        raise InvalidRequestError(
            f"certificate {record.id} was never signed (status {record.status})"
        )
    cert = x509.load_pem_x509_certificate(record.certificate_pem.encode())
    chain = x509.load_pem_x509_certificates(record.chain_pem.encode()) if record.chain_pem else []
    return cert, chain


def private_key_of(services: Services, record: CertificateRecord) -> PrivateKey | None:
    if record.encrypted_private_key is None:
        return None
    return decrypt_private_key(
        services.kek, record.encrypted_private_key, aad=certificate_key_aad(record.id)
    )


def export_pem(services: Services, record: CertificateRecord, *, include_key: bool = True) -> str:
    cert, chain = _loaded(record)
    return pem_bundle(cert, chain, private_key_of(services, record) if include_key else None)


def export_pkcs12(
    services: Services, record: CertificateRecord, *, password: str, alias: str
) -> bytes:
    cert, chain = _loaded(record)
    try:
        return to_pkcs12(
            certificate=cert,
            chain=chain,
            private_key=private_key_of(services, record),
            password=password,
            alias=alias or record.friendly_name or record.serial_hex,
        )
    except CAError as exc:
        raise InvalidRequestError(str(exc)) from None
