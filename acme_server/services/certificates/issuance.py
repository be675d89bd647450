"""Issue a leaf certificate: reserve, sign, store -- in that order.

1. The serial and the to-be-signed facts are stored as a `pending` certificate first, so a
   crash between signing and storing leaves a record that can still be revoked.
2. The certificate is signed by the profile's issuer (a CA, or the key itself when the
   profile is self-signed).
3. The signed certificate (and a managed key, encrypted under the KEK) is stored with a
   conditional pending -> active transition.
4. `CertificateIssued` is published (services/events.py).

Validity: the TTL counts from the issuance time, so notAfter = issuance + TTL, while
notBefore is backdated by BACKDATE (a minute) on top, for relying parties whose clocks run a
little slow. An explicit notBefore (an ACME order's) is used as is and the TTL counts from
it; an explicit notAfter (an ACME order's) is used as is. notAfter never passes the issuing
CA's own notAfter: a longer request is cut to it, and the result says so (`not_after_cut`).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

from cryptography import x509

from acme_server.services.cas.create import load_material
from acme_server.services.context import Services
from acme_server.services.errors import AlreadyRenewedError, ConflictError, InvalidRequestError
from acme_server.services.events import CertificateIssued
from acme_server.services.profiles.defaults import leaf_certificate_policies, profile_defaults
from ca_core.csr import CsrFacts
from ca_core.export import certificates_pem
from ca_core.fingerprints import sha256_fingerprint
from ca_core.hierarchy import CAMaterial
from ca_core.issuer import (
    LeafRequest,
    compute_not_after,
    issue_leaf,
    issue_self_signed,
    leaf_validity,
)
from ca_core.kek import encrypt_private_key
from ca_core.keys import PrivateKey, PublicKey, agenerate_private_key, key_algorithm_of
from ca_core.names import subject_to_name
from ca_core.serials import new_serial, serial_to_hex
from ca_core.ttl import format_ttl
from pki_types.model import (
    CertificateStatus,
    ExtendedKeyUsage,
    HashAlgorithm,
    IssuerType,
    KeyAlgorithm,
    KeyUsage,
    RequestMethod,
    SubjectAltName,
    SubjectAttributes,
)
from store import AlreadyRenewed, CertificateRecord, Conflict, ProfileRecord

# Leaves start a minute early so that clients with a slightly slow clock accept them; the
# TTL still counts from the issuance time (the backdate is extra).
BACKDATE = timedelta(minutes=1)
_SERIAL_ATTEMPTS = 3


@dataclass(frozen=True, slots=True)
class IssueSpec:
    """What to put in a certificate; one of key_algorithm (managed) or public_key (CSR)."""

    subject: SubjectAttributes
    sans: tuple[SubjectAltName, ...]
    key_usages: frozenset[KeyUsage]
    extended_key_usages: frozenset[ExtendedKeyUsage]
    validity: timedelta
    hash_algorithm: HashAlgorithm
    request_method: RequestMethod
    key_algorithm: KeyAlgorithm | None = None
    public_key: PublicKey | None = None
    not_before: datetime | None = None  # default: issuance time, backdated a minute
    not_after: datetime | None = None  # default: issuance time (or not_before) + validity
    metadata: dict[str, str] = field(default_factory=dict)
    friendly_name: str = ""
    auto_renew: bool = False
    renewed_from_id: str | None = None
    certificate_request_id: str | None = None
    owner_identity_id: str | None = None  # the machine identity it belongs to, if any
    internal: bool = False  # the server's own (request method system is always)


def csr_spec(
    profile: ProfileRecord,
    facts: CsrFacts,
    *,
    request_method: RequestMethod,
    subject: SubjectAttributes | None = None,
    sans: tuple[SubjectAltName, ...] | None = None,
    validity: timedelta | None = None,
    key_usages: frozenset[KeyUsage] | None = None,
    extended_key_usages: frozenset[ExtendedKeyUsage] | None = None,
    hash_algorithm: HashAlgorithm | None = None,
    not_before: datetime | None = None,
    not_after: datetime | None = None,
    metadata: dict[str, str] | None = None,
    renewed_from_id: str | None = None,
) -> IssueSpec:
    """The certificate a CSR asks for under `profile` (ACME finalize, REST and CLI CSR
    enrollment): the CSR's subject, names and key; the profile's defaults for whatever
    the caller leaves out."""
    defaults = profile_defaults(profile)
    return IssueSpec(
        subject=facts.subject if subject is None else subject,
        sans=tuple(facts.sans) if sans is None else sans,
        key_usages=defaults.key_usages if key_usages is None else key_usages,
        extended_key_usages=(
            defaults.extended_key_usages if extended_key_usages is None else extended_key_usages
        ),
        validity=defaults.validity if validity is None else validity,
        hash_algorithm=defaults.hash_algorithm if hash_algorithm is None else hash_algorithm,
        request_method=request_method,
        public_key=facts.public_key,
        not_before=not_before,
        not_after=not_after,
        metadata=dict(metadata or {}),
        renewed_from_id=renewed_from_id,
    )


@dataclass(frozen=True, slots=True)
class NotAfterCut:
    """notAfter came out earlier than asked: cut to the issuing CA's own notAfter (a leaf
    never outlives its issuer). Issuance goes ahead; the answer carries this warning."""

    not_after: datetime  # the issuing CA's notAfter, which the certificate got
    requested_not_after: datetime
    requested_ttl: timedelta
    reason: str = "issuing_ca_not_after"

    def message(self) -> str:
        return (
            f"notAfter was cut to the issuing CA's notAfter {_iso(self.not_after)}: "
            f"the requested ttl {_ttl_text(self.requested_ttl)} reaches past it "
            f"(to {_iso(self.requested_not_after)})"
        )


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _ttl_text(ttl: timedelta) -> str:
    return format_ttl(ttl) if ttl >= timedelta(seconds=1) else str(ttl)


@dataclass(frozen=True, slots=True)
class IssuedCertificate:
    record: CertificateRecord
    certificate: x509.Certificate
    chain: tuple[x509.Certificate, ...]  # issuers above the leaf, nearest first
    private_key: PrivateKey | None  # managed keys only
    not_after_cut: NotAfterCut | None = None

    @property
    def warnings(self) -> tuple[str, ...]:
        """What the caller should know about the certificate it got (empty: as asked)."""
        return () if self.not_after_cut is None else (self.not_after_cut.message(),)


def certificate_key_aad(certificate_id: str) -> bytes:
    return f"certificate:{certificate_id}".encode()


async def issue(services: Services, profile: ProfileRecord, spec: IssueSpec) -> IssuedCertificate:
    if (spec.key_algorithm is None) == (spec.public_key is None):
        raise InvalidRequestError("give either a key algorithm (managed key) or a public key (CSR)")
    if not spec.sans and not spec.subject.common_name:
        raise InvalidRequestError(
            "a certificate needs a common name or at least one subject alternative name"
        )
    self_signed = profile.issuer_type == IssuerType.SELF_SIGNED.value
    if self_signed and spec.public_key is not None:
        raise InvalidRequestError("Self-signed certificates are not supported for CSR signing")
    subject = spec.subject
    if self_signed and not subject.common_name:
        # A self-signed certificate's issuer is its subject, which must not be empty.
        subject = replace(subject, common_name=spec.sans[0].value[:64])

    issuer: CAMaterial | None = None
    ca_id: str | None = None
    if not self_signed:
        if profile.ca_id is None:
            raise ConflictError(f"profile {profile.slug!r} has no issuing CA")
        ca_record = await services.store.get_ca(profile.ca_id)
        if ca_record.status != "active":
            raise ConflictError(f"issuing CA {ca_record.name!r} is {ca_record.status}")
        issuer = await load_material(services, ca_record)
        ca_id = ca_record.id
        crl_urls: tuple[str, ...] = (ca_record.crl_distribution_url,)
        aia_urls: tuple[str, ...] = (ca_record.aia_issuer_url,)
    else:
        crl_urls, aia_urls = (), ()

    private_key: PrivateKey | None = None
    if spec.key_algorithm is not None:
        private_key = await agenerate_private_key(spec.key_algorithm)
        public_key: PublicKey = private_key.public_key()
    else:
        assert spec.public_key is not None
        public_key = spec.public_key
    key_algorithm = key_algorithm_of(public_key)

    now = datetime.now(UTC)
    start = spec.not_before or now  # the TTL counts from issuance (or the asked notBefore)
    validity = spec.validity if spec.not_after is None else spec.not_after - start
    for attempt in range(_SERIAL_ATTEMPTS):
        request = LeafRequest(
            subject=subject,
            sans=spec.sans,
            public_key=public_key,
            key_usages=spec.key_usages,
            extended_key_usages=spec.extended_key_usages,
            validity=validity,
            hash_alg=spec.hash_algorithm,
            serial=new_serial(),
            not_before=spec.not_before or now - BACKDATE,
            validity_start=start,
            crl_urls=crl_urls,
            aia_issuer_urls=aia_urls,
            policy_oids=leaf_certificate_policies(
                profile_defaults(profile), spec.extended_key_usages
            ),
        )
        try:
            reserved = await _reserve(
                services, profile, spec, request, key_algorithm, issuer, ca_id
            )
            break
        except AlreadyRenewed:
            raise AlreadyRenewedError(
                f"certificate {spec.renewed_from_id} was already renewed: renew its successor"
            ) from None
        except Conflict:
            if attempt == _SERIAL_ATTEMPTS - 1:
                raise
    window = leaf_validity(request, issuer.certificate if issuer else None)
    cut = (
        NotAfterCut(
            not_after=window.not_after,
            requested_not_after=window.requested_not_after,
            requested_ttl=validity,
        )
        if window.cut
        else None
    )
    if issuer is not None:
        certificate = issue_leaf(request, issuer)
        chain = (issuer.certificate, *issuer.chain)
    else:
        assert private_key is not None
        certificate = issue_self_signed(request, private_key)
        chain = ()

    encrypted_key = (
        encrypt_private_key(services.kek, private_key, aad=certificate_key_aad(reserved.id))
        if private_key is not None
        else None
    )
    activated = replace(
        reserved,
        status=CertificateStatus.ACTIVE,
        certificate_pem=certificates_pem([certificate]),
        chain_pem=certificates_pem(chain),
        fingerprint_sha256=sha256_fingerprint(certificate),
        encrypted_private_key=encrypted_key,
        updated_at=datetime.now(UTC),
    )
    if not await services.store.activate_certificate(
        reserved.id,
        certificate_pem=activated.certificate_pem,
        chain_pem=activated.chain_pem,
        fingerprint_sha256=activated.fingerprint_sha256,
        encrypted_private_key=encrypted_key,
        now=activated.updated_at,
    ):
        raise ConflictError(f"certificate {reserved.id} was not pending; it is not issued twice")
    if spec.renewed_from_id is not None:
        await services.store.link_renewal(spec.renewed_from_id, reserved.id)
        record = await services.store.get_certificate(reserved.id)
    else:  # the reserved row plus exactly what activation wrote: no need to read it back
        record = activated
    services.events.publish(
        CertificateIssued.of(
            record,
            request_method=record.request_method,
            renewed_from_id=record.renewed_from_id,
            owner_identity_id=record.owner_identity_id,
        )
    )
    return IssuedCertificate(
        record=record,
        certificate=certificate,
        chain=chain,
        private_key=private_key,
        not_after_cut=cut,
    )


async def _reserve(
    services: Services,
    profile: ProfileRecord,
    spec: IssueSpec,
    request: LeafRequest,
    key_algorithm: KeyAlgorithm,
    issuer: CAMaterial | None,
    ca_id: str | None,
) -> CertificateRecord:
    not_after = compute_not_after(request, issuer.certificate if issuer else None)
    return await services.store.reserve_certificate(
        serial_hex=serial_to_hex(request.serial),
        profile_id=profile.id,
        ca_id=ca_id,
        request_method=spec.request_method.value,
        common_name=request.subject.common_name,
        subject=subject_to_name(request.subject).rfc4514_string(),
        sans=[{"type": san.type.value, "value": san.value} for san in spec.sans],
        key_algorithm=key_algorithm.value,
        hash_algorithm=spec.hash_algorithm.value,
        not_before=request.not_before,
        not_after=not_after,
        friendly_name=spec.friendly_name or request.subject.common_name,
        metadata=dict(spec.metadata),
        auto_renew=spec.auto_renew,
        renewed_from_id=spec.renewed_from_id,
        certificate_request_id=spec.certificate_request_id,
        owner_identity_id=spec.owner_identity_id,
        internal=spec.internal or spec.request_method == RequestMethod.SYSTEM,
    )
