"""Client certificates as machine-identity credentials: binding, login, rotation.

    binding = await issue_certificate(services, "id", "profile", csr_pem)  # or bind_certificate
    token, seconds, state = await login(services, body)      # body: a proof (cert_proof.py)
    rotated = await rotate(services, body)                  # payload {"csr": ...}

The credential rotates itself. With `warning` = settings.identity_cert_warning and
`expiry` = settings.identity_cert_expiry, a certificate whose notAfter is

    further than `warning` away    state "ok"
    within `warning`               state "warning": logins work, the answer asks to rotate
    within `expiry`                state "expiring": logins are REFUSED until it rotates

Rotation is authenticated by the same proof (not a Bearer token), so an expiring
certificate can still rotate. The new certificate comes from the old one's profile with the
lifetime settings.identity_cert_ttl (365 days; longer than the warning period, which the
settings check, so a rotated certificate is never due for rotation at once; not the old
one's: a certificate issued short to test or to recover must not make every successor as
short), through `enroll` (so the profile's policy applies: its maximum lifetime must allow
that) and is bound `pending`; the CSR must keep the current subject and names with a new
key; its first login makes it `active` and, when
settings.identity_cert_revoke_old_on_rotation, revokes the old one (reason superseded).
The old certificate keeps working until then, so a rotation whose answer is lost costs
nothing: the client rotates again (the same CSR gets the same certificate back).
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from acme_server.services import audit
from acme_server.services.certificates.enrollment import Channel, EnrollRequest, enroll
from acme_server.services.certificates.revocation import revoke as revoke_certificate
from acme_server.services.context import Services
from acme_server.services.errors import ConflictError, InvalidRequestError, NotFoundError
from acme_server.services.identities import tokens as identities
from acme_server.services.identities.proof import CertAuthError, Proof, verify_proof
from ca_core.export import certificates_pem
from ca_core.fingerprints import sha256_fingerprint
from ca_core.serials import serial_to_hex
from pki_types.model import ExtendedKeyUsage, RevocationReason
from store import CertificateRecord, Conflict, IdentityCertificateRecord, IdentityRecord, NotFound
from store.columns import utc_now

LOGIN_PATH = "/api/v1/auth/cert-auth/login"
ROTATE_PATH = "/api/v1/auth/cert-auth/rotate"
MAX_CSR_CHARS = 32 * 1024

CredentialState = Literal["ok", "warning", "expiring"]


class RotationRequired(CertAuthError):
    """A login refused because the certificate is inside its expiry period."""

    def __init__(self, not_after: datetime) -> None:
        super().__init__(
            f"client certificate expires on {not_after.date().isoformat()}: rotate it "
            f"before logging in (POST {ROTATE_PATH})"
        )
        self.not_after = not_after


@dataclass(frozen=True, slots=True)
class Standing:
    """Where a certificate credential stands: its state, notAfter, and the moment after
    which logins are refused (rotate before it)."""

    state: CredentialState
    not_after: datetime
    rotate_by: datetime


@dataclass(frozen=True, slots=True)
class Rotated:
    binding: IdentityCertificateRecord
    certificate_pem: str  # the leaf
    chain_pem: str  # its issuers, nearest first


def standing(services: Services, not_after: datetime, now: datetime | None = None) -> Standing:
    now = utc_now() if now is None else now
    settings = services.settings
    left = not_after - now
    state: CredentialState = "ok"
    if left <= settings.identity_cert_expiry:
        state = "expiring"
    elif left <= settings.identity_cert_warning:
        state = "warning"
    return Standing(state, not_after, not_after - settings.identity_cert_expiry)


def _has_client_auth(certificate: x509.Certificate) -> bool:
    try:
        usages = certificate.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    except x509.ExtensionNotFound:
        return False
    return x509.oid.ExtendedKeyUsageOID.CLIENT_AUTH in usages


async def _audit(
    services: Services, actor: str, action: str, identity_id: str, **details: object
) -> None:
    await audit.record(
        services,
        actor=actor,
        action=action,
        target_type="identity",
        target_id=identity_id,
        details=details,
    )


async def _bind(
    services: Services,
    identity: IdentityRecord,
    record: CertificateRecord,
    certificate: x509.Certificate,
    actor: str,
) -> IdentityCertificateRecord:
    if not _has_client_auth(certificate):
        raise InvalidRequestError(
            f"certificate {record.serial_hex} has no clientAuth extended key usage"
        )
    try:
        binding = await services.store.create_identity_certificate(
            identity_id=identity.id,
            certificate_id=record.id,
            serial_hex=record.serial_hex,
            fingerprint_sha256=record.fingerprint_sha256,
            not_after=certificate.not_valid_after_utc,
        )
    except Conflict:
        raise ConflictError(f"certificate {record.serial_hex} is bound already") from None
    await _audit(
        services, actor, "identity.certificate.bind", identity.id, serial=record.serial_hex
    )
    return binding


async def bind_certificate(
    services: Services,
    identity_ref: str,
    pem: str,
    *,
    actor: str = audit.ACTOR_CLI,
    profile_ids: tuple[str, ...] | None = None,
) -> IdentityCertificateRecord:
    """Bind a certificate this server issued (active, with clientAuth) to an identity; it
    belongs to the identity from then on. With `profile_ids` (access.profile_filter), only
    a certificate of those profiles: any other is answered as one this server never
    issued."""
    identity = await identities.find_identity(services, identity_ref)
    try:
        certificate = x509.load_pem_x509_certificate(pem.encode())
    except ValueError:
        raise InvalidRequestError("the file is not a PEM certificate") from None
    try:
        record = await services.store.get_certificate_by_serial(
            serial_to_hex(certificate.serial_number)
        )
    except NotFound:
        record = None
    if (
        record is None
        or record.fingerprint_sha256 != sha256_fingerprint(certificate)
        or (profile_ids is not None and record.profile_id not in profile_ids)
    ):
        raise NotFoundError("the certificate was not issued by this server")
    if record.status != "active":
        raise ConflictError(f"certificate {record.serial_hex} is {record.status}")
    return await _bind(services, identity, record, certificate, actor)


async def issue_certificate(
    services: Services,
    identity_ref: str,
    profile_ref: str,
    csr_pem: str,
    *,
    ttl: str | None = None,
    actor: str = audit.ACTOR_CLI,
    channel: Channel = "cli",
) -> Rotated:
    """Issue a clientAuth certificate for the CSR from the profile and bind it (it belongs
    to the identity, whoever asked); `channel` "api" needs the profile's REST enrollment."""
    identity = await identities.find_identity(services, identity_ref)
    enrolled = await enroll(
        services,
        EnrollRequest(
            profile_ref=profile_ref,
            csr_pem=csr_pem,
            ttl=ttl or services.settings.identity_cert_ttl,
            extended_key_usages=(ExtendedKeyUsage.CLIENT_AUTH.value,),
            owner_identity_id=identity.id,
        ),
        channel=channel,
    )
    issued = enrolled.issued
    binding = await _bind(services, identity, issued.record, issued.certificate, actor)
    return Rotated(binding, certificates_pem([issued.certificate]), certificates_pem(issued.chain))


