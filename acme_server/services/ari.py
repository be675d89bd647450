"""ACME Renewal Information (RFC 9773): certificate identifiers and suggested windows.

A certID (section 4.1) is base64url(the Authority Key Identifier's keyIdentifier) "."
base64url(the serial number's DER INTEGER content octets), both without padding.

The suggested window lies inside the profile's renew-before window (the window the
server-side scheduler uses, services/auto_renewal.renew_at): from its start to halfway to
expiry, so a client renewing anywhere in it still has half the window to retry. A revoked
certificate gets a window that ended at its revocation, so clients renew at once.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from cryptography import x509

from acme_server.jose import b64url_decode
from acme_server.services.certificates.auto_renewal import renew_at
from acme_server.services.context import Services
from acme_server.services.errors import InvalidRequestError, NotFoundError
from ca_core.serials import MAX_SERIAL_OCTETS, serial_to_hex
from pki_types.model import CertificateStatus
from store import CertificateRecord, NotFound

MAX_CERT_ID = 200  # a 64-octet key id and a 20-octet serial are far shorter
RETRY_AFTER_MAX = timedelta(hours=6)
RETRY_AFTER_MIN = timedelta(minutes=1)
REVOKED_WINDOW = timedelta(hours=1)
DEFAULT_RENEW_BEFORE_DAYS = 30  # for a certificate whose profile was deleted
_B64URL = re.compile(r"[A-Za-z0-9_-]+")


@dataclass(frozen=True, slots=True)
class CertId:
    key_identifier: bytes
    serial: int


@dataclass(frozen=True, slots=True)
class Window:
    start: datetime
    end: datetime


def _b64url(part: str) -> bytes:
    """The bytes of one certID part, which has exactly one spelling (it keys `replaces`)."""
    if not _B64URL.fullmatch(part):
        raise ValueError("not unpadded base64url")
    try:
        return b64url_decode(part)
    except ValueError:
        raise ValueError("not canonical base64url") from None


def parse_cert_id(text: str) -> CertId:
    """The two parts of a certID; InvalidRequestError saying what is wrong."""
    if len(text) > MAX_CERT_ID or text.count(".") != 1:
        raise InvalidRequestError(
            "a certID is base64url(keyIdentifier) '.' base64url(serial number) (RFC 9773 4.1)"
        )
    aki_text, serial_text = text.split(".")
    try:
        key_identifier = _b64url(aki_text)
        serial_der = _b64url(serial_text)
    except ValueError as exc:
        raise InvalidRequestError(f"certID: {exc} (RFC 9773 4.1)") from None
    if not key_identifier or not serial_der or len(serial_der) > MAX_SERIAL_OCTETS:
        raise InvalidRequestError("certID: empty key identifier or serial of a wrong size")
    if serial_der[0] & 0x80 or (
        len(serial_der) > 1 and serial_der[0] == 0 and serial_der[1] < 0x80
    ):
        raise InvalidRequestError("certID: the serial is not a positive DER INTEGER's content")
    serial = int.from_bytes(serial_der, "big")
    if serial == 0:
        raise InvalidRequestError("certID: the serial number must be positive")
    return CertId(key_identifier=key_identifier, serial=serial)


def _key_identifier(record: CertificateRecord) -> bytes | None:
    cert = x509.load_pem_x509_certificate(record.certificate_pem.encode())
    try:
        aki = cert.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value
    except x509.ExtensionNotFound:
        return None
    return aki.key_identifier


async def find_by_cert_id(services: Services, text: str) -> CertificateRecord:
    """The issued certificate a certID names: InvalidRequestError for a malformed one,
    NotFoundError when no certificate has that serial and issuer key identifier."""
    cert_id = parse_cert_id(text)
    try:
        record = await services.store.get_certificate_by_serial(serial_to_hex(cert_id.serial))
    except NotFound:
        raise NotFoundError(f"no certificate with certID {text}") from None
    if not record.certificate_pem or _key_identifier(record) != cert_id.key_identifier:
        raise NotFoundError(f"no certificate with certID {text}")
    return record


async def renew_before_days(services: Services, record: CertificateRecord) -> int:
    if record.profile_id is None:
        return DEFAULT_RENEW_BEFORE_DAYS
    try:
        return (await services.store.get_profile(record.profile_id)).renew_before_days
    except NotFound:
        return DEFAULT_RENEW_BEFORE_DAYS


def suggested_window(record: CertificateRecord, days: int, now: datetime) -> Window:
    """Inside the renew-before window; in the past for a revoked certificate."""
    if record.status == CertificateStatus.REVOKED:
        end = min(record.revoked_at or now, now)
        return Window(start=end - REVOKED_WINDOW, end=end)
    start = renew_at(record, days)
    end = start + (record.not_after - start) / 2
    if end <= start:  # a window must not be empty (RFC 9773 4.2)
        end = start + timedelta(seconds=1)
    return Window(start=start, end=end)


def retry_after(window: Window, now: datetime) -> int:
    """Seconds until the client should ask again: the window's start, within 1 min - 6 h."""
    wait = max(RETRY_AFTER_MIN, min(RETRY_AFTER_MAX, window.start - now))
    return int(wait.total_seconds())
