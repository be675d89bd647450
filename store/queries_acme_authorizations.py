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
from datetime import datetime
from typing import Any

from sqlalchemy import exists, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from store.acme_rows import (
    AUTHORIZATION_STATUSES,
    challenge_record,
    load_authorization,
    load_authorizations,
)
from store.base import StoreBase
from store.columns import optional_utc, require_utc
from store.records import AuthorizationRecord, ChallengeRecord
from store.schema import acme_authorizations as authzs
from store.schema import acme_challenges as challenges
from store.schema import acme_order_authorizations as links
from store.schema import acme_orders as orders
from store.schema import validation_jobs as jobs
from store.values import new_uuid

OPEN_ORDER = ("pending", "ready")  # orders an authorization's failure still changes


class AuthorizationQueries(StoreBase):
    async def get_authorization(self, authz_id: str) -> AuthorizationRecord:
        async with self._read() as conn:
            return await load_authorization(conn, authz_id)

    async def get_challenge(self, challenge_id: str) -> ChallengeRecord:
        async with self._read() as conn:
            return challenge_record(await self._one(conn, challenges, challenge_id, "challenge"))

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
        query = (
            select(authzs)
            .where(
                authzs.c.account_id == account_id,
                authzs.c.identifier_type == identifier_type,
                authzs.c.identifier_value == identifier_value,
                authzs.c.wildcard.is_(bool(wildcard)),
                authzs.c.status.in_(list(statuses)),
                authzs.c.expires > at,
            )
            .order_by(authzs.c.created_at.desc(), authzs.c.id.desc())
            .limit(1)
        )
        async with self._read() as conn:
            rows = list((await conn.execute(query)).mappings())
            found = await load_authorizations(conn, rows)
        return found[0] if found else None

    async def deactivate_authorization(
        self, authz_id: str, now: datetime, *, order_error: dict[str, Any] | None = None
    ) -> bool:
        """pending|valid -> deactivated (section 7.5.2), and every pending or ready order
        linked to it -> invalid (with `order_error`, if given), in one transaction.
        False if the authorization was in another state."""
        at = require_utc(now, "now")
        async with self._write() as conn:
            result = await conn.execute(
                update(authzs)
                .where(authzs.c.id == authz_id, authzs.c.status.in_(("pending", "valid")))
                .values(status="deactivated", updated_at=at)
            )
            if result.rowcount == 0:
                await self._require(conn, authzs, authz_id, "authorization")
                return False
            open_orders = await self._lock_linked_orders(conn, authz_id, OPEN_ORDER)
            await self._invalidate(conn, open_orders, OPEN_ORDER, order_error, at)
            return True

    async def expire_authorizations(self, now: datetime) -> int:
        """pending|valid authorizations whose `expires` has passed -> expired; returns how
        many. Pending or ready orders linked to an expired authorization become invalid in
        the same transaction (they could never be finalized). PostgreSQL skips rows another
        transaction holds; the next sweep takes them."""
        at = require_utc(now, "now")
        due = self._locking(
            select(authzs.c.id)
            .where(authzs.c.status.in_(("pending", "valid")), authzs.c.expires <= at)
            .order_by(authzs.c.id),
            skip_locked=True,
        )
        stale = exists().where(
            links.c.order_id == orders.c.id,
            links.c.authorization_id == authzs.c.id,
            authzs.c.status == "expired",
        )
        doomed = self._locking(
            select(orders.c.id).where(orders.c.status.in_(OPEN_ORDER), stale).order_by(orders.c.id),
            skip_locked=True,
        )
        async with self._write() as conn:
            result = await conn.execute(
                update(authzs)
                .where(authzs.c.id.in_(due.scalar_subquery()))
                .values(status="expired", updated_at=at)
            )
            await conn.execute(
                update(orders)
                .where(orders.c.id.in_(doomed.scalar_subquery()))
                .values(status="invalid", updated_at=at)
            )
            return int(result.rowcount)

    async def start_challenge(
        self, challenge_id: str, *, now: datetime, run_after: datetime | None = None
    ) -> bool:
        """pending -> processing (section 7.5.1) and a `queued` validation job (due at
        `run_after`, default `now`), in one transaction; only if the challenge is pending
        and its authorization is pending and unexpired. False otherwise: the caller
        re-reads the challenge to answer. NotFound for a missing challenge."""
        at = require_utc(now, "now")
        due = optional_utc(run_after, "run_after") or at
        authz_open = exists().where(
            authzs.c.id == challenges.c.authorization_id,
            authzs.c.status == "pending",
            authzs.c.expires > at,
        )
        async with self._write() as conn:
            result = await conn.execute(
                update(challenges)
                .where(
                    challenges.c.id == challenge_id, challenges.c.status == "pending", authz_open
                )
                .values(status="processing", updated_at=at)
            )
            if result.rowcount == 0:
                await self._require(conn, challenges, challenge_id, "challenge")
                return False
            await conn.execute(
                jobs.insert().values(
                    id=new_uuid(),
                    challenge_id=challenge_id,
                    status="queued",
                    attempts=0,
                    claimed_by=None,
                    claimed_until=None,
                    run_after=due,
                    last_error=None,
                    created_at=at,
                    updated_at=at,
                )
            )
            return True

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
        async with self._write() as conn:
            result = await conn.execute(
                update(challenges)
                .where(challenges.c.id == challenge_id, challenges.c.status == "processing")
                .values(
                    status="valid" if valid else "invalid",
                    validated_at=at if valid else None,
                    error=problem,
                    updated_at=at,
                )
                .returning(challenges.c.authorization_id)
            )
            authz_id = result.scalar_one_or_none()
            if authz_id is None:
                await self._require(conn, challenges, challenge_id, "challenge")
                return False
            condition = [authzs.c.id == authz_id, authzs.c.status == "pending"]
            if valid:
                condition.append(authzs.c.expires > at)
            result = await conn.execute(
                update(authzs)
                .where(*condition)
                .values(status="valid" if valid else "invalid", updated_at=at)
            )
            if result.rowcount == 0:  # deactivated, expired or decided by another challenge
                return True
            pending = await self._lock_linked_orders(conn, authz_id, ("pending",))
            if not valid:
                await self._invalidate(conn, pending, ("pending",), problem, at)
            elif pending:
                await self._make_ready(conn, pending, at)
            return True

    async def _lock_linked_orders(
        self, conn: AsyncConnection, authz_id: str, statuses: Sequence[str]
    ) -> list[str]:
        """Ids of the orders linked to the authorization with one of `statuses`; locked
        (PostgreSQL) in id order, waiting for transactions that hold them."""
        query = self._locking(
            select(orders.c.id)
            .where(
                orders.c.id.in_(
                    select(links.c.order_id).where(links.c.authorization_id == authz_id)
                ),
                orders.c.status.in_(list(statuses)),
            )
            .order_by(orders.c.id)
        )
        return list((await conn.execute(query)).scalars())

    @staticmethod
    async def _invalidate(
        conn: AsyncConnection,
        order_ids: Sequence[str],
        statuses: Sequence[str],
        error: dict[str, Any] | None,
        at: datetime,
    ) -> None:
        if order_ids:
            await conn.execute(
                update(orders)
                .where(orders.c.id.in_(order_ids), orders.c.status.in_(list(statuses)))
                .values(status="invalid", error=error, updated_at=at)
            )

    @staticmethod
    async def _make_ready(conn: AsyncConnection, order_ids: Sequence[str], at: datetime) -> None:
        """pending -> ready for those of the (locked) orders whose authorizations are all
        valid. A new statement, so it sees every transaction committed before the lock."""
        not_valid = exists().where(
            links.c.order_id == orders.c.id,
            links.c.authorization_id == authzs.c.id,
            authzs.c.status != "valid",
        )
        await conn.execute(
            update(orders)
            .where(
                orders.c.id.in_(order_ids),
                orders.c.status == "pending",
                orders.c.expires > at,
                ~not_valid,
            )
            .values(status="ready", updated_at=at)
        )
