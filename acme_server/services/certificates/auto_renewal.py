"""Server-driven renewal: one pass of the scheduler (acme_server/jobs/scheduler.py runs it).

A pass, at `now`:

1. successors left `pending` by a crash (reserved, maybe signed, never stored: their key was
   only in the crashed process's memory) are revoked and unlinked, so their certificate is
   renewed again;
2. every certificate with auto-renewal on, a key the server holds, no successor and no
   retry pending, that is inside its renew-before window (`renew_at`), is renewed with
   renew_now (fresh key, same profile and request, metadata carried over, linked both
   ways). A failure is recorded (status, error) with an exponential backoff;
3. certificates of any enrollment method entering that window get one expiry warning.

Exactly once: reserving the successor claims the renewed certificate's renewed_by_id in
the same transaction (store.reserve_certificate), so two passes that race -- two
processes, or a pass and a REST "renew now" -- issue one successor; the loser sees
ConflictError and moves on. The scheduler lease only keeps the passes from doing the
work twice.

Events (services/events.py): a renewal publishes CertificateIssued and CertificateRenewed
(automatic) from the services it calls; a failure RenewalFailed, once it is recorded; a
warning CertificateExpiring. The webhooks hear of them as every subscriber does (through
the bus); `notify`, if given, also hears this pass's events (and only those).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from acme_server.services import audit
from acme_server.services.certificates.renewal import renew_now
from acme_server.services.context import Services
from acme_server.services.errors import (
    AlreadyRenewedError,
    ConflictError,
    InvalidRequestError,
    ServiceError,
)
from acme_server.services.events import CertificateEvent, CertificateExpiring, RenewalFailed
from ca_core.errors import CAError
from store import CertificateRecord, NotFound, StoreError

log = logging.getLogger(__name__)

# A lifetime shorter than the profile's window would be renewed on every pass; such
# certificates renew with this fraction of their lifetime left (as cert-manager does).
MIN_LIFETIME_FRACTION_LEFT = 3
RETRY_CAP = timedelta(hours=6)
# A pending successor older than this was left by a crash (a live renewal takes seconds).
STALE_SUCCESSOR = timedelta(minutes=5)

CANNOT_AUTO_RENEW = (
    "cannot turn on auto-renewal: the server does not hold this certificate's private key "
    "(CSR- and ACME-issued certificates are renewed by their holder)"
)

Notify = Callable[[CertificateEvent], None]  # a subscriber of one pass's events
KeepGoing = Callable[[], Awaitable[bool]]


async def _always() -> bool:
    return True


@dataclass(frozen=True, slots=True)
class PassReport:
    renewed: list[tuple[str, str]] = field(default_factory=list)  # (old id, new id)
    failed: list[tuple[str, str]] = field(default_factory=list)  # (id, error)
    abandoned: list[tuple[str, str]] = field(default_factory=list)  # (old id, stale new id)
    warned: list[str] = field(default_factory=list)


def renew_at(cert: CertificateRecord, renew_before_days: int) -> datetime:
    """When `cert` enters its renew-before window: the profile's days before expiry, or a
    third of its lifetime before expiry when that is shorter."""
    lifetime = cert.not_after - cert.not_before
    window = min(timedelta(days=renew_before_days), lifetime / MIN_LIFETIME_FRACTION_LEFT)
    return cert.not_after - window


def retry_delay(attempts_before: int, first: timedelta, cap: timedelta = RETRY_CAP) -> timedelta:
    """Exponential backoff: first, 2*first, 4*first ... at most `cap`."""
    return min(first * (1 << min(attempts_before, 32)), cap)


async def set_auto_renew(services: Services, cert: CertificateRecord, on: bool) -> None:
    """Turn server-driven renewal of `cert` on or off (resets a failure's backoff)."""
    if on and cert.encrypted_private_key is None:
        raise InvalidRequestError(CANNOT_AUTO_RENEW)
    try:
        await services.store.set_auto_renew(cert.id, on)
    except NotFound:
        raise ConflictError(f"certificate {cert.id} was deleted") from None


async def _renew_one(
    services: Services, cert: CertificateRecord, now: datetime, report: PassReport
) -> None:
    try:
        # "cli": the server acting for its operator, as `kms cert renew` does (the profile's
        # API switch governs REST callers only).
        enrollment = await renew_now(services, cert, channel="cli", automatic=True)
    except AlreadyRenewedError:
        log.info("renewal skipped: renewed elsewhere", extra={"certificate": cert.id})
        return
    except (ServiceError, CAError) as exc:
        error = str(exc)
    except StoreError:
        raise  # the database is down: the pass stops, nothing is recorded
    except Exception as exc:  # an unexpected bug must not stop the other renewals
        log.exception("renewal crashed", extra={"certificate": cert.id})
        error = f"internal error ({type(exc).__name__})"
    else:
        new = enrollment.issued.record
        await services.store.record_renewal_success(cert.id)
        await audit.record(
            services,
            actor=audit.ACTOR_SYSTEM,
            action="certificate.auto_renew",
            target_type="certificate",
            target_id=new.id,
            details={"renewedFromId": cert.id, "serialNumber": new.serial_hex},
        )
        log.info("renewed", extra={"certificate": cert.id, "renewed_by": new.id})
        report.renewed.append((cert.id, new.id))
        return
    delay = retry_delay(cert.renewal_attempts, services.settings.renewal_retry_period)
    attempts = await services.store.record_renewal_failure(
        cert.id, error=error, next_attempt_at=now + delay
    )
    log.warning(
        "renewal failed",
        extra={
            "certificate": cert.id,
            "error": error,
            "attempts": attempts,
            "retry_in": str(delay),
        },
    )
    report.failed.append((cert.id, error))
    services.events.publish(
        RenewalFailed.of(cert, error=error, attempts=attempts, next_attempt_at=now + delay)
    )


async def run_pass(
    services: Services,
    *,
    now: datetime,
    notify: Notify | None = None,
    keep_going: KeepGoing = _always,
    stale_after: timedelta = STALE_SUCCESSOR,
) -> PassReport:
    """One scheduler pass (see the module docstring). `keep_going` is asked before each
    renewal (the scheduler extends its lease there and stops when it lost it). `notify`
    hears this pass's events, besides the bus's subscribers."""
    if notify is not None:
        events = services.events.child()
        events.subscribe(CertificateEvent, notify)
        services = replace(services, events=events)
    report = PassReport()
    report.abandoned.extend(
        await services.store.abandon_stale_renewals(older_than=now - stale_after)
    )
    for old_id, new_id in report.abandoned:
        log.warning(
            "abandoned a renewal left pending", extra={"certificate": old_id, "pending": new_id}
        )
    for candidate in await services.store.renewal_candidates(now=now):
        cert = candidate.certificate
        if now < renew_at(cert, candidate.renew_before_days):
            continue
        if not await keep_going():
            return report
        try:
            full = await services.store.get_certificate(cert.id)  # with its metadata
        except NotFound:
            continue
        await _renew_one(services, full, now, report)
    for candidate in await services.store.expiry_warning_candidates(now=now):
        cert = candidate.certificate
        if now < renew_at(cert, candidate.renew_before_days):
            continue
        if await services.store.mark_expiry_warned(cert.id, at=now):
            report.warned.append(cert.id)
            services.events.publish(
                CertificateExpiring.of(
                    cert, auto_renew=cert.auto_renew and cert.encrypted_private_key is not None
                )
            )
    return report
