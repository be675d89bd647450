"""CertificateAuthority rows: the hierarchy, its keys (encrypted by the caller) and CRL numbers."""

from __future__ import annotations

from datetime import datetime
from typing import Any, get_args

from store.base import StoreBase, insert_sql
from store.columns import require_utc, utc_now
from store.db import Row, Sql
from store.interface import Conflict, NotFound
from store.records import CAKind, CARecord, CAStatus
from store.schema import certificate_authorities as cas
from store.values import check_id, normalise_serial, shown_serial

_BY_NAME = Sql("SELECT * FROM certificate_authorities WHERE name = :name")
_ALL = Sql("SELECT * FROM certificate_authorities ORDER BY created_at, name")
_SET_STATUS = Sql(
    "UPDATE certificate_authorities SET status = :status WHERE id = :id AND status <> :status"
)
_USERS = (
    (Sql("SELECT count(*) FROM certificates WHERE ca_id = :id"), "certificate(s)"),
    (Sql("SELECT count(*) FROM certificate_authorities WHERE parent_id = :id"), "child CA(s)"),
    (Sql("SELECT count(*) FROM certificate_profiles WHERE ca_id = :id"), "profile(s)"),
)
_SET_URLS = Sql(
    "UPDATE certificate_authorities SET crl_distribution_url = :crl, aia_issuer_url = :aia "
    "WHERE id = :id AND (crl_distribution_url <> :crl OR aia_issuer_url <> :aia)"
)
_DELETE_CRLS = Sql("DELETE FROM crls WHERE ca_id = :id")
_DELETE = Sql("DELETE FROM certificate_authorities WHERE id = :id")
_NEXT_CRL_NUMBER = Sql(
    "UPDATE certificate_authorities SET crl_number = crl_number + 1 WHERE id = :id "
    "RETURNING crl_number"
)


def ca_record(row: Row) -> CARecord:
    return CARecord(
        id=row["id"],
        name=row["name"],
        kind=row["kind"],
        parent_id=row["parent_id"],
        status=row["status"],
        subject=row["subject"],
        key_algorithm=row["key_algorithm"],
        hash_algorithm=row["hash_algorithm"],
        certificate_pem=row["certificate_pem"],
        chain_pem=row["chain_pem"],
        encrypted_key=bytes(row["encrypted_key"]),
        serial_hex=shown_serial(row["serial_hex"]),
        not_before=row["not_before"],
        not_after=row["not_after"],
        crl_number=int(row["crl_number"]),
        crl_distribution_url=row["crl_distribution_url"],
        aia_issuer_url=row["aia_issuer_url"],
        created_at=row["created_at"],
    )


class CAQueries(StoreBase):
    async def create_ca(
        self,
        *,
        id: str,
        name: str,
        kind: CAKind,
        parent_id: str | None,
        subject: str,
        key_algorithm: str,
        hash_algorithm: str,
        certificate_pem: str,
        chain_pem: str,
        encrypted_key: bytes,
        serial_hex: str,
        not_before: datetime,
        not_after: datetime,
        crl_distribution_url: str = "",
        aia_issuer_url: str = "",
        status: CAStatus = "active",
    ) -> CARecord:
        """Insert a CA. The caller chooses `id` (a UUID4), so the key's AAD and the CRL/AIA
        URLs can name it before the row exists. A root has no parent; an intermediate's
        parent may be None when its issuer lives outside this store (an offline root).
        Raises Conflict on a taken id or name, NotFound for a missing parent."""
        if kind not in get_args(CAKind):
            raise ValueError(f"CA kind must be 'root' or 'intermediate', got {kind!r}")
        if status not in get_args(CAStatus):
            raise ValueError(f"CA status must be 'active' or 'disabled', got {status!r}")
        if kind == "root" and parent_id is not None:
            raise ValueError("a root CA has no parent")
        values: dict[str, Any] = {
            "id": check_id(id, "CA id"),
            "name": name,
            "kind": kind,
            "parent_id": parent_id,
            "status": status,
            "subject": subject,
            "key_algorithm": key_algorithm,
            "hash_algorithm": hash_algorithm,
            "certificate_pem": certificate_pem,
            "chain_pem": chain_pem,
            "encrypted_key": encrypted_key,
            "serial_hex": normalise_serial(serial_hex),
            "not_before": require_utc(not_before, "not_before"),
            "not_after": require_utc(not_after, "not_after"),
            "crl_number": 0,
            "crl_distribution_url": crl_distribution_url,
            "aia_issuer_url": aia_issuer_url,
            "created_at": utc_now(),
        }
        async with self._write() as tx:
            if parent_id is not None:
                await self._require(tx, cas, parent_id, "parent CA")
            await tx.run(insert_sql(cas), values)
            return ca_record(await self._one(tx, cas, values["id"], "CA"))

    async def get_ca(self, ca_id: str) -> CARecord:
        async with self._read() as tx:
            return ca_record(await self._one(tx, cas, ca_id, "CA"))

    async def get_ca_by_name(self, name: str) -> CARecord:
        async with self._read() as tx:
            row = await tx.one(_BY_NAME, {"name": name})
        if row is None:
            raise NotFound(f"CA named {name!r} not found")
        return ca_record(row)

    async def list_cas(self) -> list[CARecord]:
        """All CAs, oldest first (a root before the intermediates made under it)."""
        async with self._read() as tx:
            return [ca_record(row) for row in await tx.all(_ALL)]

    async def set_ca_status(self, ca_id: str, status: CAStatus) -> bool:
        """Enable or disable a CA; False if it already had that status."""
        if status not in get_args(CAStatus):
            raise ValueError(f"CA status must be 'active' or 'disabled', got {status!r}")
        async with self._write() as tx:
            if await tx.run(_SET_STATUS, {"id": ca_id, "status": status}) == 0:
                await self._require(tx, cas, ca_id, "CA")
                return False
            return True

    async def set_ca_urls(self, ca_id: str, crl_distribution_url: str, aia_issuer_url: str) -> bool:
        """The CRL distribution point and AIA caIssuers URLs that certificates the CA signs
        from now on carry; False if it already had them. NotFound if there is no such CA."""
        values = {"id": ca_id, "crl": crl_distribution_url, "aia": aia_issuer_url}
        async with self._write() as tx:
            if await tx.run(_SET_URLS, values) == 0:
                await self._require(tx, cas, ca_id, "CA")
                return False
            return True

    async def delete_ca(self, ca_id: str) -> None:
        """Delete a CA and its CRLs. Conflict while any certificate (of any status), child CA
        or profile refers to it: a CA that has issued is disabled, never deleted, so its
        certificates stay revocable and its CRLs stay published. NotFound if there is none."""
        async with self._write() as tx:
            await self._require(tx, cas, ca_id, "CA")
            for statement, what in _USERS:
                count = await tx.value(statement, {"id": ca_id})
                if count:
                    raise Conflict(f"CA {ca_id} still has {count} {what}")
            await tx.run(_DELETE_CRLS, {"id": ca_id})
            await tx.run(_DELETE, {"id": ca_id})

    async def next_crl_number(self, ca_id: str) -> int:
        """Increment the CA's CRL number and return the new value (1 for the first CRL).

        One UPDATE ... RETURNING: concurrent callers, in any process, get distinct numbers.
        """
        async with self._write() as tx:
            number = await tx.value(_NEXT_CRL_NUMBER, {"id": ca_id})
        if number is None:
            raise NotFound(f"CA {ca_id} not found")
        return int(number)
