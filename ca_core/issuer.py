"""Leaf certificates: a LeafRequest signed by a CA, or by its own key (self-signed)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from cryptography import x509

from ca_core.errors import CAError
from ca_core.extensions import (
    add_distribution,
    authority_key_identifier,
    certificate_policies,
    extended_key_usage_extension,
    key_usage_extension,
    subject_key_identifier,
)
from ca_core.hierarchy import CAMaterial, as_utc, require_ca
from ca_core.keys import PrivateKey, PublicKey, key_algorithm_of
from ca_core.names import sans_to_general_names, subject_to_name
from ca_core.serials import MAX_SERIAL_OCTETS
from ca_core.signing import sign_certificate
from pki_types.model import (
    ExtendedKeyUsage,
    HashAlgorithm,
    KeyUsage,
    SubjectAltName,
    SubjectAttributes,
)


@dataclass(frozen=True)
class LeafRequest:
    """Everything a leaf certificate says, decided before signing (and stored first)."""

    subject: SubjectAttributes
    sans: tuple[SubjectAltName, ...]
    public_key: PublicKey
    key_usages: frozenset[KeyUsage]
    extended_key_usages: frozenset[ExtendedKeyUsage]
    validity: timedelta
    hash_alg: HashAlgorithm
    serial: int
    not_before: datetime
    crl_urls: tuple[str, ...] = ()
    aia_issuer_urls: tuple[str, ...] = ()
    policy_oids: tuple[str, ...] = ()  # certificatePolicies, e.g. 2.23.140.1.2.1 (BR DV)
    # The moment the validity counts from: the issuance time, when not_before is backdated
    # before it; None: not_before itself.
    validity_start: datetime | None = None


@dataclass(frozen=True)
class LeafValidity:
    """The notAfter a leaf gets, and the one it asked for: `cut` when the issuer's own
    notAfter came first."""

    not_after: datetime
    requested_not_after: datetime

    @property
    def cut(self) -> bool:
        return self.not_after < self.requested_not_after


def leaf_validity(request: LeafRequest, issuer_cert: x509.Certificate | None) -> LeafValidity:
    """validity_start (default not_before) + validity, clamped to the issuer's notAfter
    (None: self-signed, never clamped)."""
    if request.validity <= timedelta(0):
        raise CAError(f"validity must be positive, got {request.validity}")
    start = request.not_before if request.validity_start is None else request.validity_start
    end = as_utc(start) + request.validity
    if issuer_cert is None:
        return LeafValidity(not_after=end, requested_not_after=end)
    return LeafValidity(
        not_after=min(end, issuer_cert.not_valid_after_utc), requested_not_after=end
    )


def compute_not_after(request: LeafRequest, issuer_cert: x509.Certificate | None) -> datetime:
    """The leaf's notAfter (leaf_validity)."""
    return leaf_validity(request, issuer_cert).not_after


def issue_leaf(request: LeafRequest, issuer: CAMaterial) -> x509.Certificate:
    """Sign a leaf with the CA key: CA:FALSE, KU/EKU/SAN as requested, SKI, AKI, URLs."""
    issuer_cert = issuer.certificate
    require_ca(issuer_cert)
    if issuer.private_key.public_key() == request.public_key:
        raise CAError("refusing to certify the issuing CA's own key in a leaf certificate")
    not_after = compute_not_after(request, issuer_cert)
    if not_after <= as_utc(request.not_before):
        raise CAError(
            f"the issuing CA expires at {issuer_cert.not_valid_after_utc.isoformat()}, "
            "before the certificate would become valid"
        )
    builder = _leaf_builder(request, not_after).issuer_name(issuer_cert.subject)
    builder = builder.add_extension(authority_key_identifier(issuer_cert), critical=False)
    builder = add_distribution(builder, request.crl_urls, request.aia_issuer_urls)
    return sign_certificate(builder, issuer.private_key, request.hash_alg)


def issue_self_signed(request: LeafRequest, private_key: PrivateKey) -> x509.Certificate:
    """Sign a leaf with its own key: issuer == subject, AKI == SKI, no CRL or AIA."""
    if private_key.public_key() != request.public_key:
        raise CAError("the private key does not match the request's public key")
    if _is_empty(request.subject):
        raise CAError(
            "a self-signed certificate needs a subject, because its issuer is its subject: "
            "give at least a common name"
        )
    builder = _leaf_builder(request, compute_not_after(request, None))
    builder = builder.issuer_name(subject_to_name(request.subject)).add_extension(
        x509.AuthorityKeyIdentifier.from_issuer_public_key(request.public_key), critical=False
    )
    return sign_certificate(builder, private_key, request.hash_alg)


def _leaf_builder(request: LeafRequest, not_after: datetime) -> x509.CertificateBuilder:
    key_algorithm_of(request.public_key)
    if request.serial <= 0 or request.serial.bit_length() >= 8 * MAX_SERIAL_OCTETS:
        raise CAError("the serial number must be positive and at most 20 octets")
    subject_empty = _is_empty(request.subject)
    if subject_empty and not request.sans:
        raise CAError("a certificate needs a subject or at least one subjectAltName")
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject_to_name(request.subject))
        .public_key(request.public_key)
        .serial_number(request.serial)
        .not_valid_before(as_utc(request.not_before))
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(subject_key_identifier(request.public_key), critical=False)
    )
    if request.key_usages:
        builder = builder.add_extension(key_usage_extension(request.key_usages), critical=True)
    if request.extended_key_usages:
        eku = extended_key_usage_extension(request.extended_key_usages)
        builder = builder.add_extension(eku, critical=False)
    if request.policy_oids:
        builder = builder.add_extension(certificate_policies(request.policy_oids), critical=False)
    if request.sans:
        # RFC 5280 4.2.1.6: critical when the subject is empty.
        general_names = sans_to_general_names(request.sans)
        builder = builder.add_extension(
            x509.SubjectAlternativeName(general_names), critical=subject_empty
        )
    return builder


def _is_empty(subject: SubjectAttributes) -> bool:
    return subject == SubjectAttributes()
