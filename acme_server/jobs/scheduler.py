"""The auto-renewal scheduler every server process runs; one of them acts at a time.

Each tick takes (or extends) the `renewal-scheduler` lease in the store -- a row, so it
works on SQLite and PostgreSQL alike -- and, while holding it, runs one renewal pass
(services/certificates/auto_renewal.py). The lease outlives a few ticks, so a holder that dies is
replaced after at most LEASE_TICKS intervals; a holder that loses the lease mid-pass
stops before its next renewal. A process that stops releases its lease.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import uuid
from datetime import UTC, datetime, timedelta

from acme_server.services.certificates.auto_renewal import Notify, PassReport, run_pass
from acme_server.services.context import Services
from store import StoreError

log = logging.getLogger(__name__)

LEASE_NAME = "renewal-scheduler"
LEASE_TICKS = 3
MIN_LEASE = timedelta(seconds=10)


class RenewalScheduler:
    def __init__(
        self,
        services: Services,
        *,
        interval: timedelta | None = None,
        notify: Notify | None = None,  # besides the bus: a subscriber of its passes' events
    ) -> None:
        self.services = services
        self.interval = interval or services.settings.renewal_interval_period
        self.lease_ttl = max(self.interval * LEASE_TICKS, MIN_LEASE)
        self.holder = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.notify = notify

    async def _hold(self) -> bool:
        return await self.services.store.take_lease(
            LEASE_NAME, self.holder, ttl=self.lease_ttl, now=datetime.now(UTC)
        )

    async def tick(self, now: datetime | None = None) -> PassReport | None:
        """One pass if this process holds the lease (taking it when free); else None."""
        if not await self._hold():
            return None
        return await run_pass(
            self.services,
            now=now or datetime.now(UTC),
            notify=self.notify,
            keep_going=self._hold,
        )

    async def run_forever(self) -> None:
        try:
            while True:
                try:
                    report = await self.tick()
                except (StoreError, OSError) as exc:
                    log.warning("renewal pass failed", extra={"error": type(exc).__name__})
                else:
                    if report is not None and (report.renewed or report.failed):
                        log.info(
                            "renewal pass",
                            extra={"renewed": len(report.renewed), "failed": len(report.failed)},
                        )
                await asyncio.sleep(self.interval.total_seconds())
        finally:
            await self._release()

    async def _release(self) -> None:
        with contextlib.suppress(StoreError, OSError):
            await self.services.store.release_lease(LEASE_NAME, self.holder)
