"""Domain events: what happened to a certificate, published by the services once it is stored.

    bus.subscribe(CertificateRevoked, on_revoked)      # at app start (jobs/subscribers.py)
    services.events.publish(CertificateRevoked.of(record, reason=..., revoked_at=...))

Who publishes what (every interface -- ACME, REST, CLI, the scheduler -- goes through these
services, so each emits the same events):

- `CertificateIssued`: services/issuance.issue, after the certificate is active (and linked
  to the one it renews). ACME finalize, REST and CLI enrollment, renewals, the server's own
  TLS certificate and identity certificates all issue there.
- `CertificateRenewed`: services/renewal.renew_now, after the successor's CertificateIssued;
  `automatic` when the renewal scheduler renewed it (services/certificates/auto_renewal.py).
- `RenewalFailed`: services/auto_renewal, once the failure and its next attempt are recorded.
- `CertificateExpiring`: services/auto_renewal, once per certificate entering its
  renew-before window (after the warning is marked in the store).
- `CertificateRevoked`: services/revocation.revoke, after the revocation (and its CRL).
- `CertificateDeleted`: services/inventory.delete_certificate, after the row is gone.

The bus is in-process and synchronous: `publish` calls each handler of the event's class (and
of its base classes: subscribe to `CertificateEvent` for all of them) in the order they
subscribed, and returns. A handler must be quick and must not await anything: one that has
I/O to do queues it (the webhooks start a delivery task). A handler that raises is logged and
skipped; the request that published the event goes on as if nothing happened. Events are
published after the store committed the change: a subscriber never hears of a change that
was rolled back, and a crash between the commit and `publish` loses the event. So the bus
is for notifications that may be lost (webhooks, metrics, alerting).

Design note, events that must not be lost (e.g. a PKI sync push): such a subscriber will be a
"durable" kind, `bus.subscribe_durable(CertificateIssued, handler)`, with
`handler(tx, event)` awaited INSIDE the store transaction that makes the change, before its
COMMIT, where it writes a job row (`sync_jobs`: event kind, certificate id, payload) with
`tx.run(...)`. The change and its job then commit or roll back together, and a worker claims
the job later (`FOR UPDATE SKIP LOCKED`, as validation jobs are) and retries it until done.
For that, the store methods that make these changes (activate_certificate, revoke_certificate,
delete_certificate, ...) take an optional `then: Callable[[Tx], Awaitable[None]]` run in
their transaction, and the services pass `bus.durable_hooks(event)` there -- so the event
is built before the commit from what the service already knows, then published to the
in-process subscribers as now after it. Nothing here needs to change for that: the durable
handlers are a second registry beside `_handlers`, empty until a sync exists.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Self, TypeVar

from pki_types.model import CertificateStatus, RequestMethod, RevocationReason
from store import CertificateRecord

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True, kw_only=True)
class CertificateEvent:
    """What every event says about its certificate: ids, names and dates, never a key."""

    certificate_id: str
    serial: str  # the record's serial_hex: openssl's form, e.g. "0E85DF..."
    profile_id: str | None
    ca_id: str | None  # the issuing CA; None when self-signed
    common_name: str
    sans: tuple[tuple[str, str], ...]  # (type, value), e.g. ("dns_name", "a.example")
    not_before: datetime
    not_after: datetime

    @classmethod
    def of(cls, record: CertificateRecord, **fields: Any) -> Self:
        """The event about `record`, with the event's own `fields`."""
        return cls(
            certificate_id=record.id,
            serial=record.serial_hex,
            profile_id=record.profile_id,
            ca_id=record.ca_id,
            common_name=record.common_name,
            sans=tuple((san["type"], san["value"]) for san in record.sans),
            not_before=record.not_before,
            not_after=record.not_after,
            **fields,
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class CertificateIssued(CertificateEvent):
    request_method: RequestMethod  # ACME, API managed key, API CSR
    renewed_from_id: str | None = None  # a renewal's or an ACME replacement's predecessor
    owner_identity_id: str | None = None  # the machine identity it belongs to, if any


@dataclass(frozen=True, slots=True, kw_only=True)
class CertificateRenewed(CertificateEvent):
    """About the successor; `renewed_from_id` is the certificate it renews."""

    renewed_from_id: str
    automatic: bool  # renewed by the scheduler, not on request (REST, CLI)


@dataclass(frozen=True, slots=True, kw_only=True)
class RenewalFailed(CertificateEvent):
    """About the certificate the scheduler could not renew."""

    error: str
    attempts: int
    next_attempt_at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class CertificateExpiring(CertificateEvent):
    auto_renew: bool  # the server will renew it (auto-renewal on and a key it holds)


@dataclass(frozen=True, slots=True, kw_only=True)
class CertificateRevoked(CertificateEvent):
    reason: RevocationReason
    revoked_at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class CertificateDeleted(CertificateEvent):
    status: CertificateStatus  # what it was when deleted (active, expired, revoked)


E = TypeVar("E", bound=CertificateEvent)
Handler = Callable[[E], None]


class EventBus:
    """In-process publish/subscribe of domain events (see the module docstring).

    `child()` is a bus that publishes to this one and then to its own handlers: a caller
    that wants one run's events only (a scheduler pass's, in tests) subscribes there."""

    def __init__(self, parent: EventBus | None = None) -> None:
        self._parent = parent
        self._handlers: dict[type[CertificateEvent], list[Callable[[Any], None]]] = {}

    def subscribe(self, event_type: type[E], handler: Handler[E]) -> Callable[[], None]:
        """Call `handler` with every event of `event_type` (or a subclass) published from now
        on; returns the function that unsubscribes it."""
        handlers = self._handlers.setdefault(event_type, [])
        handlers.append(handler)

        def unsubscribe() -> None:
            if handler in handlers:
                handlers.remove(handler)

        return unsubscribe

    def child(self) -> EventBus:
        return EventBus(parent=self)

    def publish(self, event: CertificateEvent) -> None:
        if self._parent is not None:
            self._parent.publish(event)
        if not self._handlers:
            return
        for event_type in type(event).__mro__:
            for handler in self._handlers.get(event_type, ()):
                try:
                    handler(event)
                except Exception:
                    log.exception(
                        "event subscriber failed",
                        extra={
                            "event": type(event).__name__,
                            "certificate": event.certificate_id,
                            "subscriber": getattr(handler, "__qualname__", repr(handler)),
                        },
                    )
