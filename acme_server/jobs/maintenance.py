"""Housekeeping every server process runs now and then: expired nonces deleted, expired
orders, authorizations and certificates marked, old finished validation jobs and expired
access tokens purged. Each step is an
idempotent conditional write, so several processes doing it at once is harmless."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta

from store import Store, StoreError

log = logging.getLogger(__name__)

INTERVAL_SECONDS = 300.0
KEEP_FINISHED_JOBS = timedelta(days=1)


async def sweep(store: Store, now: datetime) -> dict[str, int]:
    return {
        "nonces": await store.purge_nonces(now),
        "orders": await store.expire_orders(now),
        "authorizations": await store.expire_authorizations(now),
        "jobs": await store.purge_validation_jobs(now - KEEP_FINISHED_JOBS),
        "access_tokens": await store.purge_access_tokens(now),
        "certificates": await store.expire_certificates(now=now),
    }


async def run_forever(store: Store, interval: float = INTERVAL_SECONDS) -> None:
    while True:
        await asyncio.sleep(interval)
        try:
            counts = await sweep(store, datetime.now(UTC))
        except (StoreError, OSError) as exc:
            log.warning("maintenance sweep failed", extra={"error": type(exc).__name__})
            continue
        if any(counts.values()):
            log.info("maintenance sweep", extra=counts)
