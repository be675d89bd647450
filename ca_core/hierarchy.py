"""Root and intermediate CA certificates (RFC 5280 sections 4.2.1.9 and 4.2.1.3).

notBefore is backdated by one minute (BACKDATE) so that relying parties whose clocks
run slightly behind accept a freshly made CA at once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from cryptography import x509

from ca_core.errors import CAError
from ca_core.extensions import (
    add_distribution,
    authority_key_identifier,
    basic_constraints,
    subject_key_identifier,
)
from ca_core.keys import PrivateKey
from ca_core.names import subject_to_name
from ca_core.serials import new_serial
from ca_core.signing import sign_certificate, signing_hash
from pki_types.model import HashAlgorithm, SubjectAttributes

__all__ = [
    "BACKDATE",
    "CAMaterial",
    "as_utc",
    "create_intermediate_ca",
    "create_root_ca",
    "require_ca",
    "signing_hash",
]

BACKDATE = timedelta(minutes=1)


@dataclass(frozen=True)
class CAMaterial:
    """A CA's certificate and key; chain runs from its issuer up to the root (empty for a root)."""

    certificate: x509.Certificate
    private_key: PrivateKey
    chain: tuple[x509.Certificate, ...]


def create_root_ca(
    *,
    key: PrivateKey,
    subject: SubjectAttributes,
    hash_alg: HashAlgorithm,
    validity: timedelta,
    now: datetime,
) -> CAMaterial:
    """A self-signed root: CA:TRUE without pathlen, keyCertSign + cRLSign, SKI."""
    name = _ca_name(subject)
    start = as_utc(now)
    builder = _ca_builder(key, name, start, start + _positive(validity), path_length=None)
    certificate = sign_certificate(builder.issuer_name(name), key, hash_alg)
    return CAMaterial(certificate=certificate, private_key=key, chain=())


def create_intermediate_ca(
    *,
    key: PrivateKey,
    subject: SubjectAttributes,
    hash_alg: HashAlgorithm,
    validity: timedelta,
    parent: CAMaterial,
    now: datetime,
    path_length: int | None = 0,
    crl_urls: Sequence[str] = (),
    aia_issuer_urls: Sequence[str] = (),
) -> CAMaterial:
    """An intermediate signed by `parent`; the URLs point at the parent's CRL and cert."""
    parent_cert = parent.certificate
    _check_can_issue_ca(parent_cert, path_length)
    start = as_utc(now)
    end = min(start + _positive(validity), parent_cert.not_valid_after_utc)
    if end <= start - BACKDATE:
        raise CAError(f"the parent CA expired at {parent_cert.not_valid_after_utc.isoformat()}")
    builder = _ca_builder(key, _ca_name(subject), start, end, path_length=path_length)
    builder = builder.issuer_name(parent_cert.subject).add_extension(
        authority_key_identifier(parent_cert), critical=False
    )
    builder = add_distribution(builder, crl_urls, aia_issuer_urls)
    certificate = sign_certificate(builder, parent.private_key, hash_alg)
    return CAMaterial(certificate=certificate, private_key=key, chain=(parent_cert, *parent.chain))


def as_utc(moment: datetime) -> datetime:
    """An aware UTC datetime; a naive one is taken to be UTC already."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def require_ca(cert: x509.Certificate) -> x509.BasicConstraints:
    """Refuse an issuer that is not a CA allowed to sign certificates."""
    constraints = basic_constraints(cert)
    if constraints is None or not constraints.ca:
        raise CAError("the issuer certificate is not a CA (BasicConstraints cA is not set)")
    try:
        usage = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        return constraints
    if not usage.key_cert_sign:
        raise CAError("the issuer certificate's key usage does not allow keyCertSign")
    return constraints


def _ca_builder(
    key: PrivateKey,
    name: x509.Name,
    start: datetime,
    end: datetime,
    *,
    path_length: int | None,
) -> x509.CertificateBuilder:
    public_key = key.public_key()
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .public_key(public_key)
        .serial_number(new_serial())
        .not_valid_before(start - BACKDATE)
        .not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=True, path_length=path_length), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(subject_key_identifier(public_key), critical=False)
    )


def _ca_name(subject: SubjectAttributes) -> x509.Name:
    name = subject_to_name(subject)
    if not list(name):
        raise CAError("a CA needs a subject: give at least a common name")
    return name


def _positive(validity: timedelta) -> timedelta:
    if validity <= timedelta(0):
        raise CAError(f"validity must be positive, got {validity}")
    return validity


def _check_can_issue_ca(parent: x509.Certificate, path_length: int | None) -> None:
    if path_length is not None and path_length < 0:
        raise CAError(f"path length must be zero or more, got {path_length}")
    limit = require_ca(parent).path_length
    if limit is None:
        return
    if limit == 0:
        raise CAError("the parent CA has path length 0, so it cannot issue intermediate CAs")
    if path_length is None or path_length >= limit:
        raise CAError(
            f"the parent CA allows at most {limit - 1} CAs below the new one; "
            f"set path_length to {limit - 1} or less"
        )
