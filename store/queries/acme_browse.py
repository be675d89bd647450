"""Read-only ACME views for operators (the console's ACME pages): every account, paged;
an account's latest orders; an order's authorizations with their challenges, in one
statement each.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from typing import Any

from store.acme_rows import account_record, authorization_record, challenge_record, load_orders
from store.base import StoreBase
from store.db import Sql
from store.queries.dashboard import LIST_LIMIT_MAX
from store.records import AccountRecord, AuthorizationRecord, ChallengeRecord, OrderRecord
from store.schema import acme_accounts as accounts

_ACCOUNTS_PAGE = Sql(
    "SELECT * FROM acme_accounts ORDER BY created_at DESC, id DESC LIMIT :limit OFFSET :offset"
)
_ACCOUNTS_COUNT = Sql("SELECT count(*) FROM acme_accounts")
_LATEST_ORDERS = Sql(
    "SELECT * FROM acme_orders WHERE account_id = :account_id "
    "ORDER BY created_at DESC, id DESC LIMIT :limit"
)
_ORDERS_COUNT = Sql("SELECT count(*) FROM acme_orders WHERE account_id = :account_id")
# The order's authorizations, a row per challenge (c_ columns), in identifier order.
_ORDER_AUTHZS = Sql(
    "SELECT a.*, c.id AS c_id, c.authorization_id AS c_authorization_id, c.type AS c_type, "
    "c.token AS c_token, c.status AS c_status, c.validated_at AS c_validated_at, "
    "c.error AS c_error, c.created_at AS c_created_at, c.updated_at AS c_updated_at "
    "FROM acme_order_authorizations l "
    "JOIN acme_authorizations a ON a.id = l.authorization_id "
    "LEFT JOIN acme_challenges c ON c.authorization_id = a.id "
    "WHERE l.order_id = :order_id "
    "ORDER BY a.identifier_type, a.identifier_value, a.wildcard, a.id, c.type"
)


def _page(limit: int, offset: int) -> None:
    if not 1 <= limit <= LIST_LIMIT_MAX or offset < 0:
        raise ValueError(f"limit must be 1-{LIST_LIMIT_MAX} and offset >= 0")


class AcmeBrowseQueries(StoreBase):
    async def list_acme_accounts(
        self, *, limit: int, offset: int = 0
    ) -> tuple[list[AccountRecord], int]:
        """A page of every profile's ACME accounts, newest first, and their total."""
        _page(limit, offset)
        async with self._read() as tx:
            rows = await tx.all(_ACCOUNTS_PAGE, {"limit": limit, "offset": offset})
            total = await tx.value(_ACCOUNTS_COUNT)
        return [account_record(row) for row in rows], int(total or 0)

    async def latest_account_orders(
        self, account_id: str, *, limit: int
    ) -> tuple[list[OrderRecord], int]:
        """The account's latest orders, newest first, and how many it has in all;
        NotFound for a missing account."""
        _page(limit, 0)
        params = {"account_id": account_id, "limit": limit}
        async with self._read() as tx:
            await self._require(tx, accounts, account_id, "account")
            rows = await tx.all(_LATEST_ORDERS, params)
            total = await tx.value(_ORDERS_COUNT, params)
            return await load_orders(tx, rows), int(total or 0)

    async def order_authorizations(self, order_id: str) -> list[AuthorizationRecord]:
        """The order's authorizations with their challenges ([] for an unknown order)."""
        async with self._read() as tx:
            rows = await tx.all(_ORDER_AUTHZS, {"order_id": order_id})
        found: dict[str, list[ChallengeRecord]] = defaultdict(list)
        heads: dict[str, Mapping[str, Any]] = {}
        for row in rows:
            heads.setdefault(row["id"], row)
            if row["c_id"] is not None:
                prefixed = {k[2:]: v for k, v in row.items() if k.startswith("c_")}
                found[row["id"]].append(challenge_record(prefixed))
        return [authorization_record(head, found[authz_id]) for authz_id, head in heads.items()]
