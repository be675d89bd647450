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

from store.acme_rows import check_limit, load_orders, order_record
from store.base import StoreBase, insert_sql, update_picked_sql
from store.columns import optional_utc, require_utc
from store.db import Row, Sql, Tx, dynamic, in_list
from store.interface import Conflict, NotFound
from store.records import NewAuthorization, OrderRecord, OrderStatus
from store.schema import acme_accounts as accounts
from store.schema import acme_authorizations as authzs
from store.schema import acme_challenges as challenges
from store.schema import acme_order_authorizations as links
from store.schema import acme_orders as orders
from store.values import new_uuid

ORDER_STATUSES: tuple[OrderStatus, ...] = ("pending", "ready", "processing", "valid", "invalid")
REUSABLE_AUTHORIZATION = ("pending", "valid")

_ACCOUNT = Sql("SELECT profile_id, status FROM acme_accounts WHERE id = :id")
# The order and its authorization ids in one query: a row per authorization, sorted as
# acme_rows.load_orders sorts them (every order has at least one).
_ORDER_WITH_AUTHZ_IDS = Sql(
    "SELECT o.*, a.id AS authz_id FROM acme_orders o "
    "LEFT JOIN acme_order_authorizations l ON l.order_id = o.id "
    "LEFT JOIN acme_authorizations a ON a.id = l.authorization_id "
    "WHERE o.id = :id "
    "ORDER BY a.identifier_type, a.identifier_value, a.wildcard, a.id"
)
_BY_CERTIFICATE = Sql(
    "SELECT * FROM acme_orders WHERE certificate_id = :certificate_id ORDER BY created_at, id"
)
_BEGIN_FINALIZE = Sql(
    "UPDATE acme_orders SET status = 'processing', updated_at = :at "
    "WHERE id = :id AND status = 'ready' AND expires > :at"
)
_COMPLETE = Sql(
    "UPDATE acme_orders SET status = 'valid', certificate_id = :certificate_id, "
    "updated_at = :at WHERE id = :id AND status = 'processing' "
    "AND EXISTS (SELECT 1 FROM certificates WHERE id = :certificate_id)"
)
_CERTIFICATE_AND_ORDER_EXIST = Sql(
    "SELECT EXISTS (SELECT 1 FROM certificates WHERE id = :certificate_id) AS certificate, "
    "EXISTS (SELECT 1 FROM acme_orders WHERE id = :id) AS ord"
)
_FAIL = Sql(
    "UPDATE acme_orders SET status = 'invalid', error = :error, updated_at = :at "
    "WHERE id = :id AND status IN ('pending', 'ready', 'processing')"
)
_ORDER_OF_ACCOUNT = Sql("SELECT 1 FROM acme_orders WHERE id = :after AND account_id = :account_id")
_EXPIRE_UPDATE = "UPDATE acme_orders SET status = 'invalid', updated_at = :at"
_EXPIRE_PICK = (
    "SELECT id FROM acme_orders WHERE status IN ('pending', 'ready') AND expires <= :at ORDER BY id"
)


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


