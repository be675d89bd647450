"""The orders whose finalize outlived its lease, with the certificate it reserved.

Finalize moves an order ready -> processing (its `updated_at` is then the start of the
lease), reserves a `pending` certificate tagged with the order's id (the `acme.order`
metadata), signs it, activates it and completes the order. A process that dies, or whose
writes fail, anywhere in between leaves the order processing; the recovery sweep
(acme_server/services/finalize_recovery.py) reads the orders processing since before the
lease's end here and finishes each from what was stored: an active certificate completes
the order, anything else fails it. Reading is one indexed query (a partial index holds only
processing orders); the transitions are the orders' own conditional UPDATEs, so sweeps in
several processes at once finish each order once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from store.base import StoreBase
from store.columns import require_utc
from store.db import Sql

ORDER_METADATA_KEY = "acme.order"  # the certificate metadata naming the order it was for

_STALE = Sql(
    "SELECT o.id AS order_id, c.id AS certificate_id, c.status AS certificate_status "
    "FROM acme_orders o "
    "LEFT JOIN certificate_metadata m ON m.key = :key AND m.value = o.id "
    "LEFT JOIN certificates c ON c.id = m.certificate_id "
    "WHERE o.status = 'processing' AND o.updated_at <= :before "
    "ORDER BY o.updated_at, o.id LIMIT :limit"
)


@dataclass(frozen=True, slots=True)
class StaleFinalization:
    order_id: str
    certificate_id: str | None  # the certificate reserved for it, if it got that far
    certificate_status: str | None  # pending (maybe signed, never stored), active, revoked


class FinalizeRecoveryQueries(StoreBase):
    async def stale_finalizations(
        self, *, before: datetime, limit: int = 100
    ) -> list[StaleFinalization]:
        """Orders processing since `before` or earlier, oldest first; an order that reserved
        several certificates (it cannot today) appears once per certificate."""
        at = require_utc(before, "before")
        params = {"key": ORDER_METADATA_KEY, "before": at, "limit": limit}
        async with self._read() as tx:
            rows = await tx.all(_STALE, params)
        return [
            StaleFinalization(
                order_id=row["order_id"],
                certificate_id=row["certificate_id"],
                certificate_status=row["certificate_status"],
            )
            for row in rows
        ]