async def list_credentials(
    services: Services, identity_ref: str
) -> tuple[IdentityRecord, list[tuple[IdentityCertificateRecord, Standing]]]:
    """The identity and each of its certificate bindings with its standing now."""
    identity = await identities.find_identity(services, identity_ref)
    now = utc_now()
    bindings = await services.store.list_identity_certificates(identity.id)
    return identity, [(b, standing(services, b.not_after, now)) for b in bindings]


async def _authenticated(
    services: Services, body: bytes, path: str
) -> tuple[Proof, IdentityCertificateRecord, IdentityRecord, CertificateRecord]:
    proof = await verify_proof(services, body, path)
    found = await services.store.find_identity_certificate(proof.fingerprint)
    if found is None:
        raise CertAuthError("the client certificate is not bound to a machine identity")
    binding, identity = found
    if identity.disabled:
        raise CertAuthError("the machine identity is disabled")
    record = await services.store.get_certificate(binding.certificate_id)
    if binding.state == "revoked" or record.status == "revoked":
        raise CertAuthError(f"the client certificate {binding.serial_hex} is revoked")
    return proof, binding, identity, record


async def _first_use(
    services: Services, binding: IdentityCertificateRecord, identity: IdentityRecord
) -> None:
    """A pending certificate's first login makes it active. Refused if it is not active
    afterwards (a concurrent rotation retired it)."""
    if await services.store.activate_identity_certificate(binding.id, utc_now()):
        await _audit(
            services,
            f"identity:{identity.id}",
            "identity.certificate.activate",
            identity.id,
            serial=binding.serial_hex,
        )
        return
    current = await services.store.get_identity_certificate(binding.id)
    if current.state != "active":
        raise CertAuthError(f"the client certificate {binding.serial_hex} is revoked")


async def _retire_replaced(
    services: Services, binding: IdentityCertificateRecord, identity: IdentityRecord
) -> None:
    """After a login with a rotated certificate: revoke the one it replaced, if that is
    configured and not done yet. Checked at every such login, so a revocation that failed
    (a database or CRL error) is done by the next login."""
    if binding.replaces_id is None or not services.settings.identity_cert_revoke_old_on_rotation:
        return
    old = await services.store.get_identity_certificate(binding.replaces_id)
    if old.state != "revoked":
        await _retire(services, old, f"identity:{identity.id}")


async def _retire(services: Services, old: IdentityCertificateRecord, actor: str) -> None:
    """Revoke a superseded credential: the binding, and the certificate in the store."""
    await services.store.revoke_identity_certificate(old.id)
    certificate = await services.store.get_certificate(old.certificate_id)
    if certificate.status in ("active", "pending"):
        # revoked or expired in between (ConflictError): the goal holds
        with contextlib.suppress(ConflictError):
            await revoke_certificate(services, certificate, RevocationReason.SUPERSEDED)
    await _audit(
        services, actor, "identity.certificate.revoke", old.identity_id, serial=old.serial_hex
    )