def _order_from_joined(rows: Sequence[Row]) -> OrderRecord:
    return order_record(rows[0], [row["authz_id"] for row in rows if row["authz_id"] is not None])


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
        async with self._write() as tx:
            account = await tx.one(_ACCOUNT, {"id": account_id})
            if account is None:
                raise NotFound(f"account {account_id} not found")
            if account["profile_id"] != profile_id:
                raise Conflict(f"account {account_id} belongs to another profile")
            if account["status"] != "valid":
                raise Conflict(f"account {account_id} is {account['status']}")
            if await self._all_reusable_valid(tx, reused, account_id, at) and not authz_rows:
                values["status"] = "ready"
            await tx.run(insert_sql(orders), values)
            if authz_rows:
                await tx.run_many(insert_sql(authzs), authz_rows)
                await tx.run_many(insert_sql(challenges), challenge_rows)
            linked = reused + [row["id"] for row in authz_rows]
            await tx.run_many(
                insert_sql(links),
                [{"order_id": values["id"], "authorization_id": a_id} for a_id in linked],
            )
            if len(linked) == 1:  # nothing to sort: the record is what was just written
                return order_record(values, linked)
            return (await load_orders(tx, [values]))[0]

    async def _all_reusable_valid(
        self, tx: Tx, reused: Sequence[str], account_id: str, at: datetime
    ) -> bool:
        """Lock the reused authorizations, check each, and say whether all are valid."""
        if not reused:
            return True
        ids, params = in_list("a", reused)
        sql = dynamic(
            "SELECT id, account_id, status, expires FROM acme_authorizations "
            f"WHERE id IN {ids} ORDER BY id",
            self._lock(share=True),
        )
        rows = {row["id"]: row for row in await tx.all(sql, params)}
        for authz_id in reused:
            row = rows.get(authz_id)
            if row is None or row["account_id"] != account_id:
                raise NotFound(f"authorization {authz_id} not found for account {account_id}")
            if row["status"] not in REUSABLE_AUTHORIZATION or row["expires"] <= at:
                raise Conflict(f"authorization {authz_id} can no longer be reused")
        return all(row["status"] == "valid" for row in rows.values())

    async def get_order(self, order_id: str) -> OrderRecord:
        async with self._read() as tx:
            rows = await tx.all(_ORDER_WITH_AUTHZ_IDS, {"id": order_id})
        if not rows:
            raise NotFound(f"order {order_id} not found")
        return _order_from_joined(rows)

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
        wanted, params = in_list("s", sorted(set(statuses)))
        params.update(account_id=account_id, limit=limit)
        text = f"SELECT * FROM acme_orders WHERE account_id = :account_id AND status IN {wanted}"
        if after is not None:
            # no such order of the account: the subquery is NULL and no row qualifies
            text += (
                " AND (created_at, id) > (SELECT created_at, id FROM acme_orders "
                "WHERE id = :after AND account_id = :account_id)"
            )
            params["after"] = after
        sql = dynamic(text + " ORDER BY created_at, id LIMIT :limit")
        async with self._read() as tx:
            rows = await tx.all(sql, params)
            if not rows:  # an empty page, or a missing account or `after`: say which
                await self._require(tx, accounts, account_id, "account")
                if after is not None and await tx.one(_ORDER_OF_ACCOUNT, params) is None:
                    raise NotFound(f"order {after} not found for account {account_id}")
                return []
            return await load_orders(tx, rows)

    async def find_orders_by_certificate(self, certificate_id: str) -> list[OrderRecord]:
        """Orders that issued this certificate (usually one), oldest first; [] if none."""
        async with self._read() as tx:
            rows = await tx.all(_BY_CERTIFICATE, {"certificate_id": certificate_id})
            return await load_orders(tx, rows)

    async def begin_finalize(self, order_id: str, now: datetime) -> bool:
        """ready -> processing (section 7.4), only if unexpired at `now`. False otherwise:
        the caller re-reads the order to answer (orderNotReady, or the order as it is)."""
        at = require_utc(now, "now")
        return await self._transition(_BEGIN_FINALIZE, {"id": order_id, "at": at})

    async def complete_order(self, order_id: str, *, certificate_id: str, now: datetime) -> bool:
        """processing -> valid with its certificate; False if not processing. NotFound for
        a missing order or certificate."""
        at = require_utc(now, "now")
        params = {"id": order_id, "certificate_id": certificate_id, "at": at}
        async with self._autocommit() as tx:  # one conditional UPDATE: atomic by itself
            if await tx.run(_COMPLETE, params) == 1:
                return True
            found = await tx.one(_CERTIFICATE_AND_ORDER_EXIST, params)
            if found is None or not found["certificate"]:
                raise NotFound(f"certificate {certificate_id} not found")
            if not found["ord"]:
                raise NotFound(f"order {order_id} not found")
            return False

    async def fail_order(self, order_id: str, *, error: dict[str, Any], now: datetime) -> bool:
        """pending|ready|processing -> invalid with `error` (a problem document)."""
        at = require_utc(now, "now")
        return await self._transition(_FAIL, {"id": order_id, "error": dict(error), "at": at})

    async def expire_orders(self, now: datetime) -> int:
        """pending|ready orders whose `expires` has passed -> invalid; returns how many.
        PostgreSQL skips rows another transaction holds; the next sweep takes them."""
        at = require_utc(now, "now")
        sql = update_picked_sql(_EXPIRE_UPDATE, _EXPIRE_PICK, self._lock(skip_locked=True))
        async with self._write() as tx:
            return await tx.run(sql, {"at": at})

    async def _transition(self, sql: Sql, params: dict[str, Any]) -> bool:
        """A conditional UPDATE of one order: False (or NotFound) if it changed nothing."""
        return await self._conditional(sql, params, orders, "order")
