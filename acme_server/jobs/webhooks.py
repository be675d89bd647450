"""Lifecycle notifications: a JSON POST to the configured `webhook_url` for each event.

A subscriber of the domain events (services/events.py; acme_server/jobs/subscribers.py subscribes
`notify` at app start). Webhook events, from the domain events of the renewal scheduler's
passes (services/certificates/auto_renewal.py): `certificate.expiring` (CertificateExpiring: a
certificate entered its renew-before window), `renewal.succeeded` (CertificateRenewed by
the scheduler) and `renewal.failed` (RenewalFailed). Other domain events (issued, revoked,
deleted, renewals asked for over REST or the CLI) send nothing, as before they existed. The
body:

    {"id": "<delivery uuid>", "event": "...", "occurredAt": "<RFC 3339>", "data": {...}}

`notify()` and `send()` only queue: delivery runs in its own tasks, so a slow or dead receiver never
holds up the scheduler. A delivery is retried with exponential backoff on a network error,
a timeout, 429 or 5xx (the same `id` each time, so a receiver can drop duplicates); other
answers end it. Event data carries ids, names and dates -- never a private key -- and the
log names the event and its outcome, not the body.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from datetime import UTC, datetime
from typing import Any

import aiohttp

from acme_server.services.events import (
    CertificateEvent,
    CertificateExpiring,
    CertificateRenewed,
    RenewalFailed,
)

log = logging.getLogger(__name__)

ATTEMPTS = 5
FIRST_RETRY_SECONDS = 1.0
TIMEOUT_SECONDS = 10.0
MAX_PENDING = 1000  # deliveries in flight or waiting; more are dropped, with a warning
CONCURRENT = 4
USER_AGENT = "kms-webhook/1"


def _retryable(status: int) -> bool:
    return status == 429 or status >= 500


def certificate_data(event: CertificateEvent) -> dict[str, Any]:
    """What a notification says about a certificate: ids and names, never a key."""
    return {
        "id": event.certificate_id,
        "serialNumber": event.serial,
        "commonName": event.common_name,
        "altNames": [{"type": kind, "value": value} for kind, value in event.sans],
        "profileId": event.profile_id,
        "notBefore": event.not_before.isoformat(),
        "notAfter": event.not_after.isoformat(),
    }


def webhook_message(event: CertificateEvent) -> tuple[str, dict[str, Any]] | None:
    """The webhook event name and data for a domain event; None if it sends nothing."""
    if isinstance(event, CertificateRenewed):
        if not event.automatic:
            return None
        data = {"certificate": certificate_data(event), "renewedFromId": event.renewed_from_id}
        return "renewal.succeeded", data
    if isinstance(event, RenewalFailed):
        return "renewal.failed", {
            "certificate": certificate_data(event),
            "error": event.error,
            "attempts": event.attempts,
            "nextAttemptAt": event.next_attempt_at.isoformat(),
        }
    if isinstance(event, CertificateExpiring):
        return "certificate.expiring", {
            "certificate": certificate_data(event),
            "autoRenew": event.auto_renew,
        }
    return None


class WebhookNotifier:
    def __init__(
        self,
        url: str,
        *,
        attempts: int = ATTEMPTS,
        first_retry: float = FIRST_RETRY_SECONDS,
        timeout: float = TIMEOUT_SECONDS,
    ) -> None:
        self.url = url
        self.attempts = attempts
        self.first_retry = first_retry
        self.timeout = aiohttp.ClientTimeout(total=timeout)
        self._tasks: set[asyncio.Task[bool]] = set()
        self._slots = asyncio.Semaphore(CONCURRENT)
        self._session: aiohttp.ClientSession | None = None

    def notify(self, event: CertificateEvent) -> None:
        """The subscriber: queue the webhook `event` makes, if any (on the event loop)."""
        message = webhook_message(event)
        if message is not None:
            self.send(*message)

    def send(self, event: str, data: dict[str, Any]) -> None:
        """Queue one delivery and return at once (must be called on the event loop)."""
        if len(self._tasks) >= MAX_PENDING:
            log.warning("webhook dropped: too many pending", extra={"event": event})
            return
        body = {
            "id": str(uuid.uuid4()),
            "event": event,
            "occurredAt": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
            "data": data,
        }
        task = asyncio.get_running_loop().create_task(self._deliver(body), name="webhook")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def drain(self) -> None:
        """Wait for every queued delivery to finish (tests; a stopping server)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._session is not None:
            await self._session.close()
            self._session = None

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                timeout=self.timeout, headers={"User-Agent": USER_AGENT}
            )
        return self._session

    async def _deliver(self, body: dict[str, Any]) -> bool:
        """True once the receiver answered 2xx; False when it refused or retries ran out."""
        event = body["event"]
        delay = self.first_retry
        for attempt in range(1, self.attempts + 1):
            async with self._slots:
                try:
                    async with self._client().post(
                        self.url, json=body, headers={"X-KMS-Event": event}
                    ) as response:
                        status = response.status
                except (aiohttp.ClientError, TimeoutError) as exc:
                    status, why = 0, type(exc).__name__
                else:
                    why = f"HTTP {status}"
            if 200 <= status < 300:
                log.info("webhook delivered", extra={"event": event, "attempt": attempt})
                return True
            if status and not _retryable(status):
                log.warning("webhook refused", extra={"event": event, "status": status})
                return False
            if attempt < self.attempts:
                log.info("webhook retry", extra={"event": event, "attempt": attempt, "why": why})
                await asyncio.sleep(delay)
                delay *= 2
        log.warning("webhook failed", extra={"event": event, "attempts": self.attempts})
        return False
