"""Certificate revocation lists (RFC 5280 section 5), signed by the issuing CA."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from cryptography import x509

from ca_core.errors import CAError
from ca_core.extensions import authority_key_identifier
from ca_core.hierarchy import CAMaterial, as_utc
from ca_core.serials import MAX_SERIAL_OCTETS
from ca_core.signing import sign_crl
from pki_types.model import HashAlgorithm, RevocationReason

# RFC 5280 section 5.3.1 CRLReason codes (7 unused).
_REASON_FLAGS: dict[int, x509.ReasonFlags] = {
    0: x509.ReasonFlags.unspecified,
    1: x509.ReasonFlags.key_compromise,
    2: x509.ReasonFlags.ca_compromise,
    3: x509.ReasonFlags.affiliation_changed,
    4: x509.ReasonFlags.superseded,
    5: x509.ReasonFlags.cessation_of_operation,
    6: x509.ReasonFlags.certificate_hold,
    8: x509.ReasonFlags.remove_from_crl,
    9: x509.ReasonFlags.privilege_withdrawn,
    10: x509.ReasonFlags.aa_compromise,
}


@dataclass(frozen=True)
class RevokedEntry:
    """One revoked certificate as the CRL lists it."""

    serial: int
    revoked_at: datetime
    reason: RevocationReason


def build_crl(
    *,
    issuer: CAMaterial,
    number: int,
    revoked: Sequence[RevokedEntry],
    this_update: datetime,
    next_update: datetime,
    hash_alg: HashAlgorithm,
) -> x509.CertificateRevocationList:
    """A v2 CRL with CRLNumber and AKI; entries carry reasonCode unless UNSPECIFIED."""
    if number < 0 or number.bit_length() >= 8 * MAX_SERIAL_OCTETS:
        raise CAError("the CRL number must be zero or more and at most 20 octets (RFC 5280 5.2.3)")
    start, end = as_utc(this_update), as_utc(next_update)
    if end <= start:
        raise CAError("the CRL's next update must come after its this update")
    _check_can_sign_crls(issuer.certificate)
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(issuer.certificate.subject)
        .last_update(start)
        .next_update(end)
        .add_extension(x509.CRLNumber(number), critical=False)
        .add_extension(authority_key_identifier(issuer.certificate), critical=False)
    )
    seen: set[int] = set()
    for entry in sorted(revoked, key=lambda e: e.serial):
        if entry.serial in seen:
            raise CAError(f"serial {entry.serial:x} is listed twice")
        seen.add(entry.serial)
        builder = builder.add_revoked_certificate(_revoked(entry))
    return sign_crl(builder, issuer.private_key, hash_alg)


def _revoked(entry: RevokedEntry) -> x509.RevokedCertificate:
    builder = (
        x509.RevokedCertificateBuilder()
        .serial_number(entry.serial)
        .revocation_date(as_utc(entry.revoked_at))
    )
    if entry.reason is not RevocationReason.UNSPECIFIED:  # RFC 5280 5.3.1: omit unspecified
        reason = x509.CRLReason(_REASON_FLAGS[entry.reason.code])
        builder = builder.add_extension(reason, critical=False)
    return builder.build()


def _check_can_sign_crls(cert: x509.Certificate) -> None:
    try:
        usage = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        return
    if not usage.crl_sign:
        raise CAError("the issuer certificate's key usage does not allow cRLSign")
