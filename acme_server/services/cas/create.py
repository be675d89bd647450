"""Certificate authorities: create root and intermediate CAs, load their signing material."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from cryptography import x509

from acme_server.services.context import Services
from acme_server.services.errors import ConflictError, InvalidRequestError, NotFoundError
from ca_core.export import certificates_pem
from ca_core.hierarchy import CAMaterial, create_intermediate_ca, create_root_ca
from ca_core.kek import decrypt_private_key, encrypt_private_key
from ca_core.keys import agenerate_private_key
from ca_core.serials import serial_to_hex
from pki_types.model import HashAlgorithm, KeyAlgorithm, SubjectAttributes
from store import CAKind, CARecord, Conflict, NotFound


@dataclass(frozen=True, slots=True)
class CASpec:
    name: str
    subject: SubjectAttributes
    key_algorithm: KeyAlgorithm
    hash_algorithm: HashAlgorithm
    validity: timedelta


def ca_key_aad(ca_id: str) -> bytes:
    return f"ca:{ca_id}".encode()


def crl_url(services: Services, ca_id: str) -> str:
    return f"{services.settings.pki_base_url}/pki/crl/{ca_id}.crl"


def aia_url(services: Services, ca_id: str) -> str:
    return f"{services.settings.pki_base_url}/pki/ca/{ca_id}.crt"


async def publish_pki_urls(services: Services) -> list[CARecord]:
    """Point every CA's CRL distribution point and AIA caIssuers URLs (stored on its record,
    put in what it signs from now on) at the configured public_pki_url; the CAs changed.

    `kms serve` calls this at start, so a changed setting, or one introduced after the CAs
    were made (which had https URLs behind an https external URL), takes effect. What was
    already signed keeps its URLs, intermediate CA certificates included."""
    changed: list[CARecord] = []
    for ca in await services.store.list_cas():
        crl, aia = crl_url(services, ca.id), aia_url(services, ca.id)
        if await services.store.set_ca_urls(ca.id, crl, aia):
            changed.append(await services.store.get_ca(ca.id))
    return changed


async def find_ca(services: Services, ref: str) -> CARecord:
    """A CA by id or by name."""
    try:
        return await services.store.get_ca(ref)
    except NotFound:
        pass
    try:
        return await services.store.get_ca_by_name(ref)
    except NotFound:
        raise NotFoundError(f"no certificate authority with id or name {ref!r}") from None


async def _save(
    services: Services,
    ca_id: str,
    spec: CASpec,
    material: CAMaterial,
    kind: CAKind,
    parent: CARecord | None,
) -> CARecord:
    cert = material.certificate
    try:
        record = await services.store.create_ca(
            id=ca_id,
            name=spec.name,
            kind=kind,
            parent_id=parent.id if parent else None,
            subject=cert.subject.rfc4514_string(),
            key_algorithm=spec.key_algorithm.value,
            hash_algorithm=spec.hash_algorithm.value,
            certificate_pem=certificates_pem((cert,)),
            chain_pem=certificates_pem(material.chain),
            encrypted_key=encrypt_private_key(
                services.kek, material.private_key, aad=ca_key_aad(ca_id)
            ),
            serial_hex=serial_to_hex(cert.serial_number),
            not_before=cert.not_valid_before_utc,
            not_after=cert.not_valid_after_utc,
            crl_distribution_url=crl_url(services, ca_id),
            aia_issuer_url=aia_url(services, ca_id),
        )
    except Conflict:
        raise ConflictError(f"a certificate authority named {spec.name!r} already exists") from None
    services.ca_cache[ca_id] = material
    return record


async def create_root(services: Services, spec: CASpec) -> CARecord:
    await _refuse_duplicate_name(services, spec.name)
    key = await agenerate_private_key(spec.key_algorithm)
    material = create_root_ca(
        key=key,
        subject=spec.subject,
        hash_alg=spec.hash_algorithm,
        validity=spec.validity,
        now=datetime.now(UTC),
    )
    return await _save(services, str(uuid.uuid4()), spec, material, "root", None)


async def create_intermediate(services: Services, spec: CASpec, parent_ref: str) -> CARecord:
    parent = await find_ca(services, parent_ref)
    if parent.status != "active":
        raise ConflictError(f"parent CA {parent.name!r} is {parent.status}, not active")
    await _refuse_duplicate_name(services, spec.name)
    parent_material = await load_material(services, parent)
    now = datetime.now(UTC)
    if parent.not_after <= now + timedelta(days=1):
        raise ConflictError(
            f"parent CA {parent.name!r} expires at {parent.not_after:%Y-%m-%d}; renew it first"
        )
    key = await agenerate_private_key(spec.key_algorithm)
    material = create_intermediate_ca(
        key=key,
        subject=spec.subject,
        hash_alg=spec.hash_algorithm,
        validity=spec.validity,
        parent=parent_material,
        now=now,
        crl_urls=(parent.crl_distribution_url,),
        aia_issuer_urls=(parent.aia_issuer_url,),
    )
    return await _save(services, str(uuid.uuid4()), spec, material, "intermediate", parent)


async def _refuse_duplicate_name(services: Services, name: str) -> None:
    if not name.strip():
        raise InvalidRequestError("a certificate authority needs a name")
    try:
        await services.store.get_ca_by_name(name)
    except NotFound:
        return
    raise ConflictError(f"a certificate authority named {name!r} already exists")


async def load_material(services: Services, record: CARecord) -> CAMaterial:
    """The CA's certificate, chain and decrypted key (kept in memory once loaded)."""
    cached = services.ca_cache.get(record.id)
    if cached is not None:
        return cached
    material = CAMaterial(
        certificate=x509.load_pem_x509_certificate(record.certificate_pem.encode()),
        private_key=decrypt_private_key(
            services.kek, record.encrypted_key, aad=ca_key_aad(record.id)
        ),
        chain=tuple(x509.load_pem_x509_certificates(record.chain_pem.encode()))
        if record.chain_pem
        else (),
    )
    services.ca_cache[record.id] = material
    return material
