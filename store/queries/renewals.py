"""Server-driven renewal: the scheduler's lease, its candidates, and each certificate's
renewal bookkeeping (status, last error, attempts, next attempt, expiry warning).

The lease is a named row (`leases`): taken when free, expired or already ours, in one
conditional upsert, so exactly one holder has it at a time on both backends. Exactly-once
renewal itself does not rest on the lease: reserve_certificate claims the renewed
certificate's renewed_by_id in the transaction that reserves the successor.

A successor left `pending` by a crash between reserving and activating (its key was only
ever in the crashed process's memory) is abandoned: revoked, so it reaches the CRL if it
was signed, and unlinked, so the certificate can be renewed again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from pki_types.model import CertificateStatus, RevocationReason
from store.base import StoreBase
from store.certificate_rows import certificate_record
from store.columns import require_utc, utc_now
from store.db import Sql
from store.records import CertificateRecord
from store.schema import certificates as certs

RENEWAL_FAILED = "failed"
RENEWAL_DONE = "renewed"
MAX_ERROR_LENGTH = 2000
CANDIDATES_MAX = 1000

_ACTIVE = CertificateStatus.ACTIVE.value
_PENDING = CertificateStatus.PENDING.value
_REVOKED = CertificateStatus.REVOKED.value

_TAKE_LEASE = Sql(
    "INSERT INTO leases (name, holder, expires_at) VALUES (:name, :holder, :expires_at) "
    "ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, "
    "expires_at = excluded.expires_at "
    "WHERE leases.holder = excluded.holder OR leases.expires_at <= :now"
)
_RELEASE_LEASE = Sql("DELETE FROM leases WHERE name = :name AND holder = :holder")
_LEASE_HOLDER = Sql("SELECT holder FROM leases WHERE name = :name AND expires_at > :now")
# Active managed certificates with auto-renewal on and no successor, expiring by :horizon,
# not waiting for a retry; each with its profile's renew-before days.
_CANDIDATES = Sql(
    "SELECT c.*, p.renew_before_days AS profile_renew_before_days FROM certificates c "
    "JOIN certificate_profiles p ON p.id = c.profile_id "
    f"WHERE c.auto_renew = :yes AND c.status = '{_ACTIVE}' AND c.renewed_by_id IS NULL "
    "AND c.encrypted_private_key IS NOT NULL AND c.not_after <= :horizon "
    "AND (c.next_renewal_at IS NULL OR c.next_renewal_at <= :now) "
    "ORDER BY c.not_after, c.id LIMIT :limit"
)
_MAX_RENEW_BEFORE = Sql("SELECT max(renew_before_days) FROM certificate_profiles")
# Active certificates (any method) expiring by :horizon whose warning was not sent yet.
_UNWARNED = Sql(
    "SELECT c.*, p.renew_before_days AS profile_renew_before_days FROM certificates c "
    "JOIN certificate_profiles p ON p.id = c.profile_id "
    f"WHERE c.status = '{_ACTIVE}' AND c.expiry_warned_at IS NULL "
    "AND c.renewed_by_id IS NULL AND c.not_after <= :horizon AND c.not_after > :now "
    "ORDER BY c.not_after, c.id LIMIT :limit"
)
_STALE_SUCCESSORS = Sql(
    "SELECT o.id AS old_id, n.id AS new_id FROM certificates o "
    "JOIN certificates n ON n.id = o.renewed_by_id "
    f"WHERE n.status = '{_PENDING}' AND n.created_at <= :before ORDER BY n.created_at"
)
_REVOKE_PENDING = Sql(
    f"UPDATE certificates SET status = '{_REVOKED}', revoked_at = :at, "
    "revocation_reason = :reason, updated_at = :at "
    f"WHERE id = :new_id AND status = '{_PENDING}' AND renewed_from_id = :old_id"
)
_UNLINK = Sql(
    "UPDATE certificates SET renewed_by_id = NULL, updated_at = :at "
    "WHERE id = :old_id AND renewed_by_id = :new_id"
)
_FAILED = Sql(
    f"UPDATE certificates SET renewal_status = '{RENEWAL_FAILED}', renewal_error = :error, "
    "renewal_attempts = renewal_attempts + 1, next_renewal_at = :next_at, "
    "updated_at = :at WHERE id = :id RETURNING renewal_attempts"
)
_RENEWED = Sql(
    f"UPDATE certificates SET renewal_status = '{RENEWAL_DONE}', renewal_error = NULL, "
    "next_renewal_at = NULL, updated_at = :at WHERE id = :id"
)
_SET_AUTO_RENEW = Sql(
    "UPDATE certificates SET auto_renew = :on, renewal_error = NULL, renewal_attempts = 0, "
    "next_renewal_at = NULL, "
    f"renewal_status = CASE WHEN renewal_status = '{RENEWAL_FAILED}' THEN NULL "
    "ELSE renewal_status END, updated_at = :at WHERE id = :id"
)
# Orders naming a certificate in `replaces` (RFC 9773 5) that may still issue.
_REPLACING_ORDERS = Sql(
    "SELECT id FROM acme_orders WHERE replaces = :replaces AND status <> 'invalid' "
    "AND (status IN ('valid', 'processing') OR expires > :now) ORDER BY created_at, id"
)
_WARNED = Sql(
    "UPDATE certificates SET expiry_warned_at = :at WHERE id = :id AND expiry_warned_at IS NULL"
)


@dataclass(frozen=True, slots=True)
class RenewalCandidate:
    """A certificate and its profile's renew-before window (days)."""

    certificate: CertificateRecord
    renew_before_days: int


