"""ACME authorizations and challenges (RFC 8555 sections 7.1.4-7.1.6, 7.5): reads, reuse,
deactivation, expiry, and the challenge flow that drives orders to `ready`.

    challenge  pending --start_challenge--> processing --record_validation--> valid|invalid
    authz      pending --record_validation--> valid|invalid
               pending|valid --deactivate_authorization--> deactivated, --expire--> expired

The invariant (DESIGN.md pitfalls): the transaction that makes an order's last
authorization valid also makes the order `ready`. Authorizations validated concurrently
could each see the other still pending (write skew), so `record_validation` first updates
its authorization, then locks the linked pending orders (PostgreSQL: FOR UPDATE, in id
order), and only then, in a new statement, checks whether all of an order's
authorizations are valid. Whichever transaction locks an order last sees the others'
committed results. On SQLite the single writer gives the same guarantee.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from store.acme_rows import (
    AUTHORIZATION_STATUSES,
    authorization_record,
    challenge_record,
    job_record,
)
from store.base import StoreBase, insert_sql, update_picked_sql
from store.columns import optional_utc, require_utc
from store.db import Row, Sql, Tx, dynamic, in_list
from store.interface import NotFound
from store.queries.validation_jobs import check_claim
from store.records import AuthorizationRecord, ChallengeRecord, ValidationJobRecord
from store.schema import acme_authorizations as authzs
from store.schema import acme_challenges as challenges
from store.schema import validation_jobs as jobs
from store.values import new_uuid

OPEN_ORDER = ("pending", "ready")  # orders an authorization's failure still changes

# An authorization and its challenges in one query: a row per challenge (sorted by type,
# as acme_rows.load_authorizations sorts them), its columns prefixed with c_.
_WITH_CHALLENGES = (
    "SELECT a.*, c.id AS c_id, c.type AS c_type, c.token AS c_token, c.status AS c_status, "
    "c.validated_at AS c_validated_at, c.error AS c_error, c.created_at AS c_created_at, "
    "c.updated_at AS c_updated_at "
    "FROM {source} a LEFT JOIN acme_challenges c ON c.authorization_id = a.id "
    "ORDER BY c.type"
)
_AUTHZ_WITH_CHALLENGES = Sql(
    _WITH_CHALLENGES.format(source="(SELECT * FROM acme_authorizations WHERE id = :id)")
)
_CHALLENGE_AUTHZ_WITH_CHALLENGES = Sql(
    _WITH_CHALLENGES.format(
        source="(SELECT * FROM acme_authorizations WHERE id = "
        "(SELECT authorization_id FROM acme_challenges WHERE id = :challenge_id))"
    )
)
_START = Sql(
    "UPDATE acme_challenges SET status = 'processing', updated_at = :at "
    "WHERE id = :id AND status = 'pending' AND EXISTS (SELECT 1 FROM acme_authorizations a "
    "WHERE a.id = acme_challenges.authorization_id AND a.status = 'pending' "
    "AND a.expires > :at)"
)
_RECORD = Sql(
    "UPDATE acme_challenges SET status = :status, validated_at = :validated_at, "
    "error = :error, updated_at = :at WHERE id = :id AND status = 'processing' "
    "RETURNING authorization_id"
)
_AUTHZ_VALID = Sql(
    "UPDATE acme_authorizations SET status = 'valid', updated_at = :at "
    "WHERE id = :id AND status = 'pending' AND expires > :at"
)
_AUTHZ_INVALID = Sql(
    "UPDATE acme_authorizations SET status = 'invalid', updated_at = :at "
    "WHERE id = :id AND status = 'pending'"
)
_DEACTIVATE = Sql(
    "UPDATE acme_authorizations SET status = 'deactivated', updated_at = :at "
    "WHERE id = :id AND status IN ('pending', 'valid')"
)
_LINKED = "SELECT order_id FROM acme_order_authorizations WHERE authorization_id = :authz_id"
_LINKED_PENDING = (
    f"SELECT id FROM acme_orders WHERE id IN ({_LINKED}) AND status = 'pending' ORDER BY id"
)
_INVALIDATE_UPDATE = "UPDATE acme_orders SET status = 'invalid', error = :error, updated_at = :at"
_INVALIDATE_PICK = {  # by the order statuses the invalidation changes
    OPEN_ORDER: f"SELECT id FROM acme_orders WHERE id IN ({_LINKED}) "
    "AND status IN ('pending', 'ready') ORDER BY id",
    ("pending",): _LINKED_PENDING,
}
# pending -> ready for the orders all of whose authorizations are valid
_READY_UPDATE = (
    "UPDATE acme_orders SET status = 'ready', updated_at = :at "
    "WHERE status = 'pending' AND expires > :at AND NOT EXISTS (SELECT 1 "
    "FROM acme_order_authorizations l JOIN acme_authorizations a ON a.id = l.authorization_id "
    "WHERE l.order_id = acme_orders.id AND a.status <> 'valid') AND id IN "
)
_READY_LINKED = Sql(f"{_READY_UPDATE}({_LINKED})")
_EXPIRE_AUTHZ_UPDATE = "UPDATE acme_authorizations SET status = 'expired', updated_at = :at"
_EXPIRE_AUTHZ_PICK = (
    "SELECT id FROM acme_authorizations WHERE status IN ('pending', 'valid') "
    "AND expires <= :at ORDER BY id"
)
_EXPIRE_ORDERS_UPDATE = "UPDATE acme_orders SET status = 'invalid', updated_at = :at"
_EXPIRE_ORDERS_PICK = (
    "SELECT id FROM acme_orders WHERE status IN ('pending', 'ready') AND EXISTS (SELECT 1 "
    "FROM acme_order_authorizations l JOIN acme_authorizations a ON a.id = l.authorization_id "
    "WHERE l.order_id = acme_orders.id AND a.status = 'expired') ORDER BY id"
)


def _authorization_from_joined(rows: Sequence[Row]) -> AuthorizationRecord:
    """The record from `_WITH_CHALLENGES` rows of one authorization."""
    authz_id = rows[0]["id"]
    found = [
        ChallengeRecord(
            id=row["c_id"],
            authorization_id=authz_id,
            type=row["c_type"],
            token=row["c_token"],
            status=row["c_status"],
            validated_at=row["c_validated_at"],
            error=None if row["c_error"] is None else dict(row["c_error"]),
            created_at=row["c_created_at"],
            updated_at=row["c_updated_at"],
        )
        for row in rows
        if row["c_id"] is not None
    ]
    return authorization_record(rows[0], found)


class AuthorizationQueries(StoreBase):
    async def get_authorization(self, authz_id: str) -> AuthorizationRecord:
        async with self._read() as tx:
            rows = await tx.all(_AUTHZ_WITH_CHALLENGES, {"id": authz_id})
        if not rows:
            raise NotFound(f"authorization {authz_id} not found")
        return _authorization_from_joined(rows)

    async def get_authorization_of_challenge(self, challenge_id: str) -> AuthorizationRecord:
        """The authorization (with all its challenges) that holds this challenge, in one
        statement; NotFound if there is no such challenge."""
        async with self._read() as tx:
            rows = await tx.all(_CHALLENGE_AUTHZ_WITH_CHALLENGES, {"challenge_id": challenge_id})
        if not rows:
            raise NotFound(f"challenge {challenge_id} not found")
        return _authorization_from_joined(rows)

    async def get_challenge(self, challenge_id: str) -> ChallengeRecord:
        async with self._read() as tx:
            return challenge_record(await self._one(tx, challenges, challenge_id, "challenge"))

    async def find_reusable_authorization(
        self,
        *,
        account_id: str,
        identifier_type: str,
        identifier_value: str,
        wildcard: bool,
        now: datetime,
        statuses: Sequence[str] = ("valid",),
    ) -> AuthorizationRecord | None:
        """The account's newest authorization for this identifier with one of `statuses`
        and unexpired at `now` (section 7.4 lets a server reuse them), or None."""
        at = require_utc(now, "now")
        if not statuses or not set(statuses) <= set(AUTHORIZATION_STATUSES):
            raise ValueError(f"statuses must be among {AUTHORIZATION_STATUSES}, got {statuses}")
        wanted, params = in_list("s", sorted(set(statuses)))
        params.update(
            account_id=account_id,
            identifier_type=identifier_type,
            identifier_value=identifier_value,
            wildcard=bool(wildcard),
            at=at,
        )
        newest = (
            "(SELECT * FROM acme_authorizations WHERE account_id = :account_id "
            "AND identifier_type = :identifier_type AND identifier_value = :identifier_value "
            f"AND wildcard = :wildcard AND status IN {wanted} AND expires > :at "
            "ORDER BY created_at DESC, id DESC LIMIT 1)"
        )
        async with self._read() as tx:
            rows = await tx.all(dynamic(_WITH_CHALLENGES.format(source=newest)), params)
        return _authorization_from_joined(rows) if rows else None

    async def deactivate_authorization(
        self, authz_id: str, now: datetime, *, order_error: dict[str, Any] | None = None
    ) -> bool:
        """pending|valid -> deactivated (section 7.5.2), and every pending or ready order
        linked to it -> invalid (with `order_error`, if given), in one transaction.
        False if the authorization was in another state."""
        at = require_utc(now, "now")
        async with self._write() as tx:
            if await tx.run(_DEACTIVATE, {"id": authz_id, "at": at}) == 0:
                await self._require(tx, authzs, authz_id, "authorization")
                return False
            await self._invalidate(tx, authz_id, OPEN_ORDER, order_error, at)
            return True

    async def expire_authorizations(self, now: datetime) -> int:
        """pending|valid authorizations whose `expires` has passed -> expired; returns how
        many. Pending or ready orders linked to an expired authorization become invalid in
        the same transaction (they could never be finalized). PostgreSQL skips rows another
        transaction holds; the next sweep takes them."""
        at = require_utc(now, "now")
        lock = self._lock(skip_locked=True)
        expire = update_picked_sql(_EXPIRE_AUTHZ_UPDATE, _EXPIRE_AUTHZ_PICK, lock)
        doom = update_picked_sql(_EXPIRE_ORDERS_UPDATE, _EXPIRE_ORDERS_PICK, lock)
        async with self._write() as tx:
            count = await tx.run(expire, {"at": at})
            await tx.run(doom, {"at": at})
            return count

    async def start_challenge(
        self, challenge_id: str, *, now: datetime, run_after: datetime | None = None
    ) -> bool:
        """pending -> processing (section 7.5.1) and a `queued` validation job (due at
        `run_after`, default `now`), in one transaction; only if the challenge is pending
        and its authorization is pending and unexpired. False otherwise: the caller
        re-reads the challenge to answer. NotFound for a missing challenge."""
        at = require_utc(now, "now")
        due = optional_utc(run_after, "run_after") or at
        return await self._start(challenge_id, at, status="queued", due=due) is not None

    async def start_challenge_and_claim(
        self, challenge_id: str, *, now: datetime, worker_id: str, lease: timedelta
    ) -> ValidationJobRecord | None:
        """`start_challenge` with the job claimed at once by `worker_id` (running, leased
        until now + lease, attempt 1), as claim_validation_jobs would: the process that
        answers the challenge POST validates it without a claim of its own, and if it dies
        the lease runs out and any worker takes the job. The job, or None as
        start_challenge's False."""
        at = require_utc(now, "now")
        check_claim(worker_id, lease)
        return await self._start(
            challenge_id,
            at,
            status="running",
            due=at,
            claimed_by=worker_id,
            claimed_until=at + lease,
            attempts=1,
        )

    async def _start(
        self,
        challenge_id: str,
        at: datetime,
        *,
        status: str,
        due: datetime,
        claimed_by: str | None = None,
        claimed_until: datetime | None = None,
        attempts: int = 0,
    ) -> ValidationJobRecord | None:
        async with self._write() as tx:
            if await tx.run(_START, {"id": challenge_id, "at": at}) == 0:
                await self._require(tx, challenges, challenge_id, "challenge")
                return None
            job = {
                "id": new_uuid(),
                "challenge_id": challenge_id,
                "status": status,
                "attempts": attempts,
                "claimed_by": claimed_by,
                "claimed_until": claimed_until,
                "run_after": due,
                "last_error": None,
                "created_at": at,
                "updated_at": at,
            }
            await tx.run(insert_sql(jobs), job)
        return job_record(job)

    async def record_validation(
        self, challenge_id: str, *, valid: bool, error: dict[str, Any] | None, now: datetime
    ) -> bool:
        """Record a validation's outcome, in one transaction:

        1. the challenge processing -> valid (validated_at=now) or invalid (with `error`);
        2. its authorization pending -> valid (if unexpired at `now`) or invalid;
        3. the orders linked to that authorization and still pending: -> invalid with
           `error` if it became invalid; else -> ready once all their authorizations are
           valid (and the order is unexpired).

        Returns False, changing nothing, if the challenge was not processing (a second
        worker finishing the same job). NotFound for a missing challenge.
        """
        at = require_utc(now, "now")
        problem = None if valid or error is None else dict(error)
        challenge = {
            "id": challenge_id,
            "status": "valid" if valid else "invalid",
            "validated_at": at if valid else None,
            "error": problem,
            "at": at,
        }
        async with self._write() as tx:
            authz_id = await tx.value(_RECORD, challenge)
            if authz_id is None:
                await self._require(tx, challenges, challenge_id, "challenge")
                return False
            decided = _AUTHZ_VALID if valid else _AUTHZ_INVALID
            if await tx.run(decided, {"id": authz_id, "at": at}) == 0:
                return True  # deactivated, expired or decided by another challenge
            if not valid:
                await self._invalidate(tx, authz_id, ("pending",), problem, at)
            else:
                await self._make_ready(tx, authz_id, at)
            return True

    async def _invalidate(
        self,
        tx: Tx,
        authz_id: str,
        statuses: tuple[str, ...],
        error: dict[str, Any] | None,
        at: datetime,
    ) -> None:
        """The orders linked to the authorization with one of `statuses` -> invalid, in one
        statement; PostgreSQL locks them first, in id order, waiting for their holders."""
        sql = update_picked_sql(_INVALIDATE_UPDATE, _INVALIDATE_PICK[statuses], self._lock())
        await tx.run(sql, {"authz_id": authz_id, "error": error, "at": at})

    async def _make_ready(self, tx: Tx, authz_id: str, at: datetime) -> None:
        """pending -> ready for those of the authorization's pending orders whose
        authorizations are all valid. PostgreSQL first locks those orders (in id order,
        waiting for transactions that hold them), then updates in a new statement, so it
        sees every transaction committed before the lock (see the module docstring);
        SQLite's single writer needs neither."""
        if self._backend != "postgresql":
            await tx.run(_READY_LINKED, {"authz_id": authz_id, "at": at})
            return
        locked = dynamic(_LINKED_PENDING, self._lock())
        order_ids = [row["id"] for row in await tx.all(locked, {"authz_id": authz_id})]
        if order_ids:
            ids, params = in_list("o", order_ids)
            await tx.run(dynamic(_READY_UPDATE + ids), {**params, "at": at})
