"""ACME orders (RFC 8555 sections 7.1.3, 7.1.6, 7.4): creation with their authorizations,
reads, the account's orders list, and the order's own transitions.

    pending --(all authorizations valid; record_validation)--> ready
    ready --begin_finalize--> processing --complete_order--> valid
    pending|ready|processing --fail_order--> invalid;  pending|ready --expire_orders--> invalid

Each transition is a conditional UPDATE returning bool. Where several order rows are
written in one statement, PostgreSQL locks them in id order (SKIP LOCKED for sweeps), the
same order every other writer uses, so concurrent writers wait instead of deadlocking.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from store.acme_rows import check_limit, load_account, load_order, load_orders
from store.base import StoreBase
from store.columns import optional_utc, require_utc
from store.interface import Conflict, NotFound
from store.records import NewAuthorization, OrderRecord, OrderStatus
from store.schema import acme_authorizations as authzs
from store.schema import acme_challenges as challenges
from store.schema import acme_order_authorizations as links
from store.schema import acme_orders as orders
from store.schema import certificates as certs
from store.values import new_uuid

ORDER_STATUSES: tuple[OrderStatus, ...] = ("pending", "ready", "processing", "valid", "invalid")
REUSABLE_AUTHORIZATION = ("pending", "valid")


def _identifiers(identifiers: Sequence[Mapping[str, str]]) -> list[dict[str, str]]:
    checked = []
    for item in identifiers:
        kind, value = item.get("type"), item.get("value")
        if not isinstance(kind, str) or not isinstance(value, str) or not kind or not value:
            raise ValueError(f"an identifier needs a string type and value, got {item!r}")
        checked.append({"type": kind, "value": value})
    if not checked:
        raise ValueError("an order needs at least one identifier (section 7.4)")
    return checked


def _new_rows(
    new: Sequence[NewAuthorization], account_id: str, at: datetime
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Rows for the new authorizations (pending) and their challenges (pending)."""
    authz_rows: list[dict[str, Any]] = []
    challenge_rows: list[dict[str, Any]] = []
    for authz in new:
        types = [challenge.type for challenge in authz.challenges]
        if not types or len(set(types)) != len(types):
            raise ValueError(
                f"authorization for {authz.identifier_value!r} needs challenges of distinct "
                f"types, got {types}"
            )
        authz_id = new_uuid()
        authz_rows.append(
            {
                "id": authz_id,
                "account_id": account_id,
                "identifier_type": authz.identifier_type,
                "identifier_value": authz.identifier_value,
                "wildcard": bool(authz.wildcard),
                "status": "pending",
                "expires": require_utc(authz.expires, "authorization expires"),
                "created_at": at,
                "updated_at": at,
            }
        )
        challenge_rows.extend(
            {
                "id": new_uuid(),
                "authorization_id": authz_id,
                "type": challenge.type,
                "token": challenge.token,
                "status": "pending",
                "validated_at": None,
                "error": None,
                "created_at": at,
                "updated_at": at,
            }
            for challenge in authz.challenges
        )
    return authz_rows, challenge_rows