class RenewalQueries(StoreBase):
    # -- the scheduler's lease -------------------------------------------------------

    async def take_lease(self, name: str, holder: str, *, ttl: timedelta, now: datetime) -> bool:
        """Hold lease `name` until now + ttl if it is free, expired or held by `holder`
        already (which extends it); False when someone else holds it."""
        if ttl <= timedelta(0):
            raise ValueError(f"a lease needs a positive ttl, got {ttl}")
        at = require_utc(now, "now")
        params = {"name": name, "holder": holder, "expires_at": at + ttl, "now": at}
        async with self._write() as tx:
            return await tx.run(_TAKE_LEASE, params) == 1

    async def release_lease(self, name: str, holder: str) -> bool:
        """Give lease `name` up if `holder` has it; False otherwise."""
        async with self._write() as tx:
            return await tx.run(_RELEASE_LEASE, {"name": name, "holder": holder}) == 1

    async def lease_holder(self, name: str, *, now: datetime) -> str | None:
        """Who holds lease `name` at `now`; None when it is free or expired."""
        async with self._read() as tx:
            holder = await tx.value(_LEASE_HOLDER, {"name": name, "now": require_utc(now, "now")})
        return None if holder is None else str(holder)

    # -- what to renew ---------------------------------------------------------------

    async def renewal_candidates(
        self, *, now: datetime, limit: int = CANDIDATES_MAX
    ) -> list[RenewalCandidate]:
        """Certificates the scheduler may renew: active, managed key, auto-renewal on, no
        successor, not waiting for a retry, and expiring within the largest renew-before
        window of any profile (callers apply each profile's own window), soonest first."""
        at = require_utc(now, "now")
        async with self._read() as tx:
            days = int(await tx.value(_MAX_RENEW_BEFORE) or 0)
            params = {"yes": True, "now": at, "horizon": at + timedelta(days=days), "limit": limit}
            rows = await tx.all(_CANDIDATES, params)
        return [
            RenewalCandidate(certificate_record(row, {}), int(row["profile_renew_before_days"]))
            for row in rows
        ]

    async def expiry_warning_candidates(
        self, *, now: datetime, limit: int = CANDIDATES_MAX
    ) -> list[RenewalCandidate]:
        """Active certificates without a successor, expiring within the largest renew-before
        window, whose expiry warning was not sent yet."""
        at = require_utc(now, "now")
        async with self._read() as tx:
            days = int(await tx.value(_MAX_RENEW_BEFORE) or 0)
            params = {"now": at, "horizon": at + timedelta(days=days), "limit": limit}
            rows = await tx.all(_UNWARNED, params)
        return [
            RenewalCandidate(certificate_record(row, {}), int(row["profile_renew_before_days"]))
            for row in rows
        ]

    async def mark_expiry_warned(self, cert_id: str, *, at: datetime) -> bool:
        """Record that the expiry warning went out; False if it already had."""
        async with self._write() as tx:
            return await tx.run(_WARNED, {"id": cert_id, "at": require_utc(at, "at")}) == 1

    async def orders_replacing(self, cert_id_text: str, *, now: datetime) -> list[str]:
        """Ids of the orders whose `replaces` is this ARI certID and that are not invalid
        (nor expired unfinished), oldest first."""
        params = {"replaces": cert_id_text, "now": require_utc(now, "now")}
        async with self._read() as tx:
            return [str(r["id"]) for r in await tx.all(_REPLACING_ORDERS, params)]

    # -- recovery, outcome, toggling -------------------------------------------------

    async def abandon_stale_renewals(self, *, older_than: datetime) -> list[tuple[str, str]]:
        """Successors still `pending` since before `older_than` (their issuer crashed):
        revoked (SUPERSEDED) and unlinked from the certificate they renew, each in one
        transaction. Returns the (renewed id, abandoned successor id) pairs."""
        before = require_utc(older_than, "older_than")
        async with self._read() as tx:
            pairs = [
                (str(r["old_id"]), str(r["new_id"]))
                for r in await tx.all(_STALE_SUCCESSORS, {"before": before})
            ]
        done: list[tuple[str, str]] = []
        for old_id, new_id in pairs:
            params = {"old_id": old_id, "new_id": new_id, "at": utc_now()}
            async with self._write() as tx:
                revoked = await tx.run(
                    _REVOKE_PENDING, {**params, "reason": RevocationReason.SUPERSEDED.value}
                )
                if revoked == 0:  # activated (or abandoned) in the meantime
                    continue
                await tx.run(_UNLINK, params)
            done.append((old_id, new_id))
        return done

    async def record_renewal_failure(
        self, cert_id: str, *, error: str, next_attempt_at: datetime
    ) -> int:
        """Status `failed` with `error`, one more attempt, retry at `next_attempt_at`;
        returns the attempts so far (0 when there is no such certificate)."""
        params = {
            "id": cert_id,
            "error": error[:MAX_ERROR_LENGTH],
            "next_at": require_utc(next_attempt_at, "next_attempt_at"),
            "at": utc_now(),
        }
        async with self._write() as tx:
            attempts = await tx.value(_FAILED, params)
        return int(attempts or 0)

    async def record_renewal_success(self, cert_id: str) -> bool:
        """Status `renewed`, error and retry cleared (attempts kept for the record)."""
        async with self._write() as tx:
            return await tx.run(_RENEWED, {"id": cert_id, "at": utc_now()}) == 1

    async def set_auto_renew(self, cert_id: str, on: bool) -> None:
        """Turn server-driven renewal on or off; a failed status and its backoff are reset.
        NotFound for an unknown id."""
        async with self._write() as tx:
            if await tx.run(_SET_AUTO_RENEW, {"id": cert_id, "on": on, "at": utc_now()}) == 0:
                await self._require(tx, certs, cert_id, "certificate")
