"""Finish the finalizes that outlived their lease (store/queries/finalize_recovery.py).

A finalize holds its order `processing` for at most `finalize_timeout_seconds`. The lease is
five sixths of that, and a sweep runs every sixth (a process runs one at its start too), so
no order stays processing longer than the setting:

- its certificate is active (signed and stored; the process died before the order update,
  or that write failed): the order becomes valid with it. It is never signed again.
- otherwise (the process died before signing, or after signing but before storing, or the
  issuance failed and so did the write marking the order invalid): the order becomes
  invalid with a serverInternal error, and a reserved `pending` certificate, which may
  have been signed, is revoked so that its serial reaches the CRL.

A finalize still running when its lease ends (slower than the setting) finds its order
invalid when it completes, and revokes what it issued (services/orders.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from acme_server.services.certificates.revocation import revoke
from acme_server.services.context import Services
from acme_server.services.errors import ConflictError, OrderFailedError, stored_problem
from pki_types.model import CertificateStatus, RevocationReason
from store import CertificateRecord, StaleFinalization, StoreError

log = logging.getLogger(__name__)

BATCH = 100
INTERRUPTED = "the certificate could not be issued (issuance was interrupted); finalize a new order"


def interrupted_problem() -> dict[str, Any]:
    """The RFC 8555 problem document an interrupted order keeps as its error."""
    return stored_problem("serverInternal", INTERRUPTED, 500)


def interrupted_order_error(stored: dict[str, Any] | None) -> OrderFailedError:
    """What a finalize that outlived its lease answers: the error its order was given."""
    return OrderFailedError(stored or interrupted_problem())


def lease_of(services: Services) -> timedelta:
    return timedelta(seconds=services.settings.finalize_timeout_seconds * 5 / 6)


def sweep_interval(services: Services) -> float:
    return services.settings.finalize_timeout_seconds / 6


async def recover_finalizations(services: Services, now: datetime) -> dict[str, int]:
    """Finish every order processing longer than the lease; counts of what became of them."""
    counts = {"completed": 0, "failed": 0}
    stale = await services.store.stale_finalizations(before=now - lease_of(services), limit=BATCH)
    by_order: dict[str, list[StaleFinalization]] = {}
    for row in stale:
        by_order.setdefault(row.order_id, []).append(row)
    for order_id, rows in by_order.items():
        outcome = await _finish(services, order_id, rows, now)
        if outcome:
            counts[outcome] += 1
    return counts


async def _finish(
    services: Services, order_id: str, rows: list[StaleFinalization], now: datetime
) -> str | None:
    store = services.store
    active = [r for r in rows if r.certificate_status == CertificateStatus.ACTIVE.value]
    if active and active[0].certificate_id is not None:
        if await store.complete_order(order_id, certificate_id=active[0].certificate_id, now=now):
            log.info(
                "interrupted finalize completed",
                extra={"order": order_id, "certificate": active[0].certificate_id},
            )
            return "completed"
        return None
    if not await store.fail_order(order_id, error=interrupted_problem(), now=now):
        return None
    for row in rows:
        if row.certificate_id is not None and row.certificate_status == "pending":
            await _revoke_pending(services, row.certificate_id)
    log.warning("interrupted finalize failed", extra={"order": order_id})
    return "failed"


async def _revoke_pending(services: Services, certificate_id: str) -> None:
    """A pending certificate may have been signed (and the process died before storing
    it): revoked, its serial is on the next CRL, so no unknown certificate stays valid."""
    await revoke_orphan(services, await services.store.get_certificate(certificate_id))


async def revoke_orphan(services: Services, record: CertificateRecord) -> None:
    """Revoke a certificate no order holds (a no-op if it was revoked meanwhile)."""
    with contextlib.suppress(ConflictError):
        await revoke(services, record, RevocationReason.CESSATION_OF_OPERATION)


async def run_forever(services: Services) -> None:
    """A sweep now (what a crashed predecessor left), then one every interval."""
    while True:
        try:
            counts = await recover_finalizations(services, datetime.now(UTC))
        except (StoreError, OSError) as exc:
            log.warning("finalize recovery sweep failed", extra={"error": type(exc).__name__})
        else:
            if any(counts.values()):
                log.info("finalize recovery sweep", extra=counts)
        await asyncio.sleep(sweep_interval(services))
