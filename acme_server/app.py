"""The Starlette application factory and its lifespan: the store opened on start, the
validation worker run alongside the server, both closed on stop."""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
from collections.abc import AsyncIterator
from urllib.parse import urlsplit

from starlette.applications import Starlette
from starlette.middleware import Middleware

from acme_server.acme.middleware import AcmeHeadersMiddleware
from acme_server.acme.state import AcmeState
from acme_server.console.routes import console_routes
from acme_server.console.security import ConsoleHeadersMiddleware
from acme_server.errors import EXCEPTION_HANDLERS
from acme_server.jobs import maintenance
from acme_server.jobs import subscribers as event_subscribers
from acme_server.jobs.scheduler import RenewalScheduler
from acme_server.logs import configure_logging
from acme_server.rest.routes import rest_routes
from acme_server.routes import acme_routes, public_routes
from acme_server.services import finalize_recovery
from acme_server.services.context import Services
from acme_server.services.ratelimits import RateLimiter
from acme_server.settings import Settings, load_settings
from acme_server.validation.config import (
    LOOPBACK_NETWORKS,
    PRIVATE_NETWORKS,
    IPNetwork,
    ValidationConfig,
    parse_nameserver,
)
from acme_server.validation.netguard import IPAddress
from acme_server.validation.resolver import Resolver
from acme_server.validation.worker import ValidationWorker

log = logging.getLogger(__name__)


def validation_config(settings: Settings) -> ValidationConfig:
    return ValidationConfig(
        http01_port=settings.http01_port,
        tlsalpn01_port=settings.tlsalpn01_port,
        allowed_networks=allowed_networks(settings),
        own_addresses=own_addresses(settings),
        nameservers=(parse_nameserver(settings.dns_resolver),) if settings.dns_resolver else (),
        max_concurrent=settings.validation_max_concurrent,
        max_concurrent_per_account=settings.validation_max_concurrent_per_account,
        caa_cache_seconds=settings.caa_cache_seconds,
    )


def allowed_networks(settings: Settings) -> tuple[IPNetwork, ...]:
    """The loopback and private networks validation may contact: those the operator allows,
    loopback alone in trial mode (the trial DNS answers nothing else), else none."""
    if settings.allow_private_validation:
        return PRIVATE_NETWORKS
    return LOOPBACK_NETWORKS if settings.trial else ()


def own_addresses(settings: Settings) -> tuple[IPAddress, ...]:
    """The listen address and the external URL's host, where they are IP literals."""
    found: list[IPAddress] = []
    for text in (settings.host, urlsplit(settings.base_url).hostname or ""):
        with contextlib.suppress(ValueError):
            address = ipaddress.ip_address(text)
            if not address.is_unspecified and address not in found:
                found.append(address)
    return tuple(found)


def create_app(settings: Settings, *, services: Services | None = None) -> Starlette:
    """Build the app. Given `services`, the caller owns them (tests); else the lifespan does."""

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        owned = services is None
        opened = services if services is not None else await Services.open(settings)
        app.state.services = opened
        subscribers = event_subscribers.start(opened)  # before anything can publish
        config = validation_config(settings)
        state = AcmeState(services=opened, limiter=RateLimiter(), resolver=Resolver(config))
        app.state.acme = state
        worker = ValidationWorker(
            opened, config, state.validation_wakeup, state.limiter, waiters=state.validation_waiters
        )
        state.validation_worker = worker
        worker_task = asyncio.create_task(worker.run(), name="validation-worker")
        sweeper = asyncio.create_task(maintenance.run_forever(opened.store), name="maintenance")
        recovery = asyncio.create_task(
            finalize_recovery.run_forever(opened), name="finalize-recovery"
        )
        scheduler = RenewalScheduler(opened)
        renewals = asyncio.create_task(scheduler.run_forever(), name="renewal-scheduler")
        log.info(
            "server ready", extra={"base_url": settings.base_url, "database": opened.store.backend}
        )
        try:
            yield
        finally:
            await worker.stop()
            for task in (worker_task, sweeper, recovery, renewals):
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            await subscribers.close()
            if owned:
                await opened.close()

    return Starlette(
        routes=[*acme_routes(), *public_routes(), *rest_routes(), *console_routes()],
        middleware=[Middleware(AcmeHeadersMiddleware), Middleware(ConsoleHeadersMiddleware)],
        exception_handlers=EXCEPTION_HANDLERS,
        lifespan=lifespan,
    )


def app_from_environment() -> Starlette:
    """uvicorn factory for `kms serve`: workers rebuild the settings from KMS_* variables."""
    settings = load_settings()
    configure_logging(settings.log_level, json_lines=settings.log_json)
    return create_app(settings)
