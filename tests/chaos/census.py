"""What a chaos run left in the database, read with plain SQL once the load has stopped:
orders by status, active certificates per order, orders still processing, validation jobs
nobody finishes. `lost` counts valid orders without their active certificate and failed
orders holding an active one (a signed certificate nobody can download)."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import asyncpg

ORDERS = (
    "SELECT o.id, o.status, o.certificate_id, "
    "(SELECT count(*) FROM certificate_metadata m JOIN certificates c ON c.id = m.certificate_id "
    "WHERE m.key = 'acme.order' AND m.value = o.id AND c.status = 'active') AS active "
    "FROM acme_orders o"
)
STUCK_JOBS = (
    "SELECT count(*) FROM validation_jobs WHERE status <> 'done' "
    "AND COALESCE(claimed_until, run_after) < $1"
)


@dataclass
class Census:
    by_status: dict[str, int] = field(default_factory=dict)
    certificates_per_order: dict[int, int] = field(default_factory=dict)  # active -> orders
    processing: int = 0
    duplicated: int = 0
    lost: int = 0
    stuck_jobs: int = 0

    @property
    def clean(self) -> bool:
        return not (self.processing or self.duplicated or self.lost or self.stuck_jobs)

    def add(self, status: str, certificate_id: str | None, active: int) -> None:
        self.by_status[status] = self.by_status.get(status, 0) + 1
        self.certificates_per_order[active] = self.certificates_per_order.get(active, 0) + 1
        self.processing += status == "processing"
        self.duplicated += active > 1
        self.lost += (status == "valid" and (certificate_id is None or active == 0)) or (
            status == "invalid" and active > 0
        )


def _cutoff() -> datetime:
    return datetime.now(UTC) - timedelta(minutes=1)


async def take_postgres(url: str) -> Census:
    census = Census()
    conn = await asyncpg.connect(url, timeout=10)
    try:
        for row in await conn.fetch(ORDERS):
            census.add(row["status"], row["certificate_id"], int(row["active"]))
        census.stuck_jobs = int(await conn.fetchval(STUCK_JOBS, _cutoff()))
    finally:
        await conn.close()
    return census


def take_sqlite(path: str) -> Census:
    census = Census()
    conn = sqlite3.connect(path)
    try:
        for order_id, status, certificate_id, active in conn.execute(ORDERS):
            del order_id
            census.add(status, certificate_id, int(active))
        cutoff = _cutoff().replace(tzinfo=None).isoformat(sep=" ")
        (census.stuck_jobs,) = conn.execute(STUCK_JOBS.replace("$1", "?"), (cutoff,)).fetchone()
    finally:
        conn.close()
    return census
