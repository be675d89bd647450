"""Client certificates bound to machine identities (certificate login and its rotation).

A binding names a certificate of this CA (`certificate_id`) and repeats what a login looks
up or shows (fingerprint, serial, notAfter) so the login is one indexed read. States:

    active   logs the identity in
    pending  a rotation's new certificate, not used yet: its first login makes it active
             (and may revoke the binding it `replaces_id`)
    revoked  never logs in again
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from store.base import StoreBase, insert_sql
from store.columns import require_utc, utc_now
from store.db import Row, Sql
from store.queries.identities import identity_record
from store.records import IdentityCertificateRecord, IdentityRecord
from store.schema import identity_certificates as bindings
from store.schema import machine_identities as identities
from store.values import new_uuid, normalise_serial, shown_serial

STATES = ("active", "pending", "revoked")

_BINDING_COLUMNS = tuple(column.name for column in bindings.columns)
_IDENTITY_COLUMNS = tuple(column.name for column in identities.columns)

_BY_FINGERPRINT = Sql(
    "SELECT "
    + ", ".join(f'b."{name}" AS "b_{name}"' for name in _BINDING_COLUMNS)
    + ", "
    + ", ".join(f'i."{name}" AS "i_{name}"' for name in _IDENTITY_COLUMNS)
    + " FROM identity_certificates b JOIN machine_identities i ON b.identity_id = i.id"
    " WHERE b.fingerprint_sha256 = :fingerprint"
)
_OF_IDENTITY = Sql(
    "SELECT * FROM identity_certificates WHERE identity_id = :identity_id ORDER BY created_at, id"
)
_ROTATION = Sql(
    "SELECT * FROM identity_certificates WHERE replaces_id = :replaces_id"
    " AND csr_sha256 = :csr_sha256"
)
_PENDING_OF = Sql(
    "SELECT * FROM identity_certificates WHERE replaces_id = :replaces_id"
    " AND state = 'pending' ORDER BY created_at, id"
)
_FIRST_USE = Sql(
    "UPDATE identity_certificates SET state = 'active', first_used_at = :at"
    " WHERE id = :id AND state = 'pending'"
)
# A bound certificate belongs to its identity (what the identity may read over REST).
_SET_OWNER = Sql("UPDATE certificates SET owner_identity_id = :identity_id WHERE id = :id")
_SET_REVOKED = Sql(
    "UPDATE identity_certificates SET state = 'revoked' WHERE id = :id AND state <> 'revoked'"
)


def identity_certificate_record(row: Row) -> IdentityCertificateRecord:
    return IdentityCertificateRecord(
        id=row["id"],
        identity_id=row["identity_id"],
        certificate_id=row["certificate_id"],
        serial_hex=shown_serial(row["serial_hex"]),
        fingerprint_sha256=row["fingerprint_sha256"],
        not_after=row["not_after"],
        state=row["state"],
        replaces_id=row["replaces_id"],
        csr_sha256=row["csr_sha256"],
        first_used_at=row["first_used_at"],
        created_at=row["created_at"],
    )


class IdentityCertificateQueries(StoreBase):
    async def create_identity_certificate(
        self,
        *,
        identity_id: str,
        certificate_id: str,
        serial_hex: str,
        fingerprint_sha256: str,
        not_after: datetime,
        state: str = "active",
        replaces_id: str | None = None,
        csr_sha256: str | None = None,
    ) -> IdentityCertificateRecord:
        """Bind a certificate, which from then on belongs to the identity (its
        owner_identity_id); NotFound for an unknown identity, Conflict if this certificate
        is bound already (to any identity)."""
        if state not in ("active", "pending"):
            raise ValueError(f"a new binding is active or pending, not {state!r}")
        if not fingerprint_sha256 or not serial_hex:
            raise ValueError("a binding needs the certificate's serial and fingerprint")
        values: dict[str, Any] = {
            "id": new_uuid(),
            "identity_id": identity_id,
            "certificate_id": certificate_id,
            "serial_hex": normalise_serial(serial_hex),
            "fingerprint_sha256": fingerprint_sha256,
            "not_after": require_utc(not_after, "not_after"),
            "state": state,
            "replaces_id": replaces_id,
            "csr_sha256": csr_sha256,
            "first_used_at": None,
            "created_at": utc_now(),
        }
        async with self._write() as tx:
            await self._require(tx, identities, identity_id, "identity")
            await tx.run(insert_sql(bindings), values)
            await tx.run(_SET_OWNER, {"identity_id": identity_id, "id": certificate_id})
            row = await self._one(tx, bindings, values["id"], "identity certificate")
            return identity_certificate_record(row)

    async def get_identity_certificate(self, binding_id: str) -> IdentityCertificateRecord:
        async with self._read() as tx:
            row = await self._one(tx, bindings, binding_id, "identity certificate")
        return identity_certificate_record(row)

    async def find_identity_certificate(
        self, fingerprint_sha256: str
    ) -> tuple[IdentityCertificateRecord, IdentityRecord] | None:
        """The binding of the certificate with this fingerprint and its identity (in any
        state, identity enabled or not: the caller decides)."""
        async with self._read() as tx:
            row = await tx.one(_BY_FINGERPRINT, {"fingerprint": fingerprint_sha256})
        if row is None:
            return None
        binding = {name: row[f"b_{name}"] for name in _BINDING_COLUMNS}
        identity = {name: row[f"i_{name}"] for name in _IDENTITY_COLUMNS}
        return identity_certificate_record(binding), identity_record(identity)

    async def list_identity_certificates(self, identity_id: str) -> list[IdentityCertificateRecord]:
        """The identity's bindings, oldest first (revoked ones too)."""
        async with self._read() as tx:
            rows = await tx.all(_OF_IDENTITY, {"identity_id": identity_id})
        return [identity_certificate_record(row) for row in rows]

    async def find_rotation(
        self, replaces_id: str, csr_sha256: str
    ) -> IdentityCertificateRecord | None:
        """The binding an earlier rotation of `replaces_id` with this CSR created."""
        async with self._read() as tx:
            row = await tx.one(_ROTATION, {"replaces_id": replaces_id, "csr_sha256": csr_sha256})
        return None if row is None else identity_certificate_record(row)

    async def list_pending_rotations(self, replaces_id: str) -> list[IdentityCertificateRecord]:
        async with self._read() as tx:
            rows = await tx.all(_PENDING_OF, {"replaces_id": replaces_id})
        return [identity_certificate_record(row) for row in rows]

    async def activate_identity_certificate(self, binding_id: str, now: datetime) -> bool:
        """pending -> active on the first login; False if it was not pending (so exactly
        one concurrent first login does the follow-up work)."""
        params = {"id": binding_id, "at": require_utc(now, "now")}
        async with self._write() as tx:
            return await tx.run(_FIRST_USE, params) == 1

    async def revoke_identity_certificate(self, binding_id: str) -> bool:
        """Any state -> revoked; False if it already was."""
        async with self._write() as tx:
            return await tx.run(_SET_REVOKED, {"id": binding_id}) == 1