class OrderQueries(StoreBase):
    async def create_order(
        self,
        *,
        account_id: str,
        profile_id: str,
        identifiers: Sequence[Mapping[str, str]],
        expires: datetime,
        not_before: datetime | None,
        not_after: datetime | None,
        replaces: str | None,
        reuse_authorization_ids: Sequence[str],
        new_authorizations: Sequence[NewAuthorization],
        now: datetime,
    ) -> OrderRecord:
        """Insert an order, its new authorizations and their challenges, and link it to
        those and to the reused authorizations, in one transaction.

        The order starts `ready` if every linked authorization is already valid, else
        `pending`. Reused authorizations are locked (PostgreSQL: FOR SHARE) and must
        belong to the account, be pending or valid and unexpired at `now`: NotFound if
        missing or another account's, Conflict if no longer reusable (find again and
        retry). NotFound for a missing account; Conflict if the account is not valid or
        belongs to another profile. ValueError for no identifiers or no authorizations.
        """
        at = require_utc(now, "now")
        reused = sorted(set(reuse_authorization_ids))
        authz_rows, challenge_rows = _new_rows(new_authorizations, account_id, at)
        if not reused and not authz_rows:
            raise ValueError("an order needs at least one authorization")
        values: dict[str, Any] = {
            "id": new_uuid(),
            "account_id": account_id,
            "profile_id": profile_id,
            "status": "pending",
            "expires": require_utc(expires, "expires"),
            "not_before": optional_utc(not_before, "not_before"),
            "not_after": optional_utc(not_after, "not_after"),
            "identifiers": _identifiers(identifiers),
            "error": None,
            "certificate_id": None,
            "replaces": replaces,
            "created_at": at,
            "updated_at": at,
        }
        async with self._write() as conn:
            account = await load_account(conn, account_id)
            if account.profile_id != profile_id:
                raise Conflict(f"account {account_id} belongs to another profile")
            if account.status != "valid":
                raise Conflict(f"account {account_id} is {account.status}")
            if await self._all_reusable_valid(conn, reused, account_id, at) and not authz_rows:
                values["status"] = "ready"
            await conn.execute(orders.insert().values(values))
            if authz_rows:
                await conn.execute(authzs.insert(), authz_rows)
                await conn.execute(challenges.insert(), challenge_rows)
            linked = reused + [row["id"] for row in authz_rows]
            await conn.execute(
                links.insert(),
                [{"order_id": values["id"], "authorization_id": a_id} for a_id in linked],
            )
            return await load_order(conn, values["id"])

    async def _all_reusable_valid(
        self, conn: AsyncConnection, reused: Sequence[str], account_id: str, at: datetime
    ) -> bool:
        """Lock the reused authorizations, check each, and say whether all are valid."""
        if not reused:
            return True
        query = self._locking(
            select(authzs.c.id, authzs.c.account_id, authzs.c.status, authzs.c.expires)
            .where(authzs.c.id.in_(reused))
            .order_by(authzs.c.id),
            share=True,
        )
        rows = {row.id: row for row in await conn.execute(query)}
        for authz_id in reused:
            row = rows.get(authz_id)
            if row is None or row.account_id != account_id:
                raise NotFound(f"authorization {authz_id} not found for account {account_id}")
            if row.status not in REUSABLE_AUTHORIZATION or row.expires <= at:
                raise Conflict(f"authorization {authz_id} can no longer be reused")
        return all(row.status == "valid" for row in rows.values())

    async def get_order(self, order_id: str) -> OrderRecord:
        async with self._read() as conn:
            return await load_order(conn, order_id)

    async def list_account_orders(
        self,
        account_id: str,
        *,
        limit: int,
        after: str | None,
        statuses: Sequence[str] = ORDER_STATUSES,
    ) -> list[OrderRecord]:
        """One page of the account's orders, oldest first, in (created_at, id) order.

        `after` is the last order id of the previous page (None for the first page).
        `statuses` narrows the list (section 7.1.2.1 suggests leaving out invalid ones).
        NotFound for a missing account, or an `after` that is not one of its orders.
        """
        check_limit(limit)
        if not statuses or not set(statuses) <= set(ORDER_STATUSES):
            raise ValueError(f"statuses must be among {ORDER_STATUSES}, got {statuses}")
        query = select(orders).where(
            orders.c.account_id == account_id, orders.c.status.in_(list(statuses))
        )
        async with self._read() as conn:
            await load_account(conn, account_id)
            if after is not None:
                created = await conn.scalar(
                    select(orders.c.created_at).where(
                        orders.c.id == after, orders.c.account_id == account_id
                    )
                )
                if created is None:
                    raise NotFound(f"order {after} not found for account {account_id}")
                query = query.where(
                    or_(
                        orders.c.created_at > created,
                        and_(orders.c.created_at == created, orders.c.id > after),
                    )
                )
            query = query.order_by(orders.c.created_at, orders.c.id).limit(limit)
            rows = list((await conn.execute(query)).mappings())
            return await load_orders(conn, rows)

    async def find_orders_by_certificate(self, certificate_id: str) -> list[OrderRecord]:
        """Orders that issued this certificate (usually one), oldest first; [] if none."""
        async with self._read() as conn:
            result = await conn.execute(
                select(orders)
                .where(orders.c.certificate_id == certificate_id)
                .order_by(orders.c.created_at, orders.c.id)
            )
            return await load_orders(conn, list(result.mappings()))

    async def begin_finalize(self, order_id: str, now: datetime) -> bool:
        """ready -> processing (section 7.4), only if unexpired at `now`. False otherwise:
        the caller re-reads the order to answer (orderNotReady, or the order as it is)."""
        at = require_utc(now, "now")
        return await self._transition(
            order_id,
            (orders.c.status == "ready", orders.c.expires > at),
            {"status": "processing", "updated_at": at},
        )

    async def complete_order(self, order_id: str, *, certificate_id: str, now: datetime) -> bool:
        """processing -> valid with its certificate; False if not processing. NotFound for
        a missing order or certificate."""
        at = require_utc(now, "now")
        async with self._write() as conn:
            await self._require(conn, certs, certificate_id, "certificate")
            return await self._update_order(
                conn,
                order_id,
                (orders.c.status == "processing",),
                {"status": "valid", "certificate_id": certificate_id, "updated_at": at},
            )

    async def fail_order(self, order_id: str, *, error: dict[str, Any], now: datetime) -> bool:
        """pending|ready|processing -> invalid with `error` (a problem document)."""
        at = require_utc(now, "now")
        return await self._transition(
            order_id,
            (orders.c.status.in_(("pending", "ready", "processing")),),
            {"status": "invalid", "error": dict(error), "updated_at": at},
        )

    async def expire_orders(self, now: datetime) -> int:
        """pending|ready orders whose `expires` has passed -> invalid; returns how many.
        PostgreSQL skips rows another transaction holds; the next sweep takes them."""
        at = require_utc(now, "now")
        due = self._locking(
            select(orders.c.id)
            .where(orders.c.status.in_(("pending", "ready")), orders.c.expires <= at)
            .order_by(orders.c.id),
            skip_locked=True,
        )
        async with self._write() as conn:
            result = await conn.execute(
                update(orders)
                .where(orders.c.id.in_(due.scalar_subquery()))
                .values(status="invalid", updated_at=at)
            )
            return int(result.rowcount)

    async def _transition(
        self, order_id: str, where: Sequence[Any], values: dict[str, Any]
    ) -> bool:
        async with self._write() as conn:
            return await self._update_order(conn, order_id, where, values)

    async def _update_order(
        self, conn: AsyncConnection, order_id: str, where: Sequence[Any], values: dict[str, Any]
    ) -> bool:
        result = await conn.execute(
            update(orders).where(orders.c.id == order_id, *where).values(values)
        )
        if result.rowcount == 0:
            await self._require(conn, orders, order_id, "order")
            return False
        return True
