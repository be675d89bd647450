"""CRLs: generated on revocation and whenever the latest one is past half its lifetime."""

from __future__ import annotations

from datetime import UTC, datetime

from cryptography.hazmat.primitives.serialization import Encoding

from acme_server.services.cas.create import load_material
from acme_server.services.context import Services
from ca_core.crl import RevokedEntry, build_crl
from ca_core.serials import serial_from_hex
from pki_types.model import HashAlgorithm, RevocationReason
from store import CRLRecord


async def generate_crl(services: Services, ca_id: str) -> CRLRecord:
    ca = await services.store.get_ca(ca_id)
    material = await load_material(services, ca)
    number = await services.store.next_crl_number(ca_id)
    revoked = [
        RevokedEntry(
            serial=serial_from_hex(row.serial_hex),
            revoked_at=row.revoked_at,
            reason=RevocationReason(row.reason),
        )
        for row in await services.store.list_revoked(ca_id)
    ]
    now = datetime.now(UTC)
    next_update = now + services.settings.crl_lifetime
    crl = build_crl(
        issuer=material,
        number=number,
        revoked=revoked,
        this_update=now,
        next_update=next_update,
        hash_alg=HashAlgorithm(ca.hash_algorithm),
    )
    return await services.store.insert_crl(
        ca_id=ca_id,
        number=number,
        der=crl.public_bytes(Encoding.DER),
        this_update=now,
        next_update=next_update,
    )


def is_fresh(crl: CRLRecord, now: datetime) -> bool:
    """Fresh until half its lifetime has passed, so relying parties never hold an expired one."""
    return now < crl.this_update + (crl.next_update - crl.this_update) / 2


async def current_crl(services: Services, ca_id: str) -> CRLRecord:
    latest = await services.store.latest_crl(ca_id)
    if latest is not None and is_fresh(latest, datetime.now(UTC)):
        return latest
    return await generate_crl(services, ca_id)
