"""Every subscriber of the domain events (services/events.py), registered in one place.

The app's lifespan calls `start` once, when the server starts, and closes what it returns
when it stops. Today: the webhooks (acme_server/jobs/webhooks.py), when `webhook_url` is set.
Metrics, alerting and PKI syncs subscribe here too (a sync as a durable subscriber: see the
design note in services/events.py).
"""

from __future__ import annotations

from dataclasses import dataclass

from acme_server.jobs.webhooks import WebhookNotifier
from acme_server.services.context import Services
from acme_server.services.events import CertificateEvent


@dataclass
class Subscribers:
    webhook: WebhookNotifier | None = None

    async def close(self) -> None:
        if self.webhook is not None:
            await self.webhook.close()


def start(services: Services) -> Subscribers:
    """Subscribe every configured subscriber to `services.events`."""
    subscribers = Subscribers()
    if services.settings.webhook_url:
        subscribers.webhook = WebhookNotifier(services.settings.webhook_url)
        services.events.subscribe(CertificateEvent, subscribers.webhook.notify)
    return subscribers