async def login(services: Services, body: bytes) -> tuple[str, int, Standing]:
    """An access token for the proof's identity, its lifetime and the credential's
    standing; CertAuthError when refused (inside the expiry period too)."""
    _, binding, identity, _ = await _authenticated(services, body, LOGIN_PATH)
    now_standing = standing(services, binding.not_after)
    if now_standing.state == "expiring":
        raise RotationRequired(binding.not_after)
    if binding.state == "pending":
        await _first_use(services, binding, identity)
    await _retire_replaced(services, binding, identity)
    token, seconds = await identities.issue_token(services, identity)
    return token, seconds, now_standing


def _payload_csr(value: object) -> tuple[x509.CertificateSigningRequest, str, str]:
    """The payload's csr (PEM, or base64url DER), as PEM, and the SHA-256 of its DER."""
    if not isinstance(value, str) or not value or len(value) > MAX_CSR_CHARS:
        raise InvalidRequestError("the payload needs csr: a PEM or base64url DER CSR")
    try:
        if value.lstrip().startswith("-----BEGIN"):
            csr = x509.load_pem_x509_csr(value.encode())
        else:
            csr = x509.load_der_x509_csr(base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)))
    except (ValueError, binascii.Error):
        raise InvalidRequestError("the payload's csr is not a PEM or base64url DER CSR") from None
    der = csr.public_bytes(serialization.Encoding.DER)
    pem = csr.public_bytes(serialization.Encoding.PEM).decode("ascii")
    return csr, pem, hashlib.sha256(der).hexdigest()


def _names(extensions: x509.Extensions) -> set[x509.GeneralName]:
    try:
        return set(extensions.get_extension_for_class(x509.SubjectAlternativeName).value)
    except x509.ExtensionNotFound:
        return set()


def _check_same_names(csr: x509.CertificateSigningRequest, current: x509.Certificate) -> None:
    """A rotation renews the credential it proves: the CSR keeps the certificate's subject
    and names, and brings a new key."""
    if csr.subject != current.subject or _names(csr.extensions) != _names(current.extensions):
        raise InvalidRequestError(
            "the CSR must ask for the current certificate's subject and names "
            f"({current.subject.rfc4514_string() or 'empty subject'})"
        )
    if csr.public_key() == current.public_key():
        raise InvalidRequestError("the CSR must carry a new key, not the current one")


async def _answer(services: Services, binding: IdentityCertificateRecord) -> Rotated:
    record = await services.store.get_certificate(binding.certificate_id)
    return Rotated(binding, record.certificate_pem, record.chain_pem)


async def rotate(services: Services, body: bytes) -> Rotated:
    """A new certificate for the CSR in the proof's payload, bound pending (see the module
    docstring). The same CSR again answers the same certificate."""
    proof, binding, identity, old = await _authenticated(services, body, ROTATE_PATH)
    if binding.state == "pending":
        raise ConflictError(
            "this certificate is a rotation's new one: log in with it before rotating again"
        )
    csr, csr_pem, csr_sha256 = _payload_csr(proof.payload.get("csr"))
    _check_same_names(csr, proof.certificate)
    earlier = await services.store.find_rotation(binding.id, csr_sha256)
    if earlier is not None:
        if earlier.state == "revoked":
            raise ConflictError("the certificate issued for this CSR is revoked: use a new key")
        return await _answer(services, earlier)
    if old.profile_id is None:
        raise ConflictError(
            "the client certificate's profile no longer exists: bind a new certificate"
        )
    actor = f"identity:{identity.id}"
    for stale in await services.store.list_pending_rotations(binding.id):
        await _retire(services, stale, actor)  # an earlier rotation whose key was lost
    enrolled = await enroll(
        services,
        EnrollRequest(
            profile_ref=old.profile_id,
            csr_pem=csr_pem,
            ttl=services.settings.identity_cert_ttl,
            extended_key_usages=(ExtendedKeyUsage.CLIENT_AUTH.value,),
            owner_identity_id=identity.id,
        ),
    )
    issued = enrolled.issued
    try:
        new = await services.store.create_identity_certificate(
            identity_id=identity.id,
            certificate_id=issued.record.id,
            serial_hex=issued.record.serial_hex,
            fingerprint_sha256=issued.record.fingerprint_sha256,
            not_after=issued.certificate.not_valid_after_utc,
            state="pending",
            replaces_id=binding.id,
            csr_sha256=csr_sha256,
        )
    except Conflict:
        # A concurrent rotation with the same CSR won: withdraw ours, answer theirs.
        await revoke_certificate(services, issued.record, RevocationReason.SUPERSEDED)
        winner = await services.store.find_rotation(binding.id, csr_sha256)
        assert winner is not None
        return await _answer(services, winner)
    await _audit(
        services,
        actor,
        "identity.certificate.rotate",
        identity.id,
        serial=new.serial_hex,
        replaces=binding.serial_hex,
    )
    return Rotated(new, certificates_pem([issued.certificate]), certificates_pem(issued.chain))
